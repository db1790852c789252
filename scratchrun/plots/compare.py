"""The figure of `scratchrun compare --plot`: the chosen runs' losses and accuracies overlaid, one colour per run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scratchrun.errors import ScratchrunError
from scratchrun.plots.figure import on_scale


def compare_figure(path: Path, chosen: list, labels: list[str]) -> list[str]:
    """Smoothed minibatch loss per iteration and train (dashed) / val (solid) accuracy per epoch, a colour per run.

    Returns the labels of the runs left out because they have no readable steps.csv or metrics.csv.
    """
    from scratchrun.plots.figure import save, subplots
    from scratchrun.plots.run import smooth
    from scratchrun.records.reader import metric_values, read_metrics, read_steps

    fig, (ax_loss, ax_acc) = subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    positive, sane_top, left_out = True, 0.0, []
    for i, (run, label) in enumerate(zip(chosen, labels)):
        color = f"C{i % 10}"
        try:
            steps = read_steps(run.path)  # (N, 3): iteration, epoch, loss
            metrics = metric_values(read_metrics(run.path))
        except ScratchrunError:
            steps, metrics = None, []
        if steps is None or not (len(steps) or metrics):
            left_out.append(label)
            continue
        iterations, losses = steps[:, 0], on_scale(steps[:, 2])
        finite = np.isfinite(losses)
        if finite.any():
            smoothed = smooth(losses[finite], max(1, len(losses) // 50))
            ax_loss.plot(iterations[finite], smoothed, color=color, lw=1.3, label=label)
            positive = positive and losses[finite].min() > 0
            sane_top = sane_top if run.status == "diverged" else max(sane_top, smoothed.max())
        for key, style in (("train_acc", "--"), ("val_acc", "-")):
            points = [(row["epoch"], row[key]) for row in metrics
                      if row.get("epoch") is not None and row.get(key) is not None]
            if points:
                ax_acc.plot(*zip(*points), style, color=color, lw=1.2, marker="o", ms=2.5)
    if positive and ax_loss.lines:
        ax_loss.set_yscale("log")
    if sane_top > 0 and any(run.status == "diverged" for run in chosen):  # a diverged curve would flatten the others
        ax_loss.set_ylim(top=sane_top * 1.5)
    ax_loss.set(xlabel="iteration", ylabel="cross-entropy loss (smoothed)", title="minibatch loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy: train dashed, val solid", ylim=(0, 1.0))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(loc="best", fontsize=8)
    save(fig, path, dpi=110)
    return left_out
