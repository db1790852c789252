"""`scratchrun show` and `scratchrun reproduce`, on real tiny runs."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.errors import ScratchrunError
from scratchrun.records.reader import read_steps
from scratchrun.records.writer import update_summary
from tests.cli.display.test_text_chart import BRAILLE

runner = CliRunner()

SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16, 16]}\n"
         "train: {epochs: 3, batch_size: 32}\n")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def train(tmp_path: Path, runs: Path, *overrides: str, name: str | None = None, exit_code: int = 0) -> Path:
    """One real tiny run (24 updates, 4 evaluations); returns its folder."""
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = invoke("train", config, *overrides, "--runs-dir", runs, "--quiet", *(["--name", name] if name else []))
    assert result.exit_code == exit_code, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def raw_text(path: Path) -> str:
    """A CSV file's text with its \\r\\n line ends kept."""
    return path.read_bytes().decode("utf-8")


def rewrite_cell(path: Path, row: int, column: int, value: str) -> str:
    """Replace one cell of a run's CSV file (row 1 = the first after the header); returns the old value."""
    lines = raw_text(path).split("\r\n")
    cells = lines[row].split(",")
    old, cells[column] = cells[column], value
    lines[row] = ",".join(cells)
    path.write_text("\r\n".join(lines), newline="")
    return old


