"""The training loop: minibatch updates, evaluations on a schedule, and callbacks that see both.

The loop never prints and never writes files; a run record and a progress bar are just callbacks.
It stops on the first non-finite loss (`diverged`) and on Ctrl-C or SIGTERM (`interrupted`), returning
what it measured so far.

An evaluation scores the splits in `train.track`; the last one scores both, so a study that draws only its
training curves does not pay for a validation pass every epoch, and still reports the same final numbers. A run
that stops early has its last evaluation completed from a snapshot of the weights it was taken with.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from scratchrun.config.loader import TrainConfig
from scratchrun.data.splits import Data, Minibatches, Split
from scratchrun.nn.losses import cross_entropy_sum
from scratchrun.nn.model import MLP
from scratchrun.nn.optimizers import Optimizer
from scratchrun.nn.schedules import SCHEDULES
from scratchrun.records.status import Status

EVAL_CHUNK = 10_000  # rows per forward pass when evaluating: bounds memory, keeps BLAS efficient
EVAL_CACHE_BYTES = 64 * 2**20  # a split evaluated every epoch is kept as float32 for the run when it is this small


class Callback:
    """Hooks into the loop; override what you need. The loop only calls these three, so any object that has them
    will do (a run record is one without subclassing this)."""

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None: ...

    def on_step(self, iteration: int, epoch: int, loss: float) -> None: ...

    def on_eval(self, row: dict) -> None: ...


@dataclass
class TrainResult:
    status: str = "running"  # then completed | pruned (stopped at `stop_epochs`) | diverged | interrupted (Status)
    iterations: int = 0
    epochs: float = 0.0  # passes over the training set, fractional when stopped mid-epoch
    samples: int = 0
    train_seconds: float = 0.0  # wall time of the loop minus evaluations: batches, steps, updates, callbacks
    history: list[dict] = field(default_factory=list)  # one row per evaluation
    message: str | None = None


def evaluate(model: MLP, split: Split | EvalSplit) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split in evaluation mode (no dropout, running BatchNorm
    statistics)."""
    loss_sum, correct = 0.0, 0
    for x, y in split.chunks(EVAL_CHUNK):
        chunk_loss, chunk_correct = cross_entropy_sum(model.forward(x, train=False), y)
        loss_sum += chunk_loss
        correct += chunk_correct
    return loss_sum / len(split), correct / len(split)


class EvalSplit:
    """A split a run evaluates again and again: its float32 chunks are made once per run when the split is small
    (a few MB: the validation set, a small training set), else converted into one buffer reused by every pass.

    The chunks hold the same numbers either way, so every evaluation gives the same digits; what is saved is the
    uint8-to-float conversion and a fresh buffer (page faults included) at each evaluation.
    """

    def __init__(self, split: Split) -> None:
        self.split = split
        small = len(split) * split.n_features * 4 <= EVAL_CACHE_BYTES
        self.cached = [(x.copy(), y) for x, y in split.chunks(EVAL_CHUNK)] if small else None
        self.buffer = None if small else np.empty((min(EVAL_CHUNK, len(split)), split.n_features), np.float32)

    def __len__(self) -> int:
        return len(self.split)

    def chunks(self, size: int):
        """The split in chunks of EVAL_CHUNK rows (what `evaluate` asks for; the kept chunks were cut at that size)."""
        return iter(self.cached) if self.cached is not None else self.split.chunks(EVAL_CHUNK, self.buffer)


def train(
    model: MLP,
    optimizer: Optimizer,
    data: Data,
    config: TrainConfig,
    rng,
    callbacks: Iterable[Callback] = (),
    stop_epochs: int | None = None,
) -> TrainResult:
    """Train for `config.epochs` passes or `config.iterations` updates, evaluating at start, on schedule and at the end.

    `stop_epochs` ends the run early (status `pruned`) without changing anything else: the learning-rate
    schedule still spans the whole run, so a run stopped at epoch k is exactly the first k epochs of the full
    one. Successive halving relies on that.
    """
    return _Loop(model, optimizer, data, config, rng, list(callbacks), stop_epochs).run()


