"""Figures of a study, drawn from its run folders: one line per variant (mean over seeds, with a band)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchrun.plots.figure import save, subplots
from scratchrun.plots.run import smooth
from scratchrun.records.reader import metric_values, read_metrics, read_steps


def _evaluations(run_dir: Path) -> list[dict]:
    """A run's metrics.csv as numbers, None where a metric was not measured."""
    return metric_values(read_metrics(run_dir))


def by_variant(results: Sequence) -> dict[str, list[Path]]:
    """Run folders grouped by variant, in the study's order."""
    groups: dict[str, list[Path]] = {}
    for result in sorted(results, key=lambda r: r.index):
        groups.setdefault(result.variant, []).append(Path(result.run_dir))
    return groups


def _band(ax, x, curves: list[np.ndarray], label: str, color) -> None:
    """The mean of equal-length curves as a line, ± one std as a band when there are several."""
    n = min(len(c) for c in curves)
    stack = np.vstack([c[:n] for c in curves])
    mean = stack.mean(axis=0)
    ax.plot(x[:n], mean, label=label, color=color, lw=1.4)
    if len(curves) > 1:
        std = stack.std(axis=0)
        ax.fill_between(x[:n], mean - std, mean + std, color=color, alpha=0.2, lw=0)


def loss_figure(path: Path, results: Sequence, title: str, window: int = 20) -> None:
    """Smoothed minibatch loss against the update count, one line per variant (the book's figure 6-9)."""
    fig, ax = subplots(figsize=(7, 4.5), constrained_layout=True)
    for i, (variant, runs) in enumerate(by_variant(results).items()):
        curves = [smooth(np.nan_to_num(read_steps(r)[:, 2], nan=np.inf), window) for r in runs]
        if curves and min(len(c) for c in curves):
            _band(ax, np.arange(1, max(len(c) for c in curves) + 1), curves, variant, f"C{i}")
    ax.set(xlabel="update", ylabel=f"minibatch loss (moving average of {window})", title=title, yscale="log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path, dpi=110)


def metric_figure(path: Path, results: Sequence, metric: str, title: str, ylabel: str) -> None:
    """An evaluated metric (e.g. val_acc) against the update count, one line per variant."""
    fig, ax = subplots(figsize=(7, 4.5), constrained_layout=True)
    for i, (variant, runs) in enumerate(by_variant(results).items()):
        histories = [_evaluations(r) for r in runs]
        curves = [np.array([row[metric] for row in h if row[metric] is not None]) for h in histories]
        x = np.array([row["iteration"] for row in histories[0] if row[metric] is not None])
        if len(x):
            _band(ax, x, curves, variant, f"C{i}")
    ax.set(xlabel="update", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path, dpi=110)


def toy_paths(path: Path, optimizers: dict[str, object], start=(-7.0, 2.0), steps: int = 30) -> None:
    """Each optimizer's path on f(x, y) = x²/20 + y² from (−7, 2), over the function's contours (the book's 6.1)."""
    n = len(optimizers)
    cols = 3 if n > 2 else n
    rows = -(-n // cols)
    fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), constrained_layout=True, squeeze=False)
    xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 200))
    for ax, (name, optimizer) in zip(axes.flat, optimizers.items()):
        params = {"x": np.array([start[0]]), "y": np.array([start[1]])}
        trail = [start]
        for _ in range(steps):
            optimizer.update(params, {"x": params["x"] / 10.0, "y": 2.0 * params["y"]})  # ∇f
            trail.append((float(params["x"][0]), float(params["y"][0])))
        trail = np.array(trail)
        ax.contour(xs, ys, xs**2 / 20 + ys**2, levels=np.logspace(-1.5, 1.3, 12), colors="0.75", linewidths=0.6)
        ax.plot(trail[:, 0], trail[:, 1], "o-", color="C3", ms=2.5, lw=1)
        ax.plot(0, 0, "+", color="k", ms=8)
        ax.set(title=f"{name} (lr {optimizer.lr:g})", xlim=(-10, 10), ylim=(-5, 5))
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{steps} updates on f(x, y) = x²/20 + y² from {start}")
    save(fig, path, dpi=110)


