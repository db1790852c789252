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


def test_the_figures_beside_the_runs_are_given_the_studys_data_folder(tiny, tmp_path, monkeypatch):
    """init-study's figures load the data the study trains on: run_study hands them its data folder (a study's own
    options do not carry it), so a --data-dir without SCRATCHRUN_DATA_DIR reaches them."""
    from scratchrun.experiments.presets import base_config
    from scratchrun.experiments.specs import Variant
    from scratchrun.experiments.study import StudyDefinition, run_study

    monkeypatch.delenv("SCRATCHRUN_DATA_DIR")
    given = []
    definition = StudyDefinition("probe", base_config({"data": {"dataset": "tiny"}}, ARGS["overrides"], {}),
                                 (Variant("sgd", ()),), side_figures=lambda folder, data_dir: given.append(data_dir))
    run_study(definition, jobs=1, runs_dir=tmp_path / "runs", data_dir=tiny)
    assert given == [tiny]


def test_a_new_study_folder_that_cannot_be_locked_is_not_left_behind(tiny, tmp_path, monkeypatch):
    from scratchrun.records import lock

    def refuse(folder):
        raise RunDirError(f"{folder / '.lock'} cannot be created (No space left on device), "
                          f"so {folder} cannot be locked.")

    monkeypatch.setattr(lock, "lock_folder", refuse)
    with pytest.raises(RunDirError, match="No space left on device"):
        api.compare_optimizers(runs_dir=tmp_path / "runs", **ARGS)
    assert list((tmp_path / "runs").iterdir()) == []
