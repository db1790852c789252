"""Figures made without pyplot: drawing a file must neither change a notebook's backend nor leave figures open.

`matplotlib.figure.Figure` saves through its own Agg canvas, so no global state is touched and nothing needs
closing; matplotlib is imported on the first figure only, so `scratchrun --help` stays fast.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
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

    with near_float_limits():
        write_atomic(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=dpi))


@contextmanager
def near_float_limits():
    """Drawing values near the float limit (a loss of 1e308 on a log axis) overflows in matplotlib's scale and tick
    arithmetic; the figure is still right, so its overflow warnings are not shown (wrap building and saving)."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield

