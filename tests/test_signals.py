"""A real `scratchrun train` process stopped by SIGINT or SIGTERM records itself as interrupted and keeps its metrics."""

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
               "train.iterations=20000", "train.eval_every=20", "data.train_size=2000", "--jobs", "2", "--runs-dir", str(runs)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "SCRATCHRUN_DATA_DIR": str(mnist_dir)})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len([p for p in runs.glob("*/*/steps.csv") if p.stat().st_size > 200]) < 2:
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
