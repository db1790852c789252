"""run_search and its folder lock (experiments/search.py): a search another process works in is not resumed."""

from __future__ import annotations

import os
import socket

import pytest

from scratchrun import api
from scratchrun.errors import RunDirError
from scratchrun.records.lock import lock_folder

SEARCH = """name: s
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
optimizer: {name: sgd}
train: {epochs: 1, batch_size: 32}
search: {trials: 2, space: {optimizer.lr: {log_uniform: [1.0e-3, 1.0e-1]}}}
"""


def test_a_search_in_use_is_not_resumed_and_a_released_one_is(tiny, tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH)
    runs = tmp_path / "runs"
    api.search(config, jobs=1, runs_dir=runs)
    (folder,) = runs.iterdir()
    assert not (folder / ".lock").exists()  # released at the end
    (folder / "journal.jsonl").write_text("")  # as if nothing had finished: a resume would retrain both trials
    before = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}
    held = lock_folder(folder)  # what a live `scratchrun search` holds (another open file: flock says no)
    try:
        with pytest.raises(RunDirError, match=f"{folder} is in use by scratchrun process {os.getpid()} on "
                                              f"{socket.gethostname()}"):
            api.search(config, jobs=1, runs_dir=runs, resume=folder)
        after = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*") if p.name != ".lock"}
        assert after == before  # nothing read-and-rewritten, nothing deleted
    finally:
        held.release()
    resumed = api.search(config, jobs=1, runs_dir=runs, resume=folder)
    assert [row["status"] for row in resumed.trials] == ["completed", "completed"]
    assert not (folder / ".lock").exists()
