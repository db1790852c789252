"""Run folders and the writer: safe names, no collisions, atomic summaries, tables and updates."""

from __future__ import annotations

import json
import os
import sys
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchrun.config.loader import Config
from scratchrun.errors import RunDirError, ScratchrunError
from scratchrun.records import writer as runs
from scratchrun.records.files import write_csv, write_json_atomic, write_text_atomic
from scratchrun.records.writer import RunRecord, create_run_dir, safe_name, update_summary
from tests.cli.test_runs import summary


@given(st.text(max_size=200))
def test_any_name_becomes_a_safe_file_name(name):
    safe = safe_name(name)
    assert safe and len(safe) <= runs.NAME_CHARS and len(safe.encode("utf-8")) <= runs.NAME_BYTES
    assert "/" not in safe and "\\" not in safe and ".." not in safe
    assert not safe.startswith((".", "-"))
    assert all(ch.isalnum() or ch in "_.+-" or unicodedata.category(ch).startswith("M") for ch in safe)
    assert unicodedata.normalize("NFC", safe) == safe and safe_name(safe) == safe


@pytest.mark.parametrize(
    "name, expected",
    [("adam-he", "adam-he"), ("../../etc/passwd", "etc-passwd"), ("a b\tc", "a-b-c"), ("", "run"), (None, "run"),
     ("...", "run"), ("日本語-run", "日本語-run"), ("cafe\u0301", "caf\u00e9"), ("हिन्दी", "हिन्दी"),
     ("x\u202eevil", "x-evil"), ("a\u200bb", "a-b"), ("\u0301abc", "abc"), ("Ωmega/../ω", "Ωmega-.-ω"),
     ("日" * 70, "日" * 42), ("𝐀" * 40, "𝐀" * 32)],
)
def test_safe_name_examples(name, expected):
    assert safe_name(name) == expected


def test_unicode_letters_fall_back_to_ascii_where_the_file_system_cannot_name_them(monkeypatch):
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    assert safe_name("日本語-run") == "run" and safe_name("café au lait") == "caf-au-lait"


def test_a_unicode_run_name_names_a_real_folder(tmp_path):
    path = create_run_dir(tmp_path, "日本語-run", datetime(2026, 1, 2, 3, 4, 5))
    assert path.is_dir() and path.name == "2026-01-02_03-04-05_日本語-run"
    assert len(create_run_dir(tmp_path, "𝐀" * 64).name.encode("utf-8")) < 255


def test_create_run_dir_adds_a_suffix_when_the_name_is_taken(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    paths = [create_run_dir(tmp_path, "x", now) for _ in range(3)]
    assert [p.name for p in paths] == ["2026-01-02_03-04-05_x", "2026-01-02_03-04-05_x-2", "2026-01-02_03-04-05_x-3"]


def test_runs_dir_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RunDirError, match="not a folder"):
        create_run_dir(blocker, "x")


def test_write_json_atomic_leaves_no_temporary_file(tmp_path):
    write_json_atomic(tmp_path / "summary.json", {"status": "running"})
    write_json_atomic(tmp_path / "summary.json", {"status": "completed"})
    assert json.loads((tmp_path / "summary.json").read_text()) == {"status": "completed"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_write_csv_is_atomic_and_writes_none_as_an_empty_cell(tmp_path):
    path = tmp_path / "results.csv"
    write_csv(path, [{"a": 1, "b": None, "ignored": 3}, {"a": 0.5, "b": "x"}], ["a", "b"])
    assert path.read_bytes() == b"a,b\r\n1,\r\n0.5,x\r\n"  # csv's own line ends, as before the writer moved here
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


def test_a_failed_atomic_write_keeps_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "study.yaml"
    write_text_atomic(path, "old: 1\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_text_atomic(path, "new: 2\n")
    assert path.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["study.yaml"]


def test_update_summary_changes_only_the_keys_given(tmp_path):
    summary = {"status": "pruned", "final": {"val_acc": 0.5}, "message": "stopped after 2 epochs", "epochs": 2,
               "seed": 7, "versions": {"numpy": "2.0"}}
    write_json_atomic(tmp_path / "summary.json", summary)
    updated = update_summary(tmp_path, message="pruned by successive halving")
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == updated
    assert on_disk["message"] == "pruned by successive halving"
    assert {k: v for k, v in on_disk.items() if k != "message" and v is not None} == {
        k: v for k, v in summary.items() if k != "message"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_update_summary_is_atomic_a_reader_sees_the_old_or_the_new_summary(tmp_path, monkeypatch):
    write_json_atomic(tmp_path / "summary.json", {"status": "pruned", "message": "old"})
    before = (tmp_path / "summary.json").read_bytes()
    seen = []

    def replace_while_reading(src, dst):  # at the moment of the swap the old file is still whole
        seen.append(json.loads(Path(dst).read_text()))
        seen.append(json.loads(Path(src).read_text()))  # and so is the new one, under its temporary name
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", replace_while_reading)
    with pytest.raises(OSError):
        update_summary(tmp_path, message="new")
    assert seen[0]["message"] == "old" and seen[1]["message"] == "new"
    assert (tmp_path / "summary.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_update_summary_refuses_a_damaged_summary_and_leaves_it(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "pruned", "epochs": "two"}')
    with pytest.raises(ScratchrunError, match=r"summary\.json: `epochs` is \"two\""):
        update_summary(tmp_path, message="pruned")
    assert (tmp_path / "summary.json").read_text() == '{"status": "pruned", "epochs": "two"}'


def test_the_heartbeat_is_refreshed_at_most_every_5_seconds(tmp_path, monkeypatch):
    clock, writes = [100.0], []
    monkeypatch.setattr(RunRecord, "clock", staticmethod(lambda: clock[0]))
    real_write = runs.write_json_atomic
    monkeypatch.setattr(runs, "write_json_atomic",
                        lambda path, data: (writes.append(dict(data)), real_write(path, data)))
    record = RunRecord(tmp_path, Config(name="hb"))
    assert len(writes) == 1 and writes[0]["status"] == "running" and writes[0]["pid"] == os.getpid()
    beat = datetime.fromisoformat(writes[0]["heartbeat"])
    assert beat.tzinfo is not None and abs(beat.timestamp() - time.time()) < 5
    for t in (101.0, 103.0, 104.9):  # within 5 s: no write, however many steps
        clock[0] = t
        record.on_step(1, 1, 2.3)
    assert len(writes) == 1
    clock[0] = 105.0
    record.on_step(2, 1, 2.2)
    record.on_step(3, 1, 2.1)
    assert len(writes) == 2
    clock[0] = 110.5
    record.on_eval({"epoch": 1, "iteration": 3, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_acc": 0.2,
                    "seconds": 1.0})
    assert len(writes) == 3
    assert summary(tmp_path)["status"] == "running" and "heartbeat" in summary(tmp_path)
    record.close("completed", {}, [], {})
    assert summary(tmp_path)["status"] == "completed" and "heartbeat" not in summary(tmp_path)
