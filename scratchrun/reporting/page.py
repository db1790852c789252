"""The report as one HTML file: plotly.js, the page's own script and style, and the content as JSON, all inline.

Nothing is fetched when it opens, so it works from disk, offline, and can be mailed. The JSON sits in a
`<script type="application/json">` block with `<`, `>` and `&` escaped, and the page puts every text a user wrote
(names, tags, notes) into the document as text, never as HTML.
"""

from __future__ import annotations

import html
import json
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scratchrun.errors import ScratchrunError
from scratchrun.records.files import check_output, write_text_atomic
from scratchrun.records.host import host_name
from scratchrun.reporting.collect import ReportContent, gather

ASSETS = Path(__file__).with_name("assets")
MISSING_EXTRA = ("scratchrun report draws its charts with plotly, an optional extra that is not installed: "
                 "pip install 'scratchrun[report]'.")
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="scratchrun {version}">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<noscript>This report draws its tables and charts with JavaScript: allow it for this file.</noscript>
<main id="report"></main>
<script type="application/json" id="report-data">{data}</script>
<script>{plotly}</script>
<script>{script}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class WrittenReport:
    """What `make_report` wrote: the file, what it covers (e.g. `172 runs (106 completed, 66 pruned) in 2 searches`)
    and its size."""

    path: Path
    covers: str
    size: int


def make_report(targets: Sequence[str], runs_dir: Path, output: Path, command: str | None = None) -> WrittenReport:
    """The report of `targets` (every run in `runs_dir` when none) written to `output`, atomically."""
    plotly, plotly_version = plotly_js()  # before reading any run: a missing extra fails at once
    check_output(output, "report.html", force=True, given_as="-o ")  # a report is remade, not kept
    content = gather(targets, runs_dir)
    text = render(content, plotly, meta(content, command, plotly_version))
    try:
        write_text_atomic(output, text, newline="")
    except OSError as e:
        raise ScratchrunError(f"The report could not be written to {output} ({e.strerror or e}).") from None
    return WrittenReport(output, content.counts(), len(text.encode("utf-8")))


def plotly_js() -> tuple[str, str]:
    """plotly.js as the installed plotly package carries it, and its version."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ScratchrunError(MISSING_EXTRA) from None
    script = get_plotlyjs()
    found = re.search(r"plotly\.js v(\d[\w.]*)", script[:500])
    return script, found.group(1) if found else "unknown"


def meta(content: ReportContent, command: str | None, plotly_version: str) -> dict:
    """The header's facts: what made the report, with which versions, where and when."""
    import numpy

    import scratchrun

    return {"title": "scratchrun report", "covers": content.counts(), "runs_dir": str(content.runs_dir),
            "command": command, "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": host_name(),
            "versions": {"scratchrun": scratchrun.__version__, "NumPy": numpy.__version__,
                         "plotly.js": plotly_version, "Python": platform.python_version()}}


def render(content: ReportContent, plotly: str, header: dict) -> str:
    """The page's HTML."""
    import scratchrun

    data = {"meta": header, "columns": content.columns, "runs": content.runs, "curves": content.curves,
            "groups": [group.to_json(i) for i, group in enumerate(content.groups)]}
    return TEMPLATE.format(
        version=html.escape(scratchrun.__version__), title=html.escape(f"scratchrun report: {content.counts()}"),
        style=_asset("report.css"), data=script_json(data), plotly=_inline_script(plotly),
        script=_inline_script(_asset("report.js")))


def script_json(data) -> str:
    """JSON that cannot end its <script> block or start markup: <, > and & as \\u escapes (JSON.parse reads them)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(code: str) -> str:
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")
