"""run_study and its folder lock (experiments/study.py): a study another process works in is not resumed."""

from __future__ import annotations

import os
import socket

import pytest

from scratchrun import api
from scratchrun.errors import RunDirError
from scratchrun.records.lock import lock_folder

ARGS = {"overrides": ["data.dataset=tiny", "train.iterations=4"], "optimizers": ["sgd", "adam"], "jobs": 1}


def test_a_study_in_use_is_not_resumed_and_a_released_one_is(tiny, tmp_path):
    runs = tmp_path / "runs"
    api.compare_optimizers(runs_dir=runs, **ARGS)
    (folder,) = runs.iterdir()
    assert not (folder / ".lock").exists()
    (folder / "adam-seed0" / "summary.json").write_text('{"status": "interrupted"}')  # a run for --resume to redo
    marker = folder / "adam-seed0" / "marker"  # gone only if the folder is replaced by a rerun
    marker.write_text("")
    held = lock_folder(folder)
    try:
        with pytest.raises(RunDirError, match=f"in use by scratchrun process {os.getpid()} on {socket.gethostname()}"):
            api.compare_optimizers(runs_dir=runs, resume=folder, **ARGS)
        assert marker.exists()  # not deleted for a rerun
    finally:
        held.release()
    resumed = api.compare_optimizers(runs_dir=runs, resume=folder, **ARGS)
    assert not marker.exists()  # now it was redone
    assert [row["status"] for row in resumed.results] == ["completed", "completed"]
    assert not (folder / ".lock").exists()


def test_a_new_study_folder_that_cannot_be_locked_is_not_left_behind(tiny, tmp_path, monkeypatch):
    from scratchrun.records import lock

    def refuse(folder):
        raise RunDirError(f"{folder / '.lock'} cannot be created (No space left on device), "
                          f"so {folder} cannot be locked.")

    monkeypatch.setattr(lock, "lock_folder", refuse)
    with pytest.raises(RunDirError, match="No space left on device"):
        api.compare_optimizers(runs_dir=tmp_path / "runs", **ARGS)
    assert list((tmp_path / "runs").iterdir()) == []
