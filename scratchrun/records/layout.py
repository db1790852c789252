"""The columns of the record files: one definition for the writers, which write them, and the reader, which checks them."""

from __future__ import annotations

from collections.abc import Sequence

STEP_COLUMNS = ["iteration", "epoch", "loss"]  # a run's steps.csv: every minibatch loss
METRIC_COLUMNS = ["epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]  # metrics.csv
FINAL_METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]  # a summary's `final`
RESULT_COLUMNS = ["variant", "seed", "status", "run_dir", *FINAL_METRICS, "wall_time_s"]  # a study's results.csv


def trial_columns(keys: Sequence[str], metric: str) -> list[str]:
    """A search's trials.csv: a row per trial, with its sampled value under each searched key and its score under `metric`."""
    return ["trial", "round", *keys, "status", metric, "epochs", "seconds", "run_dir"]