# ----------------------------------------------------------------------------- show
def test_show_prints_the_summary_the_config_the_charts_and_the_curves_path(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    result = invoke("show", run)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "status   completed" in text
    assert f"{summary['final']['val_acc']:.2%}" in text and f"{summary['final']['test_loss']:.4f}" in text
    assert f"val acc {summary['best_val_acc']:.2%} at epoch {summary['best_epoch']}" in text
    assert "3 epochs, 24 iterations" in text and f"seed     0, started {summary['started']}" in text
    assert f"numpy {summary['versions']['numpy']}" in text and summary["blas"] in text
    assert "config (config.yaml):" in text and "hidden: [16, 16]" in text
    assert "training loss per update (24 updates)" in text and "validation accuracy per evaluation (4)" in text
    assert len(BRAILLE.findall(text)) > 20
    assert f"curves: {run / 'curves.png'}" in text and "not written yet" not in text


def test_show_a_diverged_run_names_the_non_finite_losses(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs", "optimizer={name: sgd, lr: 1.0e+30}", exit_code=3)
    result = invoke("show", run)
    assert result.exit_code == 0, result.output
    assert "status   diverged" in result.stdout and "message  the training loss became" in result.stdout
    assert "non-finite value(s)" in result.stdout


def test_show_an_unfinished_run_uses_what_is_there(tiny, tmp_path):
    """A run still training: summary without final metrics, a half-written steps line, no curves.png yet."""
    run = train(tmp_path, tmp_path / "runs")
    (run / "summary.json").write_text(json.dumps({"status": "running", "seed": 0, "started": "2024-01-01T00:00:00"}))
    steps = raw_text(run / "steps.csv")
    (run / "steps.csv").write_text(steps[: steps.index("\n11,") + 5], newline="")  # 10 lines and a part of one
    (run / "curves.png").unlink()
    result = invoke("show", run)
    assert result.exit_code == 0, result.output
    assert "status   running (still training" in result.stdout and "last evaluation" in result.stdout
    assert "training loss per update (10 updates)" in result.stdout and "(not written yet)" in result.stdout


def test_show_calls_a_running_record_whose_process_is_gone_from_this_host_stale(tiny, tmp_path):
    import socket
    import subprocess
    import sys
    from datetime import datetime, timezone

    run = train(tmp_path, tmp_path / "runs")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid is gone, and reaped
    beat = datetime.now(timezone.utc).isoformat(timespec="seconds")  # a heartbeat this recent alone says alive
    for host, expected in [(socket.gethostname(), "stale (recorded as running, but its process died: its pid is gone"),
                           ("another-host", "running (still training")]:
        (run / "summary.json").write_text(json.dumps({"status": "running", "seed": 0, "started": "2024-01-01T00:00:00",
                                                      "pid": child.pid, "host": host, "heartbeat": beat}))
        result = invoke("show", run)
        assert result.exit_code == 0, result.output
        assert f"status {expected}" in " ".join(result.stdout.split()), host
        assert json.loads((run / "summary.json").read_text())["status"] == "running"  # a reader never rewrites it


def test_show_finds_a_run_by_name_or_prefix_only_inside_the_runs_folder(tiny, tmp_path):
    runs = tmp_path / "runs"
    alpha, beta = train(tmp_path, runs, name="alpha"), train(tmp_path, runs, name="beta")
    search = runs / "search-s"  # a search folder: its runs are one level down
    search.mkdir()
    (search / "search.yaml").write_text("name: s\n")
    shutil.copytree(alpha, search / "trial-007")
    outside = train(tmp_path, tmp_path / "elsewhere", name="gamma")
    for text, expected in [("alph", alpha), (beta.name, beta), ("trial-007", search / "trial-007"),
                           (f"{search.name}/trial-007", search / "trial-007")]:
        result = invoke("show", text, "--runs-dir", runs)
        assert result.exit_code == 0, (text, result.output)
        assert f"run      {expected}" in result.stdout
    ambiguous = invoke("show", alpha.name[:4], "--runs-dir", runs)  # the year
    assert ambiguous.exit_code == 2
    assert "matches 2 runs" in ambiguous.output and alpha.name in ambiguous.output and beta.name in ambiguous.output
    unknown = invoke("show", "gamma", "--runs-dir", runs)  # there is one, but outside the runs folder
    assert unknown.exit_code == 2 and "`gamma` matches no run" in unknown.output and alpha.name in unknown.output
    (runs / "link").symlink_to(outside.resolve())  # a name never leads out of the runs folder
    assert invoke("show", "link", "--runs-dir", runs).exit_code == 2
    assert invoke("show", outside, "--runs-dir", runs).exit_code == 0  # an explicit path is fine
    not_a_run = invoke("show", search.parent, "--runs-dir", tmp_path / "none")
    assert not_a_run.exit_code == 2 and "is not a run folder" in not_a_run.output


# ----------------------------------------------------------------------------- reproduce
def test_reproduce_a_run_by_name_into_a_new_folder_next_to_it(tiny, tmp_path):
    runs = tmp_path / "runs"
    run = train(tmp_path, runs, "model.dropout=0.3", "seed=4")
    result = invoke("reproduce", "small", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    assert "reproduced: every one of 24 losses and 4 evaluations matches exactly" in result.stdout
    (rerun,) = [p for p in runs.iterdir() if p != run]
    assert str(rerun) in result.stdout
    assert (rerun / "steps.csv").read_bytes() == (run / "steps.csv").read_bytes()
    assert json.loads((rerun / "summary.json").read_text())["seed"] == 4


def test_reproduce_a_diverged_run_matches_including_its_non_finite_loss(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs", "optimizer={name: sgd, lr: 1.0e+30}", exit_code=3)
    assert not np.isfinite(read_steps(run)[-1, 2])
    result = invoke("reproduce", run)
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.stdout


def test_reproduce_reports_the_first_difference_and_exits_1(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    old = rewrite_cell(run / "steps.csv", 5, 2, "0.25")  # as if the original had computed something else
    result = invoke("reproduce", run)
    assert result.exit_code == 1, result.output
    assert f"the loss first differs at iteration 5: 0.25 in the original, {old} in the rerun." in result.stdout
    assert "the two summaries record the same environment" in result.stdout


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_reproduce_says_when_the_original_weights_cannot_be_compared(tiny, tmp_path, damage):
    """Losses and evaluations match, but a missing or truncated model.npz is named, never taken for a match."""
    runs = tmp_path / "runs"
    run = train(tmp_path, runs)
    weights = run / "model.npz"
    if damage == "deleted":
        weights.unlink()
        why = f"the original's {weights} is missing"
    else:
        weights.write_bytes(weights.read_bytes()[:1000])
        why = f"the original's {weights} cannot be read (BadZipFile: File is not a zip file)"
    result = invoke("reproduce", run)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "reproduced:" not in result.stdout
    assert (f"not confirmed: every one of 24 losses and 4 evaluations matches exactly, but the weights could not be "
            f"compared: {why}.") in result.stdout
    (rerun,) = [p for p in runs.iterdir() if p != run]
    assert np.load(rerun / "model.npz")["W1"].shape == (784, 16)  # the rerun is whole
    assert json.loads((rerun / "summary.json").read_text())["status"] == "completed"


def test_show_and_runs_call_a_completed_record_without_its_weights_incomplete(tiny, tmp_path):
    runs = tmp_path / "runs"
    run = train(tmp_path, runs)
    other = train(tmp_path, runs, "seed=1", name="other")
    (run / "model.npz").unlink()
    shown = invoke("show", run)
    assert shown.exit_code == 0, shown.output
    assert "status   incomplete (recorded as completed, but model.npz is missing)" in shown.stdout
    listed = invoke("runs", runs, "--csv")
    assert listed.exit_code == 0, listed.output
    assert {r["name"]: r["status"] for r in csv.DictReader(io.StringIO(listed.stdout))} == {
        "small": "incomplete", "other": "completed"}
    only = invoke("runs", runs, "--status", "incomplete", "--csv")
    assert [r["path"] for r in csv.DictReader(io.StringIO(only.stdout))] == [str(run)]
    compared = invoke("compare", run, other)
    assert compared.exit_code == 0 and re.search(r"status\W+incomplete\W+completed", compared.stdout), compared.stdout
    assert (run / "summary.json").is_file() and not (run / "model.npz").exists()  # reading changed nothing


def test_reproduce_a_pruned_search_trial_keeps_its_epochs_and_leaves_the_test_set_alone(tiny, tmp_path):
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.training.run import run_experiment

    runs = tmp_path / "runs"
    search = runs / "2024-01-01_00-00-00_search-s"
    search.mkdir(parents=True)
    (search / "search.yaml").write_text("name: s\n")
    config = config_from_dict({"name": "trial-000", "data": {"dataset": "tiny", "val_fraction": 0.2},
                               "model": {"hidden": [8]}, "train": {"epochs": 3, "batch_size": 32}})
    trial = run_experiment(config, load_raw("tiny", tiny), search, stamp=False, evaluate_test=False, stop_epochs=1)
    assert trial.status == "pruned" and trial.summary["status"] == "pruned" and trial.summary["stop_epochs"] == 1
    update_summary(trial.run_dir,
                   message="pruned by successive halving after 1 epochs: not in the best 1/3 of its rung")
    result = invoke("reproduce", "trial-000", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    assert "stopped after 1 epochs, like the original" in result.output
    assert "reproduced: every one of 8 losses and 2 evaluations matches exactly" in result.stdout
    (rerun,) = [p for p in runs.iterdir() if p != search]  # in the runs folder, not in the search folder
    summary = json.loads((rerun / "summary.json").read_text())
    assert summary["status"] == "pruned" and summary["epochs"] == summary["stop_epochs"] == 1
    assert summary["test_samples"] == 0


@pytest.mark.parametrize("summary, stop", [
    ({"status": "pruned", "stop_epochs": 2, "epochs": 2}, 2),
    ({"status": "pruned", "stop_epochs": None, "epochs": 3}, 3),  # recorded before stop_epochs was
    ({"status": "interrupted", "stop_epochs": 2, "epochs": 1.5}, 2),  # interrupted within a rung: stop there too
    ({"status": "completed", "stop_epochs": None, "epochs": 3}, None),
])
def test_a_rerun_stops_where_the_summary_says_the_original_was_stopped(summary, stop):
    from scratchrun.cli.inspect import _stop_epochs

    assert _stop_epochs(summary) == stop


@pytest.mark.parametrize("summary", [
    {"status": "pruned", "stop_epochs": None, "epochs": None,
     "message": "stopped after 2 epochs for successive halving"},
    {"status": "pruned", "stop_epochs": 1.5, "epochs": 1.5},
])
def test_a_pruned_run_without_whole_stop_epochs_cannot_be_rerun_faithfully(summary):
    from scratchrun.cli.inspect import _stop_epochs

    with pytest.raises(ScratchrunError, match="records neither stop_epochs nor a whole number of epochs"):
        _stop_epochs(summary)


def test_reproduce_an_unknown_run_exits_2(tiny, tmp_path):
    result = invoke("reproduce", "nothing", "--runs-dir", tmp_path)
    assert result.exit_code == 2 and "`nothing` matches no run" in result.output


@pytest.mark.mnist
def test_reproduce_a_real_mnist_run(mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    trained = invoke("train", Path(__file__).parents[2] / "configs" / "mnist.yaml", "data.train_size=2000",
                     "train.epochs=1", "--runs-dir", runs, "-q")
    assert trained.exit_code == 0, trained.output
    result = invoke("reproduce", "adam-he", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    assert "reproduced: every one of 20 losses and 2 evaluations matches exactly" in result.stdout
    assert len(list(runs.iterdir())) == 2


APPENDER = """
import json, os, sys, time
from pathlib import Path
from scratchrun.records.host import host_name
run = Path(sys.argv[1])
summary = json.loads((run / "summary.json").read_text())
summary.update(status="running", pid=os.getpid(), host=host_name(), final=None)
(run / "summary.json").write_text(json.dumps(summary))
print("ready", flush=True)
with open(run / "steps.csv", "a") as f:
    for i in range(1, 13):
        f.write(f"{i},{i / 12:.4f},{2.3 / i:.4f}\\n")
        f.flush()
        time.sleep(0.15)
"""


def test_show_follow_redraws_as_the_run_writes_and_ends_when_it_goes_stale(tiny, tmp_path):
    """A process keeps appending minibatch losses, then dies without finishing: `show --follow` shows the count grow,
    then says stale and shows the run whole; the run's files are as the process left them."""
    import subprocess
    import sys

    run = train(tmp_path, tmp_path / "runs")
    (run / "steps.csv").write_text("iteration,epoch,loss\n")
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(run)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    result = runner.invoke(app, ["show", str(run), "--follow", "--interval", "0.1"])
    writer.wait(timeout=30)
    assert result.exit_code == 0, result.output
    counts = [int(line.split(", ")[1].split()[0]) for line in result.output.splitlines()
              if line.startswith("following ") and ": running," in line]
    assert len(counts) >= 3 and counts == sorted(counts) and counts[-1] > counts[0], result.output
    assert "status   stale" in result.output and "12 updates" in result.output
    assert len((run / "steps.csv").read_text().splitlines()) == 13  # the header and the 12 rows: untouched


def test_show_follow_calls_a_folder_that_never_got_its_summary_stale(tiny, tmp_path):
    """A run that died between its config.yaml and its first summary: --follow does not wait for it forever."""
    import os
    import time

    run = train(tmp_path, tmp_path / "runs")
    (run / "summary.json").unlink()
    long_ago = time.time() - 120
    for path in [run, *run.iterdir()]:
        os.utime(path, (long_ago, long_ago))
    result = invoke("show", run, "--follow", "--interval", "0.05")
    assert result.exit_code == 0, result.output
    assert "following " in result.output and ": stale," in result.output
