"""The loop's evaluations (training/trainer.py): `train.track` scores fewer splits along the way, never other
numbers."""

from __future__ import annotations

import csv

import pytest

from scratchrun.config.loader import config_from_dict
from scratchrun.data.registry import load_raw
from scratchrun.training.run import run_experiment


def config(track, **train):
    return config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2},
                             "model": {"hidden": [16, 16], "batch_norm": True, "dropout": 0.1},
                             "train": {"epochs": 4, "batch_size": 32, "track": track, **train}})


def metrics(run) -> list[dict]:
    with open(run.run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.mark.parametrize("track", [["train"], ["val"], []])
def test_a_run_tracking_fewer_splits_reports_the_same_final_numbers(tiny, tmp_path, track):
    raw = load_raw("tiny", tiny)
    every = run_experiment(config(["train", "val"]), raw, tmp_path / "every")
    fewer = run_experiment(config(track), raw, tmp_path / "fewer")
    assert fewer.summary["final"] == every.summary["final"]
    assert (fewer.run_dir / "steps.csv").read_text() == (every.run_dir / "steps.csv").read_text()
    rows, every_rows = metrics(fewer), metrics(every)
    assert rows[-1] == every_rows[-1]  # the last evaluation scores both splits
    for row, full in zip(rows[:-1], every_rows[:-1]):
        for split in ("train", "val"):
            kept = split in track
            assert (row[f"{split}_acc"] == full[f"{split}_acc"]) if kept else row[f"{split}_acc"] == "", (split, row)


def test_a_run_that_diverges_completes_its_last_evaluation_from_the_weights_it_was_taken_with(tiny, tmp_path):
    """A diverged run reports its last evaluation: the split it did not track is scored with that evaluation's
    weights (not the ones it diverged with), so its numbers are those of a run that tracked everything."""
    raw = load_raw("tiny", tiny)
    blow_up = {"optimizer": {"name": "sgd", "lr": 1.0e+30}, "model": {"hidden": [16, 16]}}

    def run(track, name):
        data = {"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2},
                "train": {"epochs": 6, "batch_size": 32, "track": track}, **blow_up}
        return run_experiment(config_from_dict(data), raw, tmp_path / name)

    every, fewer = run(["train", "val"], "every"), run(["train"], "fewer")
    assert every.status == fewer.status == "diverged"
    assert fewer.summary["final"] == every.summary["final"]
    assert fewer.summary["final"]["val_acc"] is not None and fewer.summary["iterations"] > 0
    assert metrics(fewer)[-1]["val_acc"] == ""  # the log keeps what was measured when


def test_val_size_holds_out_that_many_images_the_same_ones_as_the_matching_fraction(tiny, tmp_path):
    from scratchrun.data.splits import make_data
    from scratchrun.training.seeding import streams

    raw = load_raw("tiny", tiny)  # 300 training images
    by_fraction = config_from_dict({"data": {"dataset": "tiny", "val_fraction": 0.2}})
    by_size = config_from_dict({"data": {"dataset": "tiny", "val_size": 60}})
    a, b = (make_data(raw, c.data, streams(0).split) for c in (by_fraction, by_size))
    assert len(b.val) == 60 and (a.val.index == b.val.index).all() and (a.train.index == b.train.index).all()


def test_a_val_size_that_leaves_no_training_image_is_a_sentence(tiny, tmp_path):
    from scratchrun.errors import ConfigError

    raw = load_raw("tiny", tiny)
    with pytest.raises(ConfigError,
                       match=r"data.val_size = 300 leaves no training image of the 300; allowed: 0 to 299"):
        run_experiment(config_from_dict({"data": {"dataset": "tiny", "val_size": 300}}), raw, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_track_refuses_what_is_not_a_split():
    from scratchrun.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.track = .*test.* allowed: a list of distinct items of train, val"):
        config_from_dict({"train": {"track": ["test"]}})
