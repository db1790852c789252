"""Learning-rate schedules: the factor applied to the optimizer's `lr` before update t of T."""

from __future__ import annotations

import math
from collections.abc import Callable


def constant(t: int, total: int) -> float:
    """The book's choice: the same learning rate throughout."""
    return 1.0


def cosine(t: int, total: int) -> float:
    """½·(1 + cos(π·(t−1)/T)): from the full rate at the first update towards 0 at the last (Loshchilov & Hutter 2017,
    arXiv:1608.03983)."""
    return 0.5 * (1.0 + math.cos(math.pi * (t - 1) / total))


# The YAML name of each schedule.
SCHEDULES: dict[str, Callable[[int, int], float]] = {"constant": constant, "cosine": cosine}
