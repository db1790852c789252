"""What a study or a search reports while it runs, in one vocabulary, so the library never prints.

Override what you need (the CLI draws live tables). A study and a search both call `started`, `progress` and
`finished`; a search also calls `stage`, `narrowed` and `final_run`, which do nothing unless overridden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Observer:
    """Watches a study or a search; every method does nothing until overridden."""

    wants_progress = False  # per-step events cross a process boundary: only sent when someone listens

    def started(self, plan: Any) -> None:
        """The work begins: a study's StudyPlan, or a search's SearchRun (its plan, keys and journal)."""

    def progress(self, event: Any) -> None:
        """A training event (training.events) of a running run, when `wants_progress` and the workers are local."""

    def finished(self, result: Any) -> None:
        """A run ended: a study's RunResult, or a search trial's row as trials.csv has it (again when pruned)."""

    def stage(self, round_number: int, epochs: int | None, runs: int, already: int) -> None:
        """A search's round (or rung) starts: `runs` trials to `epochs`, `already` of them kept from its journal."""

    def narrowed(self, old: dict[str, str], new: dict[str, str]) -> None:
        """A search's ranges shrank to the best trials' span, each described as ranges.csv has it."""

    def final_run(self, folder: Path) -> list:
        """A search's final run is about to train into `folder`; returns training callbacks to watch it with."""
        return []
