"""A runs folder of real MNIST runs of every kind the report and the exports read (the `real_runs` fixture): two
trained runs (one tagged, one with a note that tries to be HTML), a diverged run, compare-optimizers with two seeds,
overfit-study, bn-study, and a two-round pruned search over a log-uniform, a uniform and a choice value."""

from __future__ import annotations

from pathlib import Path

import pytest

import scratchrun

SMALL = {"name": "small", "seed": 3, "data": {"dataset": "mnist", "train_size": 1000, "val_size": 300},
         "model": {"hidden": [32]}, "train": {"epochs": 2, "batch_size": 50}}
SEARCH = """name: small-search
seed: 5
data: {dataset: mnist, train_size: 600, val_size: 200}
model: {hidden: [32], activation: relu, init: he}
optimizer: {name: sgd}
train: {epochs: 4, batch_size: 50}
search:
  trials: 6
  rounds: 2
  keep: 3
  prune: {min_epochs: 1, eta: 2}
  space:
    optimizer.lr: {log_uniform: [1.0e-4, 1.0]}
    model.weight_decay: {uniform: [0.0, 0.001]}
    optimizer.name: {choice: [sgd, adam]}
"""
NOTE = '<img src="x" onerror="window.pwned = 1"><script>window.pwned = 1</script> & more'
STUDY = ["data.train_size=1000", "data.val_size=300", "model.hidden=[32]"]


def make_real_runs(root: Path, data: Path) -> Path:
    """Train the runs into `root/runs` (about 5 s) and return that folder."""
    runs_dir = root / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCRATCHRUN_CACHE_DIR", str(root / "cache"))
        tagged = scratchrun.train(SMALL, ["optimizer.name=adam", "optimizer.lr=0.003"], runs_dir=runs_dir,
                                  data_dir=data, name="adam-small")
        tagged.tag("baseline", "adam")
        noted = scratchrun.train(SMALL, ["optimizer.name=sgd", "optimizer.lr=0.1"], runs_dir=runs_dir, data_dir=data,
                                 name="sgd-small")
        noted.annotate(NOTE)
        scratchrun.train(SMALL, ["optimizer.name=sgd", "optimizer.lr=1.0e+30"], runs_dir=runs_dir, data_dir=data,
                         name="boom")
        scratchrun.compare_optimizers(None, [*STUDY, "train.iterations=60", "train.eval_every=20"],
                                      optimizers=["sgd", "adam"], seeds=2, jobs=1, runs_dir=runs_dir, data_dir=data)
        scratchrun.overfit_study(None, ["train.epochs=4"], jobs=1, runs_dir=runs_dir, data_dir=data)
        scratchrun.bn_study(None, [*STUDY, "train.epochs=2"], scales=2, jobs=1, runs_dir=runs_dir, data_dir=data)
        (root / "search.yaml").write_text(SEARCH)
        scratchrun.search(root / "search.yaml", jobs=1, runs_dir=runs_dir, data_dir=data)
    return runs_dir
