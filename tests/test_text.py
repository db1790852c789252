"""Values as text for people (scratchrun/text.py): what a user wrote prints as characters, never as commands."""

from __future__ import annotations

import pytest

from scratchrun.text import printable


@pytest.mark.parametrize("written, shown", [
    ("plain note, tabs\tand\nlines", "plain note, tabs\tand\nlines"),
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # window title
    ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen
    ("\x9b31m", "\\x9b31m"),  # an 8-bit CSI
    ("a\rb\x08c\x7f", "a\\x0db\\x08c\\x7f"),  # a carriage return would overwrite what came before
    ("abc\u202edcba", "abc\\u202edcba"),  # a right-to-left override would show text reversed
    ("accents: é, 漢字, emoji 🙂", "accents: é, 漢字, emoji 🙂"),
])
def test_control_characters_are_shown_as_escapes(written, shown):
    assert printable(written) == shown


def test_lines_can_be_folded_into_one():
    assert printable("first\nsecond\r\nthird", keep_lines=False) == "first second third"
