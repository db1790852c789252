"""`scratchrun report`: one offline HTML file of runs, studies and searches (scratchrun/reporting)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import PANEL_RUNS, RunsDir, app, command_line, console, edge, out


@app.command(rich_help_panel=PANEL_RUNS)
def report(
    folders: Annotated[list[str] | None, typer.Argument(
        help="Runs, studies or searches (paths, or names in --runs-dir); default: every run in --runs-dir.",
        show_default=False, metavar="[RUN_OR_STUDY_OR_SEARCH]...")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write (replaced if it exists).")]
    = Path("report.html"),
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Write one self-contained HTML file: a sortable, filterable run table, the runs' curves, each study's figures
    and each search's parallel coordinates. It opens from disk, offline (pip install 'scratchrun\\[report]')."""
    from scratchrun.api import report as make_report

    with edge():
        with console.status("reading the runs and writing the report"):
            written = make_report(*(folders or []), runs_dir=runs_dir, output=output, command=command_line())
    out.print(f"wrote {written.path} ({written.size / 1e6:.1f} MB): {written.covers}", soft_wrap=True)
