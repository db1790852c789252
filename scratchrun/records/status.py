"""The one vocabulary of a run's state: each word, what it means, where lists put it, how a terminal colours it and
what TensorBoard's HParams view calls it; and the one way statuses are counted.

A status is written into summary.json, trials.csv and search.json as its word; `Status` is a `str`, so a member
and its word compare equal, and a word read from a record is looked up with `Status.of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Status(str, Enum):
    """A run's state, in the order lists show them; each with its meaning, terminal style and HParams status."""

    COMPLETED = ("completed", "trained to the end", "green", "STATUS_SUCCESS")
    PRUNED = ("pruned", "stopped at a rung of successive halving (kept or cut there)", "blue", "STATUS_UNKNOWN")
    DIVERGED = ("diverged", "a loss became nan or inf; training stopped there", "red", "STATUS_FAILURE")
    INTERRUPTED = ("interrupted", "stopped by Ctrl-C or SIGTERM, every metric so far kept", "yellow",
                   "STATUS_UNKNOWN")
    FAILED = ("failed", "a bug or a record that could not be written stopped it", "red", "STATUS_FAILURE")
    RUNNING = ("running", "training now: its record beats every 5 s", "cyan", "STATUS_RUNNING")
    STALE = ("stale", "recorded as running, but its process is gone", "magenta", "STATUS_UNKNOWN")
    INCOMPLETE = ("incomplete", "recorded as completed, but a file of it is missing or cut short", "red",
                  "STATUS_UNKNOWN")
    UNREADABLE = ("unreadable", "its summary.json cannot be read", "red", "STATUS_UNKNOWN")
    QUEUED = ("queued", "planned in a study or search, not started yet (a live table's rows only)", "dim",
              "STATUS_UNKNOWN")

    def __new__(cls, word: str, meaning: str, style: str, session: str) -> Status:
        member = str.__new__(cls, word)
        member._value_ = word
        member.meaning, member.style, member.session = meaning, style, session
        return member

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def of(cls, word: str) -> Status | None:
        """The status a record's word names; None for a word scratchrun never writes."""
        try:
            return cls(word)
        except ValueError:
            return None


# what a run records itself (writer.RunRecord); the others are derived when a record is read (records.index)
RECORDED = (Status.COMPLETED, Status.PRUNED, Status.DIVERGED, Status.INTERRUPTED, Status.FAILED, Status.RUNNING)
# every status a listed run can have: what `runs --status` takes
LISTED = tuple(s for s in Status if s is not Status.QUEUED)


def style(word: str) -> str:
    """The terminal style of a status's word ("" for a word scratchrun never writes)."""
    status = Status.of(word)
    return status.style if status else ""


def ordered(words: Iterable[str]) -> list[str]:
    """The distinct words in the vocabulary's order, any unknown word after them in alphabetical order."""
    present = set(words)
    return [s.value for s in Status if s.value in present] + sorted(w for w in present if Status.of(w) is None)


def count(words: Iterable[str]) -> dict[str, int]:
    """How many of each word, in the order first seen (as search.json records them)."""
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts


def counts_text(words: Iterable[str], none: str = "no runs") -> str:
    """E.g. `12 completed, 3 pruned`: most frequent first, ties alphabetically; `none` when there are none."""
    counts = count(words)
    return ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))) or none
