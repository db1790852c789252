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
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained" if constrained_layout else None)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def warm_up() -> None:
    """Import what drawing and saving a figure needs (about 0.3 s), e.g. while a study's runs train."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def save(fig, path: Path, dpi: int = 110) -> None:
    """Write a figure atomically (a temporary name, fsync, rename): a crash or a full disk never leaves half a PNG."""
    from scratchrun.records.files import write_atomic

    write_atomic(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=dpi))