def panels_figure(path: Path, results: Sequence, groups: list[tuple[str, list[tuple[str, str]]]], metric_styles,
                  title: str, cols: int, x: str = "epoch", ylabel: str = "accuracy") -> None:
    """A grid of panels; panel (title, [(variant, label), ...]) draws each variant's metrics in `metric_styles`.

    `metric_styles` is a list of (metric, line style); each line is the mean over seeds.
    """
    variants = by_variant(results)
    rows = -(-len(groups) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), constrained_layout=False, squeeze=False,
                             sharex=True, sharey=True)
    for ax, (panel_title, members) in zip(axes.flat, groups):
        for i, (variant, label) in enumerate(members):
            if variant not in variants:
                continue
            histories = [_evaluations(r) for r in variants[variant]]
            for metric, style in metric_styles:
                curves = [np.array([np.nan if row[metric] is None else row[metric] for row in h]) for h in histories]
                steps = np.array([row[x] for row in histories[0]])
                mean = np.mean(np.vstack([c[: len(steps)] for c in curves]), axis=0)
                ax.plot(steps, mean, style, color=f"C{i}", lw=1.2, label=f"{label} {metric.split('_')[0]}")
        ax.set_title(panel_title, fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    for ax in axes[-1]:
        ax.set_xlabel(x)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.07, top=0.9, hspace=0.3, wspace=0.12)  # fixed: faster than
    save(fig, path, dpi=110)  # a constrained layout, which a grid of equal panels does not need


def activation_histograms(path: Path, grid: list[tuple[str, list[np.ndarray]]]) -> None:
    """One row per (init, activation), one column per layer: the histogram of that layer's activations."""
    rows, cols = len(grid), len(grid[0][1])
    # a fixed layout and one filled outline per histogram (`stairs`), not 30 bars: the same picture, several times
    # faster to draw for the dozens of panels of this grid
    fig, axes = subplots(rows, cols, figsize=(2.2 * cols, 1.35 * rows), squeeze=False)
    fig.subplots_adjust(left=0.16, right=0.98, bottom=0.5 / (1.35 * rows), top=1 - 0.75 / (1.35 * rows),
                        hspace=0.45, wspace=0.1)
    for r, (label, outputs) in enumerate(grid):
        for c, a in enumerate(outputs):
            ax = axes[r, c]
            finite = a[np.isfinite(a)]
            fixed = {"sigmoid": (0, 1), "tanh": (-1, 1)}.get(label.split()[-1])  # the book's axes: saturation shows
            counts, edges = np.histogram(finite.ravel(), bins=30, range=fixed)
            ax.stairs(counts, edges, fill=True, color=f"C{r % 10}")
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
            if r == 0:
                ax.set_title(f"layer {c + 1}", fontsize=8)
        axes[r, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("activations of 5 layers of 100 units for 1,000 Gaussian inputs")
    save(fig, path, dpi=100)


def gradient_figure(path: Path, norms: dict[str, list[float]], activation: str) -> None:
    """‖∂L/∂W‖ per layer at initialisation, one line per init, on a log scale."""
    fig, ax = subplots(figsize=(6, 4), constrained_layout=True)
    for i, (name, values) in enumerate(norms.items()):
        layers = np.arange(1, len(values) + 1)
        ax.plot(layers, np.maximum(values, 1e-30), "o-", color=f"C{i}", label=name)
    ax.set_xticks(np.arange(1, max(len(v) for v in norms.values()) + 1))
    ax.set(xlabel="layer", ylabel="‖∂L/∂W‖ at initialisation", yscale="log",
           title=f"gradient size per layer before training ({activation})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path, dpi=110)


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
        history = _evaluations(folder / row["run_dir"])
        ax.plot([h["epoch"] for h in history], [h["val_acc"] for h in history], color="C0", lw=1.2)
        ax.plot([h["epoch"] for h in history], [h["train_acc"] for h in history], "--", color="C1", lw=1)
        ax.set_title(f"trial {row['trial']}: {row[metric]:.3f}", fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(best):]:
        ax.axis("off")
    fig.suptitle(f"the best {len(best)} trials: validation (solid) and training (dashed) accuracy per epoch")
    save(fig, path, dpi=100)
