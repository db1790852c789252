"""The columns of the record files: one definition for the writers, which write them, and the reader, which checks
them."""

from __future__ import annotations

from collections.abc import Sequence

STEP_COLUMNS = ["iteration", "epoch", "loss"]  # a run's steps.csv: every minibatch loss
METRIC_COLUMNS = ["epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]  # metrics.csv
FINAL_METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]  # a summary's `final`
RESULT_COLUMNS = ["variant", "seed", "status", "run_dir", *FINAL_METRICS, "wall_time_s"]  # a study's results.csv


# the most scratchrun reads of each record file (bounded_read.read_bounded): far above what a run writes, far below
# what would hurt a laptop; a file over its limit is named as damaged, never read (YAML records: config.bounded_yaml)
SMALL_RECORD_BYTES = 1_000_000  # summary.json, tags.json, origin.json, search.json: a few kB each
NOTE_BYTES = 1_000_000  # note.md: 100,000 characters of up to 4 bytes fit, with room
TABLE_BYTES = 1_000_000_000  # steps.csv, metrics.csv, results.csv, trials.csv: a 10M-step run writes about 250 MB


def trial_columns(keys: Sequence[str], metric: str) -> list[str]:
    """A search's trials.csv: a row per trial, with its sampled value under each searched key and its score under
    `metric`."""
    return ["trial", "round", *keys, "status", metric, "epochs", "seconds", "run_dir"]
