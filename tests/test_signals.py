"""A real `scratchrun train` process stopped by SIGINT or SIGTERM records itself as interrupted and keeps its
metrics."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.mnist
REPO = Path(__file__).resolve().parents[1]


def wait_for_steps(runs: Path, proc: subprocess.Popen, minimum: int, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for steps in runs.glob("*/steps.csv"):
            if steps.read_text().count("\n") > minimum:  # the trainer flushes steps at each evaluation
                return steps.parent
        time.sleep(0.1)
    raise AssertionError("the run never wrote its first steps")


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_run_and_keeps_every_metric(mnist_dir, tmp_path, signum, exit_code):
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "scratchrun", "train", str(REPO / "configs" / "mnist.yaml"),
               "data.train_size=2000", "train.epochs=500", "train.eval_every=10", "--runs-dir", str(runs), "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SCRATCHRUN_DATA_DIR": str(mnist_dir)})
    try:
        run = wait_for_steps(runs, proc, minimum=20)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == exit_code, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["final"]["test_acc"] is None  # the test set is touched only by a completed run
    with open(run / "steps.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    assert len(steps) == summary["iterations"] >= 20
    with open(run / "metrics.csv", newline="") as f:
        metrics = list(csv.DictReader(f))
    assert len(metrics) >= 3 and summary["final"]["val_acc"] == float(metrics[-1]["val_acc"])
    assert (run / "model.npz").is_file() and (run / "curves.png").is_file()


def test_ctrl_c_stops_a_parallel_study_and_keeps_what_it_measured(mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "scratchrun", "compare-optimizers", "--optimizers", "sgd,adam,momentum",
               "train.iterations=20000", "train.eval_every=20", "data.train_size=2000", "--jobs", "2",
               "--runs-dir", str(runs)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "SCRATCHRUN_DATA_DIR": str(mnist_dir)})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len([p for p in runs.glob("*/*/steps.csv")
                                                   if p.stat().st_size > 200]) < 2:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        _, stderr = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    (folder,) = runs.iterdir()
    with open(folder / "results.csv", newline="") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    assert [rows[v]["status"] for v in ("sgd", "adam", "momentum")] == ["interrupted"] * 3
    for variant in ("sgd", "adam"):  # the two that were running kept their records
        summary = json.loads((folder / rows[variant]["run_dir"] / "summary.json").read_text())
        assert summary["status"] == "interrupted" and summary["iterations"] > 0
    assert rows["momentum"]["run_dir"] == ""  # queued, never started
    assert "--resume" in stderr


HOLD_A_TRIAL = """
import os, time
from pathlib import Path
from scratchrun.records import writer

on_step = writer.RunRecord.on_step


def held(self, iteration, epoch, loss):  # one trial stops mid-way and waits to be interrupted (a test's hook)
    on_step(self, iteration, epoch, loss)
    if self.path.name == os.environ["HOLD_TRIAL"] and iteration == 50:
        Path(os.environ["HOLD_MARKER"]).write_text(str(os.getpid()))
        while True:
            time.sleep(0.05)


writer.RunRecord.on_step = held
"""


def holding_a_trial(tmp_path: Path, trial: str) -> tuple[dict, Path]:
    """The environment under which every process of a search (its spawned workers too, through sitecustomize) holds
    `trial` at its 50th step until a signal ends it, and the file that appears once it is held: the interruption
    then lands inside that trial, whatever the machine's speed."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_A_TRIAL)
    marker = tmp_path / "held"
    path = os.pathsep.join([str(hook), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path, "HOLD_TRIAL": trial, "HOLD_MARKER": str(marker)}, marker


def test_a_search_stopped_by_ctrl_c_resumes_without_losing_or_repeating_a_trial(mnist_dir, tmp_path):
    config = tmp_path / "search.yaml"
    config.write_text("""name: resume
data: {dataset: mnist, val_fraction: 0.02, train_size: 4000}
model: {hidden: [100]}
optimizer: {name: sgd}
train: {epochs: 4, batch_size: 100}
search:
  trials: 10
  space:
    optimizer.lr: {log_uniform: [1.0e-3, 1.0]}
""")
    env = {**os.environ, "SCRATCHRUN_DATA_DIR": str(mnist_dir)}
    hold, held = holding_a_trial(tmp_path, "trial-004")
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "scratchrun", "search", str(config), "--jobs", "2", "--runs-dir", str(runs)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**env, **hold})
    try:
        deadline = time.monotonic() + 120  # a safety net for a broken search, not a speed goal
        # Ctrl-C once trial 4 is held mid-way: three trials have finished by then (a worker takes the next trial
        # only when its own has ended)
        while not held.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "trial 4 never reached its 50th step"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    (folder,) = runs.iterdir()
    with open(folder / "trials.csv", newline="") as f:
        first = list(csv.DictReader(f))
    finished = [t["trial"] for t in first if t["status"] == "completed"]
    assert 3 <= len(finished) < 10 and {t["trial"] for t in first if t["status"] == "interrupted"} >= {"4"}, first
    resumed = subprocess.run([*command[:-2], "--resume", str(folder)], capture_output=True, text=True, env=env,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with open(folder / "trials.csv", newline="") as f:
        trials = list(csv.DictReader(f))
    assert [int(t["trial"]) for t in trials] == list(range(10)) and {t["status"] for t in trials} == {"completed"}
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    assert sorted(entry["trial"] for entry in journal) == list(range(10))  # each trial trained to the end exactly once
    kept = {t["trial"]: t for t in first if t["status"] == "completed"}
    for t in trials:  # what finished before the interruption was kept, not retrained
        if t["trial"] in kept:
            assert t == kept[t["trial"]]
    clean = subprocess.run(command[:-1] + [str(tmp_path / "clean")], capture_output=True, text=True, env=env,
                           timeout=300)
    assert clean.returncode == 0, clean.stderr
    (other,) = (tmp_path / "clean").iterdir()
    with open(other / "trials.csv", newline="") as f:
        reference = list(csv.DictReader(f))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(trials) == strip(reference)  # and the resumed search is the one an uninterrupted run gives


def test_sigterm_stops_a_study_writes_its_tables_and_exits_143(mnist_dir, tmp_path):
    """A study stopped by SIGTERM (a scheduler's, a container's) is recorded like Ctrl-C: tables written, resumable."""
    command = [sys.executable, "-m", "scratchrun", "compare-optimizers", "--optimizers", "sgd,adam",
               "data.train_size=2000", "train.iterations=100000", "--jobs", "1", "--runs-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 60
    while not any(steps.read_text().count("\n") > 20 for steps in (tmp_path / "runs").glob("*/*/steps.csv")):
        assert proc.poll() is None and time.monotonic() < deadline, "the study never trained"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "interrupted:" in stderr and "--resume" in stderr and "Traceback" not in stderr
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "results.csv", newline="") as f:
        statuses = [row["status"] for row in csv.DictReader(f)]
    assert statuses == ["interrupted", "interrupted"]  # the first run stopped; the second never started
    assert json.loads((folder / "sgd-seed0" / "summary.json").read_text())["status"] == "interrupted"
