"""Hand-edited or odd records and arguments: each is one sentence naming the file, the key or
row and the value, never a traceback, and a damaged record reads as damaged rather than as a number."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli import inspect as inspect_command
from scratchrun.cli.app import app
from scratchrun.records.host import host_name
from tests.cli.test_inspect import train

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def run(tiny, tmp_path):
    return train(tmp_path, tmp_path / "runs")


def edit_summary(run: Path, **changes) -> None:
    summary = json.loads((run / "summary.json").read_text())
    for key, value in changes.items():
        if key.startswith("final_"):
            summary["final"][key.removeprefix("final_")] = value
        else:
            summary[key] = value
    (run / "summary.json").write_text(json.dumps(summary))


@pytest.mark.parametrize("key, value, allowed", [
    ("train_samples", 500.5, "a whole number >= 0"),
    ("final_test_acc", 1e10, "an accuracy from 0 to 1"),
    ("final_val_loss", -3.0, "a number >= 0"),
    ("wall_time_s", -1, "a number >= 0"),
])
def test_an_impossible_number_in_a_summary_reads_as_damaged_everywhere(run, key, value, allowed):
    edit_summary(run, **{key: value})
    shown = invoke("show", run)
    assert shown.exit_code == 1
    name = key.replace("final_", "final.")
    assert f"summary.json: `{name}` is {json.dumps(value)}" in shown.output and f"allowed: {allowed}" in shown.output
    listed = invoke("runs", run.parent)
    assert listed.exit_code == 0 and "unreadable" in listed.output
    assert "1000000000000" not in listed.output and "10000000000" not in listed.output


def test_a_negative_loss_in_steps_is_named_with_its_row(run):
    (run / "steps.csv").write_text("iteration,epoch,loss\n1,1,2.3\n2,1,-1e308\n")
    result = invoke("show", run)
    assert result.exit_code == 1 and "steps.csv, row 3: 2, 1, -1e+308 holds a negative number" in result.output


def test_losses_near_the_float_limit_are_drawn(run, tmp_path):
    (run / "steps.csv").write_text("iteration,epoch,loss\n1,1,1e308\n2,1,1e-300\n3,1,1.7e308\n")
    (run / "metrics.csv").write_text("epoch,iteration,train_loss,train_acc,val_loss,val_acc,seconds\n"
                                     "0,0,1e308,0.1,1e-300,0.1,0.01\n1,3,1.7e308,0.2,1e308,0.2,0.02\n")
    (run / "curves.png").unlink(missing_ok=True)
    shown = invoke("show", run)
    assert shown.exit_code == 0 and "(drawn now)" in shown.output and "Warning" not in shown.output, shown.output
    assert (run / "curves.png").stat().st_size > 1000
    other = run.with_name(run.name + "-copy")
    shutil.copytree(run, other)
    compared = invoke("compare", run, other, "--plot", tmp_path / "both.png")
    assert compared.exit_code == 0 and "Warning" not in compared.output, compared.output
    assert (tmp_path / "both.png").stat().st_size > 1000


def test_a_name_over_255_bytes_is_one_sentence(run, tmp_path):
    long = "a" * 300
    for args in (["show", long, "--runs-dir", run.parent], ["tag", long, "x", "--runs-dir", run.parent],
                 ["runs", tmp_path / long], ["new", tmp_path / f"{long}.yaml"], ["train", tmp_path / f"{long}.yaml"],
                 ["rm", "x", "--runs-dir", tmp_path / long], ["report", "-o", tmp_path / f"{long}.html",
                                                              "--runs-dir", run.parent]):
        result = invoke(*args)
        assert result.exit_code in (1, 2) and ("255" in result.output or "too long" in result.output), \
            (args, result.output)


@pytest.mark.parametrize("args", [["show", "RUN", "--follow", "--interval", "inf"],
                                  ["runs", "RUNS", "--watch", "--interval", "1e10"]])
def test_an_endless_interval_is_refused(run, args):
    result = invoke(*[run if a == "RUN" else run.parent if a == "RUNS" else a for a in args])
    assert result.exit_code == 2 and "--interval" in result.output and "3600" in result.output


def test_show_follow_says_so_when_the_folder_is_deleted(run, monkeypatch):
    now = datetime.now(timezone.utc).isoformat()
    edit_summary(run, status="running", heartbeat=now, host=host_name(), pid=os.getpid())
    sleeps = []

    def sleep(seconds):  # the folder goes while `show` waits for the next redraw
        sleeps.append(seconds)
        shutil.rmtree(run)

    monkeypatch.setattr(inspect_command.time, "sleep", sleep)
    result = invoke("show", run, "--follow", "--interval", "0.05")
    assert sleeps == [0.05]
    assert result.exit_code == 1 and "was deleted or moved while it was followed" in result.output, result.output


def test_runs_watch_piped_on_a_missing_folder_says_why(tmp_path):
    result = invoke("runs", tmp_path / "nowhere", "--watch")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_a_metrics_table_without_its_iteration_column_is_named(run, tmp_path):
    pytest.importorskip("tensorboard")
    path = run / "metrics.csv"
    lines = path.read_text().splitlines()
    column = lines[0].split(",").index("iteration")
    path.write_text("".join(",".join(c for i, c in enumerate(line.split(",")) if i != column) + "\n" for line in lines))
    result = invoke("export", "tensorboard", run, "-o", tmp_path / "tb")
    assert result.exit_code == 1
    assert f"{path} has no iteration column" in " ".join(result.output.split())
    assert not (tmp_path / "tb").exists()


def search_copy(real_runs: Path, tmp_path: Path) -> Path:
    (source,) = [p for p in real_runs.iterdir() if p.name.endswith("search-small-search")]
    shutil.copytree(source, tmp_path / "runs" / source.name)
    return tmp_path / "runs" / source.name


def edit_trials(search: Path, change) -> None:
    import csv

    with open(search / "trials.csv", newline="") as f:
        rows = list(csv.reader(f))
    change(rows)
    with open(search / "trials.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize("column, cell, allowed", [
    ("optimizer.lr", "fast", "allowed: a number from 0.0001 to 1"),
    ("model.weight_decay", "7", "allowed: a number from 0 to 0.001"),
    ("optimizer.name", "rmsprop", "allowed: one of sgd, adam"),
])
def test_a_text_cell_in_a_searchs_trials_is_one_sentence_in_every_command_that_reads_them(real_runs, tmp_path,
                                                                                         column, cell, allowed):
    pytest.importorskip("optuna")
    search = search_copy(real_runs, tmp_path)

    def damage(rows):
        rows[2][rows[0].index(column)] = cell

    edit_trials(search, damage)
    trial = int((search / "trials.csv").read_text().splitlines()[2].split(",")[0])
    sentence = f"trials.csv, trial {trial}: `{column}` is {cell if cell.isdigit() else repr(cell)}"
    for args in (["export", "optuna", search, "-o", tmp_path / "study.log"], ["search-importance", search]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output  # a damaged record, as everywhere
        flat = " ".join(result.output.split())
        assert sentence in flat and allowed in flat
    assert not (tmp_path / "study.log").exists()
    report = invoke("report", search, "-o", tmp_path / "r.html")
    assert report.exit_code == 0, report.output
    html = (tmp_path / "r.html").read_text()
    assert sentence in html and allowed in html  # the search's figures give way to the sentence; its runs are listed


def test_a_trials_table_longer_than_any_search_is_refused_after_reading_that_many_rows(real_runs, tmp_path,
                                                                                        monkeypatch):
    from scratchrun.experiments import specs
    from scratchrun.records import reader

    monkeypatch.setattr(specs, "MAX_RUNS", 50)  # the bound (10,000) at a size a test can write
    search = search_copy(real_runs, tmp_path)
    edit_trials(search, lambda rows: rows.extend([rows[1]] * 5000))
    parsed, parse = [], reader._value

    def counted(text):
        parsed.append(text)
        return parse(text)

    monkeypatch.setattr(reader, "_value", counted)
    report = invoke("report", search, "-o", tmp_path / "r.html")
    assert report.exit_code == 0, report.output
    assert "holds more than 50 rows, and a search's trials table holds at most 50" in (tmp_path / "r.html").read_text()
    assert len(parsed) <= 3 * 51  # 3 sampled values a row: no row beyond the bound was parsed
