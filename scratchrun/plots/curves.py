"""A run's curves as arrays, read once from its records: what a study's figures draw, in a PNG and in the report.

The minibatch loss is smoothed and thinned to at most MAX_POINTS points; every evaluation is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchrun.errors import ScratchrunError
from scratchrun.plots.run import smooth
from scratchrun.records.reader import metric_values, read_metrics, read_steps

MAX_POINTS = 400  # per minibatch-loss curve: a chart is 1,000 pixels wide at most, and 1,000 runs stay small
EVAL_KEYS = ("iteration", "epoch", "train_loss", "train_acc", "val_loss", "val_acc")


@dataclass(frozen=True)
class Curves:
    """One run's curves: the smoothed minibatch loss at thinned iterations, and every evaluation (nan where a metric
    was not measured, e.g. a split `train.track` left out)."""

    iterations: np.ndarray
    loss: np.ndarray
    window: int  # the moving average's length
    evals: dict[str, np.ndarray]

    def series(self, metric: str, x: str = "iteration") -> tuple[np.ndarray, np.ndarray]:
        """(iterations, smoothed loss) for `loss`; (iterations or epochs, values) of an evaluated metric, where it
        was measured."""
        if metric == "loss":
            return self.iterations, self.loss
        values = self.evals[metric]
        kept = np.isfinite(values)
        return self.evals[x][kept], values[kept]


def run_curves(folder: Path) -> Curves:
    """A run's curves read from its steps.csv and metrics.csv; a damaged file gives empty curves, not an error (the
    run's status says what is wrong)."""
    try:
        steps = read_steps(folder)
    except ScratchrunError:
        steps = np.empty((0, 3))
    try:
        history = metric_values(read_metrics(folder))
    except ScratchrunError:
        history = []
    loss = steps[:, 2].astype(np.float64)
    finite = np.isfinite(loss)
    window = max(1, int(finite.sum()) // 50)
    smoothed = np.full(len(loss), np.nan)
    smoothed[finite] = smooth(loss[finite], window)
    kept = thin(len(loss), MAX_POINTS)
    evals = {key: np.array([np.nan if row.get(key) is None else row[key] for row in history], dtype=np.float64)
             for key in EVAL_KEYS}
    return Curves(steps[kept, 0], smoothed[kept], window, evals)


def thin(n: int, most: int) -> np.ndarray:
    """At most `most` indices of `n`, evenly spread, the first and the last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))
