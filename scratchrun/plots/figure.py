"""Figures made without pyplot: drawing a file must neither change a notebook's backend nor leave figures open.

`matplotlib.figure.Figure` saves through its own Agg canvas, so no global state is touched and nothing needs
closing; matplotlib is imported on the first figure only, so `scratchrun --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
             constrained_layout: bool = False, **kwargs: Any):
    """Like `pyplot.subplots`, for a figure of our own: (figure, axes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained" if constrained_layout else None)
    FigureCanvasAgg(fig)  # a renderer to measure text with (`fit`)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def fit(text, share: float = 0.9):
    """Break a title (a matplotlib Text) into lines until it is at most `share` of its figure's width: a narrow figure
    (one panel) or a long run name must not run off the canvas. Returns the text."""
    import textwrap

    width = text.figure.bbox.width * share
    drawn = text.get_window_extent(text.figure.canvas.get_renderer()).width
    if drawn > width:
        words = text.get_text()
        text.set_text(textwrap.fill(words, max(8, int(len(words) * width / drawn))))
    return text


def warm_up() -> None:
    """Import what drawing and saving a figure needs (about 0.3 s), e.g. while a study's runs train."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def save(fig, path: Path, dpi: int = 110) -> None:
    """Write a figure atomically (a temporary name, fsync, rename): a crash or a full disk never leaves half a PNG."""
    from scratchrun.records.files import write_atomic

    write_atomic(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=dpi))


DRAWN_RANGE = 1e15  # a loss beyond ±1e15 is drawn at the edge: matplotlib's scale arithmetic overflows near 1e308


def on_scale(values):
    """`values` (an array) as they are drawn: within ±DRAWN_RANGE, and at least 1/DRAWN_RANGE in size when all are
    positive (a log axis); the records keep them as measured."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low = 1 / DRAWN_RANGE if len(finite) and finite.min() > 0 else -DRAWN_RANGE
    return np.where(np.isfinite(values), np.clip(values, low, DRAWN_RANGE), values)
