"""The report file: self-contained, safe with any text a user wrote, written atomically, and one sentence for each
way it cannot be made."""

from __future__ import annotations

import json
import re
import sys

import pytest
from real_runs import NOTE
from typer.testing import CliRunner

import scratchrun
from scratchrun.cli.app import app
from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.reporting.page import MISSING_EXTRA, make_report, script_json


def invoke(*args, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def page_text(real_runs, tmp_path_factory) -> str:
    pytest.importorskip("plotly", reason="plotly is not installed (pip install 'scratchrun[report]')")
    path = tmp_path_factory.mktemp("page") / "report.html"
    make_report([], real_runs, path, "scratchrun report")
    return path.read_text(encoding="utf-8")


def embedded(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def test_the_page_fetches_nothing_everything_is_inline(page_text):
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page_text)
    assert page_text.count("<script") == 3 and "plotly.js v" in page_text


def test_text_a_user_wrote_cannot_close_the_data_block_or_start_markup(page_text):
    data = embedded(page_text)
    assert NOTE in [run["note"] for run in data["runs"]]
    block = page_text[page_text.index('id="report-data">'):]
    block = block[:block.index("</script>")]
    assert "<" not in block[len('id="report-data">'):] and "&" not in block
    assert script_json({"x": "</script><b>&"}) == '{"x":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'


def test_the_header_says_what_made_it(page_text):
    meta = embedded(page_text)["meta"]
    assert meta["command"] == "scratchrun report"
    assert meta["versions"]["scratchrun"] == scratchrun.__version__ and meta["versions"]["NumPy"]
    assert re.fullmatch(r"\d[\w.]*", meta["versions"]["plotly.js"])
    assert re.match(r"\d+ runs \(", meta["covers"])


def test_the_command_writes_the_file_and_says_what_it_covers(real_runs, tmp_path):
    result = invoke("report", "--runs-dir", real_runs, "-o", tmp_path / "r.html")
    assert re.fullmatch(r"wrote .*r\.html \(\d+\.\d MB\): \d+ runs \(.*\) in 3 studies and 1 search\n", result.stdout)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # written atomically: no temporary file left


def test_named_folders_only(real_runs, tmp_path):
    invoke("report", "compare-optimizers", "search-small-search", "--runs-dir", real_runs, "-o", tmp_path / "r.html")
    data = embedded((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert sorted(g["kind"] for g in data["groups"]) == ["search", "study"]
    assert len(data["runs"]) == 4 + 12


def test_a_removed_run_leaves_the_report(real_runs, tmp_path):
    import shutil

    runs_dir = tmp_path / "runs"
    shutil.copytree(real_runs, runs_dir)
    invoke("rm", "boom", "--runs-dir", runs_dir)
    scratchrun.report(runs_dir=runs_dir, output=tmp_path / "r.html")
    names = [run["name"] for run in embedded((tmp_path / "r.html").read_text(encoding="utf-8"))["runs"]]
    assert "boom" not in names and "sgd-small" in names


@pytest.mark.parametrize("args, message", [
    (["no-such-run"], "`no-such-run` matches no run, study or search folder"),
    (["-o", "{tmp}"], "is a folder: give a file's name, e.g. .*report.html"),
    (["-o", "{tmp}/missing/r.html"], "the folder .*missing does not exist"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(real_runs, tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    result = invoke("report", "--runs-dir", real_runs, *args, code=2)
    assert re.search(message, result.stderr) and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_without_plotly_the_report_says_how_to_get_it(real_runs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    with pytest.raises(ScratchrunError, match=re.escape(MISSING_EXTRA)):
        make_report([], real_runs, tmp_path / "r.html")
    result = invoke("report", "--runs-dir", real_runs, "-o", tmp_path / "r.html", code=1)
    assert "pip install 'scratchrun[report]'" in result.stderr and not (tmp_path / "r.html").exists()


def test_an_empty_runs_folder_is_one_sentence(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(ConfigError, match="There are no runs to report"):
        make_report([], tmp_path / "runs", tmp_path / "r.html")
