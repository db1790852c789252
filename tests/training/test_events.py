"""Typed progress events (training/events.py): throttled by the reporter, intact across processes."""

from __future__ import annotations

import pickle
from multiprocessing import get_context
from multiprocessing.managers import SyncManager

import pytest

from scratchrun.training.events import Evaluated, ProgressReporter, RunStarted, Step

EVENTS = [RunStarted(2, 500, 50), Step(2, 7, 1, 0.6931471805599453), Step(2, 8, 1, float("inf")),
          Evaluated(2, 50, 1, {"train_loss": 0.5, "train_acc": 0.75, "val_loss": 0.625, "val_acc": None,
                               "seconds": 1.5})]


def test_reporter_sends_start_evaluations_and_at_most_one_step_per_interval():
    sent, now = [], [0.0]
    reporter = ProgressReporter(3, sent.append, interval=0.25)
    reporter.clock = lambda: now[0]
    reporter.on_train_start(100, 10)
    for iteration in range(1, 11):
        now[0] = iteration * 0.1
        reporter.on_step(iteration, 1, 1.0 / iteration)
    reporter.on_eval({"epoch": 1, "iteration": 10, "train_loss": 0.1, "train_acc": 0.9, "val_loss": 0.2, "val_acc": 0.5,
                      "seconds": 0.5})
    assert sent[0] == RunStarted(3, 100, 10)
    assert sent[-1] == Evaluated(3, 10, 1, {"train_loss": 0.1, "train_acc": 0.9, "val_loss": 0.2, "val_acc": 0.5,
                                            "seconds": 0.5})
    steps = [event for event in sent if isinstance(event, Step)]
    assert 3 <= len(steps) <= 4 and len(sent) == len(steps) + 2
    assert all(event.index == 3 and event.epoch == 1 for event in steps)
    assert [s.iteration for s in steps] == sorted(s.iteration for s in steps) and steps[0] == Step(3, 3, 1, 1.0 / 3)
    assert sent[-2] == Step(3, 10, 1, 0.1)  # the loss at the evaluation, though the throttle held that step back


def test_reporter_survives_a_closed_channel():
    def broken(event):
        raise BrokenPipeError

    ProgressReporter(0, broken).on_train_start(5, 1)  # no exception: training must go on


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip_through_pickle(event):
    again = pickle.loads(pickle.dumps(event))
    assert type(again) is type(event) and again == event
    with pytest.raises(AttributeError):  # frozen: what a worker sent is what the display reads
        again.index = 0


def test_events_cross_a_manager_queue_intact():
    manager = SyncManager(ctx=get_context("spawn"))
    manager.start()
    try:
        events = manager.Queue()
        reporter = ProgressReporter(2, events.put, interval=0.0)
        reporter.on_train_start(500, 50)
        reporter.on_step(7, 1, 0.6931471805599453)
        received = [events.get(timeout=10) for _ in range(2)]
    finally:
        manager.shutdown()
    assert received == EVENTS[:2]
