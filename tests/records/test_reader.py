"""The one reader of the record files: a study's results.csv and a search's trials.csv, typed, and named when
damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchrun.errors import ScratchrunError
from scratchrun.records import reader
from scratchrun.records.files import write_csv
from scratchrun.records.layout import METRIC_COLUMNS, RESULT_COLUMNS, trial_columns
from scratchrun.records.reader import read_results, read_trials

RESULT = {"variant": "sgd-0.01", "seed": 3, "status": "completed", "run_dir": "sgd-0.01-seed3", "train_loss": 0.25,
          "train_acc": 0.9, "val_loss": 0.3, "val_acc": 0.875, "test_loss": None, "test_acc": None, "wall_time_s": 12.5}
TRIAL = {"trial": 4, "round": 2, "optimizer.lr": 1e-05, "optimizer.name": "adam", "train.batch_size": 128,
         "status": "pruned", "val_acc": 0.5, "epochs": 2, "seconds": 3.25, "run_dir": "trial-004"}
KEYS = ["optimizer.lr", "optimizer.name", "train.batch_size"]


def complete_files(folder: Path) -> None:
    """The files beside summary.json that make a `completed` record complete: the logs, real weights and a figure."""
    (folder / "steps.csv").write_text("iteration,epoch,loss\n1,1,2.3\n")
    (folder / "metrics.csv").write_text(",".join(METRIC_COLUMNS) + "\n")
    np.savez(folder / "model.npz", W1=np.ones((2, 2)), b1=np.zeros(2))
    (folder / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def test_results_read_back_typed(tmp_path):
    interrupted = {"variant": "adam", "seed": 0, "status": "interrupted", "run_dir": ""}
    write_csv(tmp_path / "results.csv", [RESULT, interrupted], RESULT_COLUMNS)
    rows = read_results(tmp_path)
    assert rows[0] == RESULT
    assert isinstance(rows[0]["seed"], int) and isinstance(rows[0]["wall_time_s"], float)
    assert rows[1] == {c: None for c in RESULT_COLUMNS} | interrupted


def test_trials_read_back_typed(tmp_path):
    diverged = {**TRIAL, "trial": 5, "status": "diverged", "val_acc": None, "epochs": 0.5, "seconds": None}
    write_csv(tmp_path / "trials.csv", [TRIAL, diverged], trial_columns(KEYS, "val_acc"))
    rows = read_trials(tmp_path)
    assert rows == [{**TRIAL, "epochs": 2.0}, diverged]
    assert isinstance(rows[0]["epochs"], float) and isinstance(rows[0]["train.batch_size"], int)


def test_a_search_without_searched_keys_and_another_metric(tmp_path):
    row = {"trial": 0, "round": 1, "status": "completed", "val_loss": float("nan"), "epochs": 1, "seconds": 1,
           "run_dir": "t"}
    write_csv(tmp_path / "trials.csv", [row], trial_columns([], "val_loss"))
    assert read_trials(tmp_path) == [{**row, "val_loss": None}]  # NaN reads as missing, as in a summary


@pytest.mark.parametrize("text, problem", [
    ("", r"does not start with the header of a study's results \(it is empty\)"),
    ("variant,seed,status\r\nsgd,0,completed\r\n",
     r"does not start with the header of a study's results \(variant,seed,status\)"),
    (",".join(RESULT_COLUMNS) + "\r\nsgd,0,completed\r\n", r"line 2, has 3 cells where its header names 11"),
    (",".join(RESULT_COLUMNS) + "\r\nsgd,zero,completed,d,,,,,,,\r\n",
     r"line 2: `seed` is 'zero', which that column never holds"),
    (",".join(RESULT_COLUMNS) + "\r\nsgd,0,completed,d,,,,0.9x,,,\r\n", r"line 2: `val_acc` is '0.9x'"),
])
def test_a_damaged_results_file_is_named(tmp_path, text, problem):
    (tmp_path / "results.csv").write_text(text, newline="")
    with pytest.raises(ScratchrunError, match=rf"^{tmp_path / 'results.csv'}(,| ).*{problem}") as caught:
        read_results(tmp_path)
    assert str(caught.value).count(". ") == 0  # one sentence


@pytest.mark.parametrize("header, line", [
    (["trial", "round", "lr", "status", "val_acc", "epochs", "seconds"], "0,1,0.1,completed,0.5,1,2"),  # no run_dir
    (["round", "trial", "status", "val_acc", "epochs", "seconds", "run_dir"], "1,0,completed,0.5,1,2,t"),
    (["trial", "round", "status", "val_acc", "epochs", "seconds", "run_dir"], "one,1,completed,0.5,1,2,t"),
    (["trial", "round", "status", "val_acc", "epochs", "seconds", "run_dir"], "0,1,completed,0.5,1,2"),
])
def test_a_damaged_trials_file_is_named(tmp_path, header, line):
    (tmp_path / "trials.csv").write_text(",".join(header) + "\n" + line + "\n")
    with pytest.raises(ScratchrunError, match=rf"^{tmp_path / 'trials.csv'}.*(damaged|written by something else)"):
        read_trials(tmp_path)


def test_missing_and_unreadable_tables_are_named(tmp_path):
    with pytest.raises(ScratchrunError, match=rf"^{tmp_path / 'trials.csv'} does not exist\.$"):
        read_trials(tmp_path)
    (tmp_path / "results.csv").write_bytes(b"\xff\xfe")
    with pytest.raises(ScratchrunError, match=rf"^{tmp_path / 'results.csv'} cannot be read"):
        read_results(tmp_path)


def test_metric_values_are_numbers_or_none_and_a_row_that_is_no_number_is_left_out():
    rows = [{"epoch": "1", "val_acc": "0.5", "test_acc": ""}, {"epoch": "2", "val_acc": "high"},
            {"epoch": "3", "val_acc": "nan"}]
    values = reader.metric_values(rows)
    assert values[0] == {"epoch": 1.0, "val_acc": 0.5, "test_acc": None}
    assert len(values) == 2 and values[1]["epoch"] == 3.0 and values[1]["val_acc"] != values[1]["val_acc"]  # nan kept


TRUNCATED = "model.npz is damaged (it does not end in a zip index: truncated or overwritten)"


def test_a_complete_run_folder_misses_nothing_and_each_missing_or_damaged_part_is_named(tmp_path):
    complete_files(tmp_path)
    assert reader.missing_parts(tmp_path) == []
    whole = (tmp_path / "model.npz").read_bytes()
    for damage, expected in [
        (lambda: (tmp_path / "model.npz").write_bytes(whole[: len(whole) // 2]), TRUNCATED),
        (lambda: (tmp_path / "model.npz").write_bytes(b""), TRUNCATED),
        (lambda: (tmp_path / "model.npz").write_bytes(whole[:100] + whole[-22:]),  # its middle lost, its end kept
         "model.npz is damaged (its zip index points past its end)"),
        (lambda: (tmp_path / "model.npz").unlink(), "model.npz is missing"),
        (lambda: (tmp_path / "metrics.csv").unlink(), "metrics.csv is missing"),
        (lambda: (tmp_path / "steps.csv").unlink(), "steps.csv is missing"),
    ]:
        damage()
        assert expected in reader.missing_parts(tmp_path)
    assert reader.missing_parts(tmp_path) == ["steps.csv is missing", "metrics.csv is missing", "model.npz is missing"]
    import zipfile

    with zipfile.ZipFile(tmp_path / "model.npz", "w"):  # a zip, but of nothing
        pass
    assert "model.npz holds no arrays" in reader.missing_parts(tmp_path)
    assert reader.missing_parts(tmp_path / "nowhere") == ["the folder cannot be read (No such file or directory)"]
