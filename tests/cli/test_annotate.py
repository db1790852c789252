"""`scratchrun tag` and `scratchrun note`, and where what they add shows: show, runs --where tag=, compare, the API."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scratchrun.cli.app import app

runner = CliRunner()
SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
         "train: {epochs: 1, batch_size: 32}\n")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    runs = tmp_path / "runs"
    for lr in ("0.001", "0.01"):
        assert invoke("train", config, f"optimizer.lr={lr}", "--runs-dir", runs, "--quiet").exit_code == 0
    first, second = sorted(runs.iterdir())
    return first, second


def test_tag_and_note_show_everywhere_and_leave_the_summary_alone(tiny, tmp_path):
    first, second = two_runs(tmp_path)
    summary = (first / "summary.json").read_bytes()
    result = invoke("tag", first, "baseline", "lr:1e-3")
    assert result.exit_code == 0 and "baseline, lr:1e-3" in result.output, result.output
    assert invoke("note", first, "the reference run\nkeep it").exit_code == 0
    assert (first / "summary.json").read_bytes() == summary  # what was measured is never rewritten

    shown = invoke("show", first).output
    assert "tags     baseline, lr:1e-3" in shown and "note     the reference run" in shown and "keep it" in shown

    listed = invoke("runs", tmp_path / "runs", "--where", "tag=baseline", "--csv").output.strip().splitlines()
    assert len(listed) == 2 and first.name.split("_", 2)[-1] in listed[1]  # the header and the tagged run only
    assert "no runs" in invoke("runs", tmp_path / "runs", "--where", "tag=nothing").output

    compared = {line.split("│")[1].strip(): line for line in invoke("compare", first, second).output.splitlines()
                if line.count("│") >= 3}
    assert "baseline, lr:1e-3" in compared["tags"] and "the reference run" in compared["note"]

    assert invoke("tag", first, "baseline", "--remove").exit_code == 0
    assert json.loads((first / "tags.json").read_text()) == {"tags": ["lr:1e-3"]}
    assert "note removed" in invoke("note", first, "").output and not (first / "note.md").exists()


def test_a_bad_tag_or_run_is_one_sentence(tiny, tmp_path):
    first, _ = two_runs(tmp_path)
    bad = invoke("tag", first, "two words")
    assert bad.exit_code == 2 and "Tag 'two words' is not allowed" in bad.output and "Traceback" not in bad.output
    assert not (first / "tags.json").exists()
    missing = invoke("tag", "no-such-run", "x", "--runs-dir", tmp_path / "runs")
    assert missing.exit_code != 0 and "no-such-run" in missing.output and "Traceback" not in missing.output


def test_a_run_still_training_can_be_tagged(tiny, tmp_path):
    first, _ = two_runs(tmp_path)
    summary = json.loads((first / "summary.json").read_text())
    (first / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    assert invoke("tag", first, "watching").exit_code == 0
    assert json.loads((first / "summary.json").read_text())["status"] == "running"


def test_the_api_tags_and_annotates_a_run(tiny, tmp_path):
    import scratchrun

    first, _ = two_runs(tmp_path)
    run = scratchrun.Run.load(first)
    assert run.tag("a", "b") == ("a", "b") and run.tag("a", remove=True) == ("b",)
    assert run.annotate("why") == "why" and run.note == "why" and run.tags == ("b",)
