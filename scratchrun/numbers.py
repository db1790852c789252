"""What counts as a number in a config or a record, decided once for every reader and writer.

Python counts `True` as the int 1, and a config or a record never means a bool as a number; JSON (and so every
record) has no NaN or infinity, so a measured value that is not finite is stored and read as null.
"""

from __future__ import annotations

import math
from typing import Any


def is_number(value: Any) -> bool:
    """An int or a float (NumPy's float64 included), never a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    """A number that is neither NaN nor an infinity."""
    return is_number(value) and math.isfinite(value)


def finite_or_none(value: Any) -> int | float | None:
    """The value if it is a finite number, else None: what a record stores where a number was not measured."""
    return value if is_finite(value) else None
