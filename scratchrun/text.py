"""How values become text for people: sizes, and what a user wrote, made safe to print.

Every renderer (the command line, the report, error messages) formats through here, so a size reads the same
everywhere and no text a user or a record supplied can move the cursor, clear the screen or set a window title.
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls (ESC [ ... and the 8-bit CSI, OSC 52's clipboard writes), and
# the Unicode marks that reorder or hide text in a terminal (bidi overrides and isolates)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def size_text(n_bytes: float) -> str:
    """`12.6 GB`, `380 MB`, `0.512 kB`: decimal units, three digits."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale or unit == "kB":
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    raise AssertionError("unreachable")


def duration_text(seconds: float) -> str:
    """`4.2 s`, `42 s`, `3.5 min`, `1.2 h`: a time at the precision people read one, no more."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def printable(text: str, *, keep_lines: bool = True) -> str:
    """`text` with every control character shown as a visible escape (`\\x1b`), so it prints as the characters it
    holds and never as terminal commands; line ends stay (unless `keep_lines` is false) and tabs stay."""
    if not keep_lines:
        text = text.replace("\r\n", "\n").replace("\n", " ")
    return _CONTROL.sub(_visible, text)


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
