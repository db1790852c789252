"""The live study view: the rows that progress events and results update."""

from __future__ import annotations

import io

from rich.console import Console

from scratchrun.cli.display.study import StudyDisplay
from scratchrun.experiments.specs import RunSpec
from scratchrun.training.events import Evaluated, RunStarted, Step
from scratchrun.training.run import RunResult


def test_display_rows_follow_events_and_results():
    specs = [RunSpec(0, "sgd", 0, None), RunSpec(1, "adam", 0, None)]
    display = StudyDisplay(specs, Console(file=io.StringIO(), width=100), "t")
    with display:
        display.update(RunStarted(0, 50, 10))
        display.update(Step(0, 20, 2, 0.75))
        display.update(Evaluated(0, 20, 2, {"train_loss": 0.7, "train_acc": 0.5, "val_loss": None, "val_acc": None}))
        display.finish(RunResult("diverged", None, {"iterations": 7, "final": {"val_acc": None}}, 1, "adam", 0))
    assert display.rows[0] == {"variant": "sgd", "seed": 0, "status": "running", "it": 20, "total": 50, "loss": 0.75,
                               "acc": None}
    assert display.rows[1]["status"] == "diverged" and display.rows[1]["it"] == 7
    display.update(Evaluated(0, 30, 3, {"val_acc": 0.875}))
    assert display.rows[0]["it"] == 30 and display.rows[0]["acc"] == 0.875
