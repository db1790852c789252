"""What a person adds to a run after the fact: tags (`tags.json`) and a note (`note.md`), kept beside its record.

They are files of their own, written atomically, so `summary.json` (what the run measured) is never rewritten
for them, and a run still training can be tagged. A damaged `tags.json` reads as no tags with a problem named,
never as an error that hides the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.records.files import cause, write_json_atomic, write_text_atomic
from scratchrun.records.layout import NOTE, TAG, TAGS
from scratchrun.records.reader import Annotations, read_annotations, read_tags  # noqa: F401 - read here by callers

NOTE_LIMIT = 100_000  # characters: a note, not a dataset


def check_tags(tags: Iterable[str]) -> list[str]:
    """The tags as given, each checked: a letter or digit, then up to 63 of letters, digits and . _ : + -."""
    checked = []
    for tag in tags:
        if not isinstance(tag, str) or not TAG.fullmatch(tag):
            raise ConfigError(f"Tag {tag!r} is not allowed; allowed: a letter or digit, then up to 63 letters, digits "
                              "or . _ : + - (no spaces).")
        checked.append(tag)
    return checked


def tag(run: Path, add: Iterable[str] = (), remove: Iterable[str] = ()) -> tuple[str, ...]:
    """Add and remove tags of a run folder; returns its tags after the change. A tags.json that cannot be read is
    never rewritten: the tags it may hold would be lost."""
    add, remove = check_tags(add), check_tags(remove)
    current, why = read_tags(run)
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
