"""A study's figures drawn with matplotlib: those it declares as data (plots/spec.py) from its runs' curves, and
those that need no run (the toy optimizer paths, init-study's activations and gradients)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scratchrun.plots.curves import Curves, run_curves
from scratchrun.plots.figure import fit, save, subplots
from scratchrun.plots.spec import Figure, Runs, gaps, lines, panels


def draw_study(folder: Path, figures: Sequence[Figure], results: Sequence) -> None:
    """The PNG of each figure that has a file, from the runs of `results` (a study's RunResults)."""
    drawn = [figure for figure in figures if figure.file]
    if not drawn:
        return
    runs: dict[str, list[Curves]] = {}
    for result in sorted(results, key=lambda r: r.index):
        if result.run_dir:
            runs.setdefault(result.variant, []).append(run_curves(Path(result.run_dir)))
    for figure in drawn:
        save(study_figure(figure, runs), folder / figure.file, dpi=110)


def study_figure(figure: Figure, runs: Runs):
    """`figure` drawn from each variant's runs: a line per label (the mean, ± one std as a band), a panel each."""
    if figure.gap:
        return _gap_figure(figure, runs)
    titles = [title for title, _ in panels(figure, runs)] or [""]
    cols = max(1, min(figure.cols, len(titles)))
    rows = -(-len(titles) // cols)
    size = (3.3 * cols + 2.2, 2.6 * rows + 0.6) if figure.grid else (7, 4.5)  # a grid's legend: at its right
    fig, axes = subplots(rows, cols, figsize=size, constrained_layout=not figure.grid, squeeze=False, sharex=True,
                         sharey=True)
    for line in lines(figure, runs):
        ax, color = axes.flat[line.panel], f"C{line.color % 10}"
        ax.plot(line.x, line.mean, "--" if line.dashed else "-", color=color, lw=1.4,
                label=line.name if line.legend else None)
        if line.runs > 1:
            ax.fill_between(line.x, *line.band(figure.log_y), color=color, alpha=0.2, lw=0)
    for k, ax in enumerate(axes.flat):
        if k >= len(titles):
            ax.axis("off")
            continue
        fit(ax.set_title(titles[k], fontsize=9) if figure.grid else ax.set_title(figure.title))
        ax.set(yscale="log" if figure.log_y else "linear", ylabel=figure.ylabel if k % cols == 0 else "")
        if figure.ylim:
            ax.set_ylim(figure.ylim)
        if k + cols >= len(titles):  # no panel below: its x axis is labelled
            ax.set_xlabel(figure.xlabel)
            ax.xaxis.set_tick_params(labelbottom=True)
        ax.grid(alpha=0.3)
    named = any(ax.get_legend_handles_labels()[0] for ax in axes.flat)
    if figure.grid:
        legend = fig.legend(fontsize=8, loc="center right") if named else None
        _grid_margins(fig, fit(fig.suptitle(figure.title)), legend, rows, cols)
    elif named:
        axes[0, 0].legend(fontsize=8)
    return fig


def _grid_margins(fig, title, legend, rows: int, cols: int) -> None:
    """Margins in inches around a grid of equal panels, from its title's and legend's drawn sizes: as fast as no
    layout (a constrained one measures every panel's ticks, twice: a second more for bn-study's 16 panels)."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    left, bottom, gap = 0.7, 0.55, 0.4  # the y labels; the x labels; between rows a panel's title, between columns
    top = (1 - title.get_position()[1]) * height + title.get_window_extent(renderer).height / fig.dpi + 0.4
    right = 0.15 + (legend.get_window_extent(renderer).width / fig.dpi + 0.1 if legend else 0)
    panel_w = (width - left - right - 0.15 * (cols - 1)) / cols
    panel_h = (height - top - bottom - gap * (rows - 1)) / rows
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=0.15 / panel_w, hspace=gap / panel_h)


def _gap_figure(figure: Figure, runs: Runs):
    """A bar per label, ± one std, its value written on it."""
    from matplotlib.ticker import PercentFormatter

    fig, ax = subplots(figsize=(7, 4), constrained_layout=True)
    bars = gaps(figure, runs)
    if bars:
        labels, means, spread = zip(*bars)
        drawn = ax.bar(labels, means, yerr=spread, capsize=3, color=[f"C{i % 10}" for i in range(len(bars))])
        ax.bar_label(drawn, labels=[f"{g:.1%}" for g in means], padding=3)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set(xlabel=figure.xlabel, ylabel=figure.ylabel)
    ax.margins(y=0.12)  # room for the values above the bars
    fit(ax.set_title(figure.title))
    ax.grid(alpha=0.3, axis="y")
    return fig


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


