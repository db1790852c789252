"""Run folders: safe names, no collisions, atomic summaries."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchrun.errors import RunDirError
from scratchrun.records.writer import create_run_dir, safe_name, write_json_atomic


@given(st.text(max_size=200))
def test_any_name_becomes_a_safe_file_name(name):
    safe = safe_name(name)
    assert safe and len(safe) <= 64
    assert "/" not in safe and "\\" not in safe and ".." not in safe
    assert not safe.startswith((".", "-"))
    assert all(ch.isascii() and ch.isprintable() for ch in safe)


@pytest.mark.parametrize(
    "name, expected",
    [("adam-he", "adam-he"), ("../../etc/passwd", "etc-passwd"), ("a b\tc", "a-b-c"), ("", "run"), (None, "run"), ("...", "run")],
)
def test_safe_name_examples(name, expected):
    assert safe_name(name) == expected


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
