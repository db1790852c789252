"""The live search view: the running trials, from progress events."""

from __future__ import annotations

import io

from rich.console import Console

from scratchrun.cli.display.search import SearchDisplay
from tests.training.test_events import EVENTS


def test_search_display_shows_running_trials_from_events():
    display = SearchDisplay(["optimizer.lr"], "val_acc", 1, Console(file=io.StringIO(), width=120), "s")
    with display:
        for event in EVENTS:
            display.update(event)
    assert display.running[2] == {"it": 50, "total": 500, "loss": float("inf"), "acc": None}
    assert "50/500 it" in display.live.console.file.getvalue()
