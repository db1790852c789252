"""Tags and notes beside a run's record (records/annotations.py): checked, atomic, never in summary.json."""

from __future__ import annotations

import json

import pytest

from scratchrun.errors import ConfigError
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
    assert annotations.tag(tmp_path, add=["fresh"]) == ("fresh",)  # a new tag replaces the damaged file
