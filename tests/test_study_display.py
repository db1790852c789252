"""The live study view: throttled progress events from workers, and the rows they update."""

from __future__ import annotations

import io

from rich.console import Console

from scratchrun.cli.display.study import ProgressReporter, StudyDisplay
from scratchrun.experiments.executors.local import RunResult
from scratchrun.experiments.specs import RunSpec


def test_reporter_sends_start_evaluations_and_at_most_one_step_per_interval():
    sent, now = [], [0.0]
    reporter = ProgressReporter(3, sent.append, interval=0.25)
    reporter.clock = lambda: now[0]
    reporter.on_train_start(100, 10)
    for iteration in range(1, 11):
        now[0] = iteration * 0.1
        reporter.on_step(iteration, 1, 1.0 / iteration)
    reporter.on_eval({"iteration": 10, "val_acc": 0.5})
    kinds = [event[1] for event in sent]
    assert kinds[0] == "start" and kinds[-1] == "eval" and 3 <= kinds.count("step") <= 4
    assert all(event[0] == 3 for event in sent)


def test_reporter_survives_a_closed_channel():
    def broken(event):
        raise BrokenPipeError

    ProgressReporter(0, broken).on_train_start(5, 1)  # no exception: training must go on


def test_display_rows_follow_events_and_results():
    specs = [RunSpec(0, "sgd", 0, None), RunSpec(1, "adam", 0, None)]
    display = StudyDisplay(specs, Console(file=io.StringIO(), width=100), "t")
    with display:
        display.update((0, "start", 50, None))
        display.update((0, "step", 20, 0.75))
        display.finish(RunResult(1, "adam", 0, "diverged", "", {"iterations": 7, "final": {"val_acc": None}}))
    assert display.rows[0] == {"variant": "sgd", "seed": 0, "status": "running", "it": 20, "total": 50, "loss": 0.75, "acc": None}
    assert display.rows[1]["status"] == "diverged" and display.rows[1]["it"] == 7
