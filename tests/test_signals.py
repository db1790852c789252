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
