"""A search's figures: the metric against each searched value, and the best trials' curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scratchrun.plots.figure import save, subplots
from scratchrun.records.reader import metric_values, read_metrics


def search_figure(path: Path, rows: Sequence[dict], plan) -> None:
    """The validation metric against each searched value, on the value's own scale, coloured by round."""
    dims = list(plan.space)
    fig, axes = subplots(1, len(dims), figsize=(4.2 * len(dims), 3.6), constrained_layout=True, squeeze=False)
    for ax, dim in zip(axes[0], dims):
        for r in sorted({row["round"] for row in rows}):
            for pruned in (False, True):  # a pruned trial's score is after fewer epochs: drawn apart, as a cross
                points = [(row[dim.key], row[plan.metric]) for row in rows if row["round"] == r
                          and row[plan.metric] is not None and (row["status"] == "pruned") == pruned]
                if points:
                    xs, ys = zip(*points)
                    ax.scatter([str(x) for x in xs] if dim.kind == "choice" else xs, ys, s=14, color=f"C{r - 1}",
                               marker="x" if pruned else "o", alpha=0.5 if pruned else 1.0,
                               label=f"round {r}" + (" (pruned)" if pruned else ""))
        if dim.kind == "log_uniform":
            ax.set_xscale("log")
        ax.set(xlabel=dim.key, ylabel=plan.metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    save(fig, path, dpi=110)


def top_figure(path: Path, folder: Path, best: Sequence[dict], metric: str) -> None:
    """Validation accuracy per epoch of the best trials (best first), one panel each, as the book's figure 6-24."""
    if not best:
        return
    cols = 5
    nrows = -(-len(best) // cols)
    fig, axes = subplots(nrows, cols, figsize=(2.6 * cols, 2.0 * nrows), constrained_layout=True, squeeze=False,
                             sharey=True)
    for ax, row in zip(axes.flat, best):
        history = metric_values(read_metrics(folder / row["run_dir"]))
        ax.plot([h["epoch"] for h in history], [h["val_acc"] for h in history], color="C0", lw=1.2)
        ax.plot([h["epoch"] for h in history], [h["train_acc"] for h in history], "--", color="C1", lw=1)
        ax.set_title(f"trial {row['trial']}: {row[metric]:.3f}", fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(best):]:
        ax.axis("off")
    fig.suptitle(f"the best {len(best)} trials: validation (solid) and training (dashed) accuracy per epoch")
    save(fig, path, dpi=100)
