"""The columns of the record files: one definition for the writers, which write them, and the reader, which checks
them."""

from __future__ import annotations

import re
from collections.abc import Sequence

STEP_COLUMNS = ["iteration", "epoch", "loss"]  # a run's steps.csv: every minibatch loss
METRIC_COLUMNS = ["epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]  # metrics.csv
FINAL_METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]  # a summary's `final`
RESULT_COLUMNS = ["variant", "seed", "status", "run_dir", *FINAL_METRICS, "wall_time_s"]  # a study's results.csv

# the other record files, by name (records/reader.py reads every one)
STUDY_YAML, SEARCH_YAML, SEARCH_JSON, JOURNAL = "study.yaml", "search.yaml", "search.json", "journal.jsonl"
TAGS, NOTE = "tags.json", "note.md"  # what a person adds to a run (records/annotations.py)
ORIGIN = "origin.json"  # where a trash item was (records/trash.py)
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")  # a tag: a letter or digit, then up to 63 of these


def plain_name(name: str) -> bool:
    """A folder name that stays where it is put: one path part, not `.`/`..`, not hidden, at most 255 bytes."""
    return (bool(name) and name == name.strip() and not name.startswith(".") and "/" not in name and "\\" not in name
            and "\0" not in name and len(name.encode("utf-8", "surrogateescape")) <= 255)


# the most scratchrun reads of each record file (bounded_read.read_bounded): far above what a run writes, far below
# what would hurt a laptop; a file over its limit is named as damaged, never read (YAML records: config.bounded_yaml)
SMALL_RECORD_BYTES = 1_000_000  # summary.json, tags.json, search.json: a few kB each
ORIGIN_BYTES = 64_000  # origin.json: a few dozen bytes
NOTE_BYTES = 1_000_000  # note.md: 100,000 characters of up to 4 bytes fit, with room
WEIGHTS_BYTES = 4_000_000_000  # model.npz: a billion float32 weights, beyond any network that fits in memory
TABLE_BYTES = 1_000_000_000  # steps.csv, metrics.csv, results.csv, trials.csv: a 10M-step run writes about 250 MB


def trial_columns(keys: Sequence[str], metric: str) -> list[str]:
    """A search's trials.csv: a row per trial, with its sampled value under each searched key and its score under
    `metric`."""
    return ["trial", "round", *keys, "status", metric, "epochs", "seconds", "run_dir"]
