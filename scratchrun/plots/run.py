"""Figures of a run: curves.png, drawn on a figure of its own (plots/figure.py), never through pyplot.

curves.png is derived from the run's records (steps.csv and metrics.csv), never a record itself: `scratchrun train`
draws it as the run ends, while the runs of a study or search leave it to whoever opens them first (`draw_curves`),
because drawing it costs more than a small run's training steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scratchrun.plots.figure import on_scale


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (shorter windows at the start), the way the book smooths minibatch losses."""
    if len(values) == 0:
        return values
    window = max(1, min(window, len(values)))
    # summed divided by their count: losses near the float limit (1e308) cannot add up to inf
    scale = float(len(values))
    cumsum = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64) / scale)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumsum[ends] - cumsum[starts]) / (ends - starts) * scale


def save_curves(path, losses: list[float], history: list[dict], title: str) -> None:
    """curves.png into `path` (a file name or an open binary file)."""
    curves_figure(losses, history, title).savefig(path, format="png", dpi=110)


def curves_figure(losses: list[float], history: list[dict], title: str):
    """Minibatch loss (raw and smoothed) with evaluated losses, and accuracy per evaluation; a split that was not
    scored at every evaluation (`train.track`) is drawn at the evaluations that scored it."""
    from scratchrun.plots.figure import fit, subplots

    fig, (ax_loss, ax_acc) = subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    steps = np.arange(1, len(losses) + 1)
    loss_values = on_scale(losses)
    finite = np.isfinite(loss_values)
    if finite.any():
        ax_loss.plot(steps[finite], loss_values[finite], color="0.8", lw=0.6, label="minibatch loss")
        window = max(1, len(losses) // 50)
        ax_loss.plot(steps[finite], smooth(loss_values[finite], window), color="C0", lw=1.4,
                     label=f"smoothed ({window})")
    for key, color, style in (("train", "C1", "o-"), ("val", "C2", "s-")):
        scored = [row for row in history if row.get(f"{key}_loss") is not None]
        if scored:
            iterations = [row["iteration"] for row in scored]
            drawn = {"color": color, "ms": 3, "lw": 1}
            losses_at = on_scale([row[f"{key}_loss"] for row in scored])
            ax_loss.plot(iterations, losses_at, style, **drawn, label=f"{key} loss")
            ax_acc.plot(iterations, [row[f"{key}_acc"] for row in scored], style, **drawn, label=f"{key} accuracy")
    ax_loss.set(xlabel="iteration", ylabel="cross-entropy loss", title="loss")
    if finite.any() and loss_values[finite].min() > 0:
        ax_loss.set_yscale("log")
    ax_acc.set(xlabel="iteration", ylabel="accuracy", title="accuracy", ylim=(0, 1.0))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    fit(fig.suptitle(title, fontsize=10))
    return fig


CURVES = "curves.png"


def curves_line(run: Path, status: str | None) -> str:
    """Where the run's curves.png is, as `show` says it: there, drawn now (a finished run without one: a study's runs
    leave it to their first look), not written yet (a run still training), or why it cannot be drawn."""
    from scratchrun.errors import ScratchrunError

    if (run / CURVES).is_file():
        return str(run / CURVES)
    if status in (None, "running", "stale", "unreadable"):
        return f"{run / CURVES} (not written yet)"
    try:
        return f"{draw_curves(run)} (drawn now)"
    except (OSError, ScratchrunError) as e:
        return f"{run / CURVES} (cannot be drawn: {getattr(e, 'strerror', None) or e})"


def draw_curves(run: Path) -> Path:
    """Draw a finished run's curves.png from its records when it has none yet (atomically); its path either way.

    Raises ScratchrunError when the records cannot be read, OSError when the figure cannot be written.
    """
    from scratchrun.plots.figure import save
    from scratchrun.records.reader import metric_values, read_metrics, read_steps, read_summary

    path = run / CURVES
    if path.is_file():
        return path
    status = read_summary(run).get("status")
    losses = read_steps(run)[:, 2].tolist()
    history = metric_values(read_metrics(run))
    fig = curves_figure(losses, history, f"{run.name} ({status})")
    save(fig, path, dpi=110)
    return path
