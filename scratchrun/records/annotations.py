"""What a person adds to a run after the fact: tags (`tags.json`) and a note (`note.md`), kept beside its record.

They are files of their own, written atomically, so `summary.json` (what the run measured) is never rewritten
for them, and a run still training can be tagged. A damaged `tags.json` reads as no tags with a problem named,
never as an error that hides the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scratchrun.bounded_read import Unreadable, read_text_bounded
from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.records.files import cause, write_json_atomic, write_text_atomic
from scratchrun.records.layout import NOTE_BYTES, SMALL_RECORD_BYTES

TAGS = "tags.json"
NOTE = "note.md"
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")
NOTE_LIMIT = 100_000  # characters: a note, not a dataset


@dataclass(frozen=True)
class Annotations:
    tags: tuple[str, ...] = ()
    note: str | None = None
    problem: str | None = None  # why tags.json or note.md could not be read


def check_tags(tags: Iterable[str]) -> list[str]:
    """The tags as given, each checked: a letter or digit, then up to 63 of letters, digits and . _ : + -."""
    checked = []
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise ConfigError(f"Tag {tag!r} is not allowed; allowed: a letter or digit, then up to 63 letters, digits "
                              "or . _ : + - (no spaces).")
        checked.append(tag)
    return checked


def read_annotations(run: Path) -> Annotations:
    """The run's tags (sorted) and note; missing files are no tags and no note, unreadable ones a problem named."""
    tags, why = _read_tags(run)
    note = None
    problems = [f"{TAGS} cannot be read ({why})"] if why else []
    try:
        note = read_text_bounded(run / NOTE, NOTE_BYTES).rstrip("\n") or None
    except FileNotFoundError:
        pass
    except Unreadable as e:
        problems.append(f"{NOTE} cannot be read ({e.reason})")
    return Annotations(tags, note, "; ".join(problems) or None)


def _read_tags(run: Path) -> tuple[tuple[str, ...], str | None]:
    """The tags in tags.json (sorted; none when there is no file) and, when it cannot be read, why (or None)."""
    try:
        data = json.loads(read_text_bounded(run / TAGS, SMALL_RECORD_BYTES))
    except FileNotFoundError:
        return (), None
    except Unreadable as e:
        return (), e.reason
    except ValueError as e:
        return (), f"it is not JSON: {e}"
    values = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(values, list) or not all(isinstance(t, str) and _TAG.fullmatch(t) for t in values):
        return (), "it does not hold a list of tags"
    return tuple(sorted(set(values))), None


def tag(run: Path, add: Iterable[str] = (), remove: Iterable[str] = ()) -> tuple[str, ...]:
    """Add and remove tags of a run folder; returns its tags after the change. A tags.json that cannot be read is
    never rewritten: the tags it may hold would be lost."""
    add, remove = check_tags(add), check_tags(remove)
    current, why = _read_tags(run)
    if why:
        raise ScratchrunError(f"{run / TAGS} cannot be read ({why}), so it was not changed: the tags it holds would be "
                              "lost; fix or delete it by hand, then tag again.")
    tags = tuple(sorted((set(current) | set(add)) - set(remove)))
    _write(run / TAGS, lambda path: write_json_atomic(path, {"tags": list(tags)}))
    return tags


def set_note(run: Path, text: str | None) -> str | None:
    """Replace a run's note (None or blank text removes it); returns the note kept."""
    text = (text or "").strip()
    if len(text) > NOTE_LIMIT:
        raise ConfigError(f"The note is {len(text):,} characters; allowed: at most {NOTE_LIMIT:,}.")
    path = run / NOTE
    if not text:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ScratchrunError(f"{path} cannot be removed ({cause(e)}).") from None
        return None
    _write(path, lambda target: write_text_atomic(target, text + "\n"))
    return text


def _write(path: Path, write) -> None:
    try:
        write(path)
    except OSError as e:
        raise ScratchrunError(f"{path} cannot be written ({cause(e)}); the run's record is unchanged.") from None
