"""The training loop: minibatch updates, evaluations on a schedule, and callbacks that see both.

The loop never prints and never writes files; a run record and a progress bar are just callbacks.
It stops on the first non-finite loss (`diverged`) and on Ctrl-C or SIGTERM (`interrupted`), returning
what it measured so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
from .data import Data, Minibatches, Split
from .losses import cross_entropy_sum
from .model import MLP
from .optimizers import Optimizer
from .schedules import SCHEDULES

EVAL_CHUNK = 10_000  # rows per forward pass when evaluating: bounds memory, keeps BLAS efficient


class Callback:
    """Hooks into the loop; override what you need."""

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None: ...

    def on_step(self, iteration: int, epoch: int, loss: float) -> None: ...

    def on_eval(self, row: dict) -> None: ...


@dataclass
class TrainResult:
    status: str = "running"  # then completed | diverged | interrupted
    iterations: int = 0
    epochs: float = 0.0  # passes over the training set, fractional when stopped mid-epoch
    samples: int = 0
    train_seconds: float = 0.0  # wall time of the loop minus evaluations: batches, steps, updates, callbacks
    history: list[dict] = field(default_factory=list)  # one row per evaluation
    message: str | None = None


def evaluate(model: MLP, split: Split) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split in evaluation mode (no dropout, running BatchNorm statistics)."""
    loss_sum, correct = 0.0, 0
    for x, y in split.chunks(EVAL_CHUNK):
        chunk_loss, chunk_correct = cross_entropy_sum(model.forward(x, train=False), y)
        loss_sum += chunk_loss
        correct += chunk_correct
    return loss_sum / len(split), correct / len(split)


def train(
    model: MLP,
    optimizer: Optimizer,
    data: Data,
    config: TrainConfig,
    rng,
    callbacks: Iterable[Callback] = (),
) -> TrainResult:
    """Train for `config.epochs` passes or `config.iterations` updates, evaluating at start, on schedule and at the end."""
    callbacks = list(callbacks)
    batches = Minibatches(data.train, config.batch_size, rng)
    per_epoch = batches.per_epoch
    total = config.iterations if config.iterations is not None else config.epochs * per_epoch
    schedule, base_lr = SCHEDULES[config.lr_schedule], optimizer.lr
    result = TrainResult()
    started = time.perf_counter()

    eval_seconds = 0.0

    def record_eval() -> None:
        nonlocal eval_seconds
        eval_start = time.perf_counter()
        row = {"epoch": _epochs(result.iterations, per_epoch), "iteration": result.iterations}
        row["train_loss"], row["train_acc"] = evaluate(model, data.train)
        row["val_loss"], row["val_acc"] = evaluate(model, data.val) if data.val is not None else (None, None)
        row["seconds"] = round(time.perf_counter() - started, 3)
        result.history.append(row)
        for callback in callbacks:
            callback.on_eval(row)
        eval_seconds += time.perf_counter() - eval_start

    for callback in callbacks:
        callback.on_train_start(total, per_epoch)

    def loop() -> None:
        record_eval()
        epoch = 0
        while result.iterations < total and result.status == "running":
            epoch += 1
            for x, y in batches.epoch():
                loss = model.train_step(x, y)
                if math.isfinite(loss):
                    optimizer.lr = base_lr * schedule(result.iterations + 1, total)
                    optimizer.update(model.packed_params, model.packed_grads)
                result.iterations += 1
                result.samples += len(y)
                for callback in callbacks:
                    callback.on_step(result.iterations, epoch, loss)
                if not math.isfinite(loss):
                    result.status = "diverged"
                    result.message = f"the training loss became {loss} at iteration {result.iterations}"
                    break
                if config.eval_every and result.iterations % config.eval_every == 0:
                    record_eval()
                if result.iterations >= total:
                    break
            else:
                if not config.eval_every:
                    record_eval()
        if result.status == "running":
            if result.history[-1]["iteration"] != result.iterations:
                record_eval()
            result.status = "completed"

    try:
        # overflow on the way to a non-finite loss is expected: it is reported as `diverged`, not as warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loop()
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.message = f"interrupted at iteration {result.iterations}"
    optimizer.lr = base_lr
    result.train_seconds = time.perf_counter() - started - eval_seconds
    result.epochs = _epochs(result.iterations, per_epoch)
    return result


def _epochs(iterations: int, per_epoch: int) -> float | int:
    """Passes over the training set: a whole number at epoch ends, else rounded to 4 decimals."""
    epochs = round(iterations / per_epoch, 4)
    return int(epochs) if float(epochs).is_integer() else epochs
