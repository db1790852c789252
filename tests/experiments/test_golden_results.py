"""Speed work must not move a single digit: small studies and a search on real MNIST, against their recorded tables.

The tables in tests/experiments/golden/ were written by the code before the issue-12 speed changes (per-run figures
drawn later, evaluations without copies, smaller hand-offs to workers). Every column but the wall time must match to
the last digit. Regenerate them only for a change that is meant to move the numbers, and say so in its commit:
SCRATCHRUN_WRITE_GOLDEN=1 pytest tests/experiments/test_golden_results.py
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app

GOLDEN = Path(__file__).parent / "golden"
TIMING = {"wall_time_s", "seconds", "train_time_s", "samples_per_s"}
SEARCH_CONFIG = """\
name: golden-search
seed: 0
data: {dataset: mnist, val_fraction: 0.1, train_size: 400}
model: {hidden: [100, 100, 100, 100, 100, 100], activation: relu, init: he}
optimizer: {name: sgd}
train: {epochs: 3, batch_size: 100}
search:
  trials: 4
  rounds: 2
  keep: 2
  metric: val_acc
  space:
    optimizer.lr:       {log_uniform: [1.0e-4, 1.0e-1]}
    model.weight_decay: {log_uniform: [1.0e-8, 1.0e-4]}
"""
CASES = {  # name -> (command line, the table the case compares)
    "bn-study": (["bn-study", "--scales", "2", "train.epochs=3"], "results.csv"),
    "overfit-study": (["overfit-study", "train.epochs=4"], "results.csv"),
    "compare-optimizers": (["compare-optimizers", "--optimizers", "sgd,adagrad,adam", "data.train_size=2000",
                            "train.iterations=40", "train.eval_every=20"], "results.csv"),
    "init-study": (["init-study", "--inits", "std:0.01,he", "--activations", "relu", "data.train_size=2000",
                    "train.iterations=40", "train.eval_every=20"], "results.csv"),
    "search": (["search", "{config}"], "trials.csv"),
}


def table(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


@pytest.mark.mnist
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_study_reports_the_same_numbers_as_before_the_speed_work(mnist_dir, tmp_path, case, jobs):
    args, name = CASES[case]
    config = tmp_path / "search.yaml"
    config.write_text(SEARCH_CONFIG, encoding="utf-8")
    args = [a.replace("{config}", str(config)) for a in args]
    result = CliRunner().invoke(app, [*args, "--jobs", jobs, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    golden = GOLDEN / f"{case}-{name}"
    if os.environ.get("SCRATCHRUN_WRITE_GOLDEN") and jobs == "1":
        golden.write_bytes((folder / name).read_bytes())
    assert table(folder / name) == table(golden)
