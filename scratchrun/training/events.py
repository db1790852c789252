"""What a run in a worker process tells the live display: typed progress events, and the callback that sends them.

The events are small frozen dataclasses, so they pickle across a multiprocessing queue; a display matches on
their type instead of decoding tuples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RunStarted:
    index: int  # the run's place in its study or search
    total_iterations: int
    per_epoch: int  # iterations per epoch


@dataclass(frozen=True)
class Step:
    index: int
    iteration: int
    epoch: int
    loss: float


@dataclass(frozen=True)
class Evaluated:
    index: int
    iteration: int
    epoch: float  # fractional when evaluated mid-epoch
    metrics: Mapping[str, float | None]  # train_loss, train_acc, val_loss, val_acc (None: no validation set), seconds


Event = RunStarted | Step | Evaluated


class ProgressReporter:
    """A training callback (the loop's three hooks) that sends events: every start and evaluation, and at most one
    step per `interval` seconds, so that a fast run does not flood the queue."""

    clock = staticmethod(time.monotonic)

    def __init__(self, index: int, send: Callable[[Event], None], interval: float = 0.25) -> None:
        self.index, self.send, self.interval = index, send, interval
        self.last = 0.0
        self.unsent: Step | None = None  # the latest step, when the throttle held it back

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None:
        self._send(RunStarted(self.index, total_iterations, per_epoch))

    def on_step(self, iteration: int, epoch: int, loss: float) -> None:
        now = self.clock()
        self.unsent = Step(self.index, iteration, epoch, loss)
        if now - self.last >= self.interval:
            self.last = now
            self._send(self.unsent)
            self.unsent = None

    def on_eval(self, row: dict) -> None:
        if self.unsent is not None:  # the view shows the loss at this evaluation, not the last one let through
            self._send(self.unsent)
            self.unsent = None
        metrics = {key: value for key, value in row.items() if key not in ("iteration", "epoch")}
        self._send(Evaluated(self.index, row["iteration"], row["epoch"], metrics))

    def _send(self, event: Event) -> None:
        try:
            self.send(event)
        except (OSError, EOFError):  # the display is gone (the study is stopping): training goes on regardless
            pass
