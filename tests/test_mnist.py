"""Real MNIST from SCRATCHRUN_DATA_DIR: the book's network must really learn, and reruns must match to the last
digit."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app

pytestmark = pytest.mark.mnist
REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def train(runs: Path, *overrides: str) -> Path:
    result = runner.invoke(app, ["train", str(REPO / "configs" / "mnist.yaml"), *overrides, "--runs-dir", str(runs),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = runs.iterdir()
    return run


def metrics_without_time(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_book_network_reaches_95_percent_in_one_epoch_and_reruns_identically(mnist_dir, tmp_path):
    # 784-100-100-100-100-10, ReLU, He init, Adam lr 0.001, batch 100: one epoch over the full training set
    first = train(tmp_path / "first", "train.epochs=1", "data.val_fraction=0")
    summary = json.loads((first / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["train_samples"] == 60_000 and summary["test_samples"] == 10_000
    assert summary["final"]["test_acc"] >= 0.95, summary["final"]
    second = train(tmp_path / "second", "train.epochs=1", "data.val_fraction=0")
    assert (first / "steps.csv").read_bytes() == (second / "steps.csv").read_bytes()
    assert metrics_without_time(first) == metrics_without_time(second)
    assert json.loads((second / "summary.json").read_text())["final"] == summary["final"]


def test_validation_comes_out_of_the_training_set(mnist_dir, tmp_path):
    run = train(tmp_path / "runs", "train.iterations=50", "data.val_fraction=0.1", "model.batch_norm=true",
                "model.dropout=0.2")
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["train_samples"], summary["val_samples"], summary["test_samples"]) == (54_000, 6_000, 10_000)
    assert summary["final"]["val_acc"] > 0.5  # 50 Adam updates already learn something


def test_numbers_do_not_depend_on_the_machine_s_blas_thread_count(mnist_dir, tmp_path):
    # without the one-thread pin, OpenBLAS sums differently with 2 threads and steps.csv differs from iteration 2 on
    steps, finals = [], []
    for threads in ("1", "2"):
        runs = tmp_path / threads
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
               "SCRATCHRUN_DATA_DIR": str(mnist_dir)}
        command = [sys.executable, "-m", "scratchrun", "train", str(REPO / "configs" / "mnist.yaml"),
                   "data.train_size=3000", "train.epochs=1", "--runs-dir", str(runs), "--quiet"]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        (run,) = runs.iterdir()
        steps.append(((run / "steps.csv").read_bytes(), metrics_without_time(run)))
        summary = json.loads((run / "summary.json").read_text())
        assert summary["blas"].endswith("1 thread(s)")
        finals.append(summary["final"])
    assert steps[0] == steps[1]
    assert finals[0] == finals[1]  # the test-set evaluation too
