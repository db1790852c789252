"""Tags and notes beside a run's record (records/annotations.py): checked, atomic, never in summary.json."""

from __future__ import annotations

import json
import os
import re

import pytest

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.records import annotations


def test_tags_are_added_sorted_once_and_removed(tmp_path):
    assert annotations.tag(tmp_path, add=["b", "a", "b"]) == ("a", "b")
    assert annotations.tag(tmp_path, add=["c"], remove=["a"]) == ("b", "c")
    assert json.loads((tmp_path / "tags.json").read_text()) == {"tags": ["b", "c"]}
    assert annotations.read_annotations(tmp_path).tags == ("b", "c")
    assert not list(tmp_path.glob(".*tmp"))  # written through a temporary name, then renamed


@pytest.mark.parametrize("bad", ["", "two words", "-leading", "x" * 65, "a/b", "tab\t"])
def test_a_bad_tag_is_a_sentence_and_writes_nothing(tmp_path, bad):
    with pytest.raises(ConfigError, match="is not allowed; allowed: a letter or digit"):
        annotations.tag(tmp_path, add=["good", bad])
    assert not (tmp_path / "tags.json").exists()


def test_a_note_is_replaced_and_removed(tmp_path):
    assert annotations.set_note(tmp_path, "  first\nsecond line \n") == "first\nsecond line"
    assert annotations.read_annotations(tmp_path).note == "first\nsecond line"
    assert annotations.set_note(tmp_path, "other") == "other"
    assert annotations.set_note(tmp_path, "") is None and not (tmp_path / "note.md").exists()
    assert annotations.set_note(tmp_path, None) is None  # removing what is not there is fine
    with pytest.raises(ConfigError, match="at most 100,000"):
        annotations.set_note(tmp_path, "x" * 100_001)


def test_damaged_tags_read_as_none_with_the_problem_named(tmp_path):
    (tmp_path / "tags.json").write_text('{"tags": ["ok", 3]}')
    added = annotations.read_annotations(tmp_path)
    assert added.tags == () and "tags.json cannot be read (it does not hold a list of tags)" in added.problem
    (tmp_path / "tags.json").write_bytes(b"\xff\xfe")
    assert "tags.json cannot be read" in annotations.read_annotations(tmp_path).problem


def test_tag_refuses_to_rewrite_a_tags_file_it_cannot_read(tmp_path):
    damaged = b'{"tags": ["keep-me", "and-me"'  # cut short: its tags are still there for a person to see
    (tmp_path / "tags.json").write_bytes(damaged)
    with pytest.raises(ScratchrunError, match=r"tags.json cannot be read \(it is not JSON: .*so it was not changed"):
        annotations.tag(tmp_path, add=["fresh"])
    assert (tmp_path / "tags.json").read_bytes() == damaged
    (tmp_path / "tags.json").unlink()
    assert annotations.tag(tmp_path, add=["fresh"]) == ("fresh",)


@pytest.mark.parametrize("kind", ["fifo", "link outside", "dev zero", "huge"])
def test_notes_and_tags_are_read_only_as_small_regular_files_in_the_run(tmp_path, kind):
    run, outside = tmp_path / "run", tmp_path / "secret.txt"
    run.mkdir()
    outside.write_text("a file outside the runs folder\n")
    for name in ("note.md", "tags.json"):
        if kind == "fifo":
            os.mkfifo(run / name)  # opened to read, it would block for ever
        elif kind == "link outside":
            (run / name).symlink_to(outside)
        elif kind == "dev zero":
            (run / name).symlink_to("/dev/zero")  # read whole, it would fill memory
        else:
            with open(run / name, "wb") as f:
                f.truncate(2 << 20)  # sparse: 2 MiB, over the 1 MiB limit
    added = annotations.read_annotations(run)
    assert added.tags == () and added.note is None
    reason = {"fifo": "it is a named pipe", "link outside": "it is a symbolic link",
              "dev zero": "it is a symbolic link", "huge": "it is 2.1 MB, over the 1 MB"}[kind]
    assert re.search(f"note.md cannot be read \\(({reason})", added.problem), added.problem
    assert re.search(f"tags.json cannot be read \\(({reason})", added.problem), added.problem
    with pytest.raises(ScratchrunError, match="so it was not changed"):
        annotations.tag(run, add=["x"])
    assert outside.read_text() == "a file outside the runs folder\n"