class _Loop:
    """One training loop's state: the counters, the clock and the evaluation history."""

    def __init__(self, model, optimizer, data, config, rng, callbacks, stop_epochs=None) -> None:
        self.model, self.optimizer, self.data, self.config, self.callbacks = model, optimizer, data, config, callbacks
        self.batches = Minibatches(data.train, config.batch_size, rng)
        self.per_epoch = self.batches.per_epoch
        self.total = config.iterations if config.iterations is not None else config.epochs * self.per_epoch
        self.stop_at = self.total if stop_epochs is None else min(self.total, stop_epochs * self.per_epoch)
        self.schedule, self.base_lr = SCHEDULES[config.lr_schedule], optimizer.lr
        self.scored = {"train": EvalSplit(data.train), "val": EvalSplit(data.val) if data.val is not None else None}
        self.untracked = [name for name, split in self.scored.items() if split is not None and name not in config.track]
        self.snapshot: tuple[dict, list[np.ndarray]] | None = None  # an evaluation that left a split out, its weights
        self.result = TrainResult()
        self.started = time.perf_counter()
        self.eval_seconds = 0.0

    def run(self) -> TrainResult:
        for callback in self.callbacks:
            callback.on_train_start(self.total, self.per_epoch)
        try:
            # overflow on the way to a non-finite loss is expected: it is reported as `diverged`, not as warnings
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._train_epochs()
        except KeyboardInterrupt:
            self.result.status = "interrupted"
            self.result.message = f"interrupted at iteration {self.result.iterations}"
        self._complete_last_evaluation()
        self.optimizer.lr = self.base_lr
        self.result.train_seconds = time.perf_counter() - self.started - self.eval_seconds
        self.result.epochs = _epochs(self.result.iterations, self.per_epoch)
        return self.result

    def _train_epochs(self) -> None:
        result, config = self.result, self.config
        self._evaluate()
        epoch = 0
        while result.iterations < self.stop_at and result.status == "running":
            epoch += 1
            for x, y in self.batches.epoch():
                self._step(x, y, epoch)
                if result.status != "running" or result.iterations >= self.stop_at:
                    break
                if config.eval_every and result.iterations % config.eval_every == 0:
                    self._evaluate()
                    if result.status != "running":
                        break
            else:  # a whole epoch ran
                if not config.eval_every:
                    self._evaluate()
        if result.status == "running":
            if result.history[-1]["iteration"] != result.iterations:
                self._evaluate()
            if result.status == "running":
                result.status = (Status.COMPLETED if result.iterations >= self.total else Status.PRUNED).value

    def _step(self, x: np.ndarray, y: np.ndarray, epoch: int) -> None:
        """One minibatch update; a non-finite loss ends the run as `diverged` without touching the weights."""
        result = self.result
        loss = self.model.train_step(x, y)
        finite = math.isfinite(loss)
        if finite:
            self.optimizer.lr = self.base_lr * self.schedule(result.iterations + 1, self.total)
            self.model.update(self.optimizer)
        result.iterations += 1
        result.samples += len(y)
        for callback in self.callbacks:
            callback.on_step(result.iterations, epoch, loss)
        if not finite:
            result.status = "diverged"
            result.message = f"the training loss became {loss} at iteration {result.iterations}"

    def _evaluate(self) -> None:
        """Loss and accuracy on the tracked splits (the last evaluation: every split); its time is kept out of
        samples/s."""
        start = time.perf_counter()
        row = {"epoch": _epochs(self.result.iterations, self.per_epoch), "iteration": self.result.iterations}
        last = self.result.iterations >= self.stop_at
        for name, split in self.scored.items():
            scored = split is not None and (last or name not in self.untracked)
            row[f"{name}_loss"], row[f"{name}_acc"] = evaluate(self.model, split) if scored else (None, None)
        if self.untracked and not last:
            self.snapshot = (row, self.model.snapshot())
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        self.result.history.append(row)
        for callback in self.callbacks:
            callback.on_eval(row)
        split = "train" if row["train_loss"] is not None else "val"  # the training loss, or the one scored instead
        loss = row[f"{split}_loss"]
        if loss is not None and not math.isfinite(loss) and self.result.status == "running":  # the last update blew up
            self.result.status = "diverged"
            self.result.message = f"the evaluated {'training' if split == 'train' else 'validation'} loss became " \
                                  f"{loss} at iteration {row['iteration']}"
        self.eval_seconds += time.perf_counter() - start

    def _complete_last_evaluation(self) -> None:
        """A run that stopped before its last evaluation (diverged, interrupted) reports its latest one, whole: the
        splits it left out are scored now, with the weights it was taken with, so the final numbers are the same
        whatever `train.track` says. The row in metrics.csv keeps its empty cells; the summary's are filled."""
        history = self.result.history
        if self.snapshot is None or not history or self.snapshot[0] is not history[-1]:
            return
        start = time.perf_counter()
        row, current = history[-1], self.model.snapshot()
        self.model.restore(self.snapshot[1])
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for name in self.untracked:
                    if row[f"{name}_loss"] is None:
                        row[f"{name}_loss"], row[f"{name}_acc"] = evaluate(self.model, self.scored[name])
        finally:  # even if a second Ctrl-C cuts this short, the run keeps (and saves) the weights it ended with
            self.model.restore(current)
        self.eval_seconds += time.perf_counter() - start


def _epochs(iterations: int, per_epoch: int) -> float | int:
    """Passes over the training set: a whole number at epoch ends, else rounded to 4 decimals."""
    epochs = round(iterations / per_epoch, 4)
    return int(epochs) if float(epochs).is_integer() else epochs
