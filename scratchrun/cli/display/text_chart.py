"""A line chart drawn with braille characters, for `scratchrun show`: no plotting library, any number of points.

Each character is a 2×4 grid of dots, so a 60×12-character chart has 120×48 dots. Points are grouped into
one bucket per dot column by their x value and each bucket is drawn at its mean, so 30,000 losses draw as
fast as 30 and the noise of single minibatches is averaged away. Non-finite values (a diverged run) are
left out of the buckets and the scale, and counted in a note under the chart.
"""

from __future__ import annotations

import numpy as np

# the bit of each dot in a braille cell, indexed [row][column] (Unicode braille patterns, U+2800)
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BLANK = 0x2800


def line_chart(y, x=None, width: int = 60, height: int = 12, x_label: str = "x", log: bool | None = None) -> str:
    """The chart of y against x (default 1, 2, ...), `width`×`height` characters plus axes and labels.

    `log` puts y on a log scale; by default it does so when the values are positive and span more than
    three decades (a run on its way to diverging), where a linear scale would flatten everything else.
    """
    y = np.asarray(y, dtype=float).ravel()
    x = np.arange(1, len(y) + 1, dtype=float) if x is None else np.asarray(x, dtype=float).ravel()
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} values and y {len(y)}")
    if len(y) == 0:
        return "(no values yet)"
    finite = np.isfinite(y) & np.isfinite(x)
    note = _non_finite_note(x, y, finite, x_label)
    if not finite.any():
        return f"(nothing to draw: {note})"
    columns, means = means_per_column(x[finite], y[finite], 2 * width)
    low, high = float(np.min(means)), float(np.max(means))
    if log is None:
        log = low > 0 and high / low > 1e3
    scaled = np.log10(means) if log else means
    dot_rows = _dot_rows(scaled, float(np.min(scaled)), float(np.max(scaled)), 4 * height)
    cells = np.zeros((height, width), dtype=np.int64)
    for c, r in _connected(columns, dot_rows):
        cells[r // 4, c // 2] |= _DOTS[r % 4][c % 2]
    lines = _frame(cells, low, high, float(x[finite][0]), float(x[finite][-1]), x_label + (", log y" if log else ""))
    return "\n".join(lines + ([note] if note else []))


def means_per_column(x: np.ndarray, y: np.ndarray, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The dot columns that hold points and the mean y of each: buckets of equal x width, empty ones dropped."""
    start, span = x.min(), x.max() - x.min()
    if span == 0:  # one point, or one x: a single column at the left
        return np.array([0]), np.array([y.mean()])
    bucket = np.minimum(((x - start) / span * n_columns).astype(np.int64), n_columns - 1)
    counts = np.bincount(bucket, minlength=n_columns)
    # each value divided by its bucket's size before adding: near-overflow losses (1e308) cannot sum to inf
    means = np.bincount(bucket, weights=y / counts[bucket], minlength=n_columns)
    used = np.flatnonzero(counts)
    return used, means[used]


def _dot_rows(values: np.ndarray, low: float, high: float, n_rows: int) -> np.ndarray:
    """Row 0 is the top; a constant series is drawn across the middle."""
    if high == low:
        return np.full(len(values), n_rows // 2, dtype=np.int64)
    # halves: `high - low` of losses near ±1e308 would overflow to inf
    fraction = (high / 2 - values / 2) / (high / 2 - low / 2)
    return np.clip(np.rint(fraction * (n_rows - 1)), 0, n_rows - 1).astype(np.int64)


def _connected(columns: np.ndarray, rows: np.ndarray):
    """Every dot of the straight segments joining consecutive points, so gaps and jumps read as one line."""
    columns, rows = columns.tolist(), rows.tolist()
    yield columns[0], rows[0]
    for c0, r0, c1, r1 in zip(columns[:-1], rows[:-1], columns[1:], rows[1:]):
        steps = max(abs(c1 - c0), abs(r1 - r0))
        for t in range(1, steps + 1):
            yield round(c0 + (c1 - c0) * t / steps), round(r0 + (r1 - r0) * t / steps)


def _frame(cells: np.ndarray, low: float, high: float, first_x: float, last_x: float, x_label: str) -> list[str]:
    """The braille rows with the y range on the left, and the x range and the x label underneath."""
    top, bottom = _number(high), _number(low)
    margin = max(len(top), len(bottom))
    height, width = cells.shape
    lines = []
    for i, row in enumerate(cells):
        label = top if i == 0 else bottom if i == height - 1 else ""
        axis = "┤" if label else "│"
        lines.append(f"{label:>{margin}} {axis}" + "".join(chr(_BLANK + int(bits)) for bits in row))
    lines.append(" " * margin + " └" + "─" * width)
    left, right = _number(first_x), ("" if first_x == last_x else _number(last_x))
    middle = f" {x_label} ".center(max(width - len(left) - len(right), 0))
    lines.append(" " * (margin + 2) + left + middle + right)
    return lines


def _non_finite_note(x: np.ndarray, y: np.ndarray, finite: np.ndarray, x_label: str) -> str:
    bad = np.flatnonzero(~finite)
    if len(bad) == 0:
        return ""
    kinds = sorted({"nan" if np.isnan(v) else "inf" for v in (y[i] if not np.isfinite(y[i]) else x[i] for i in bad)})
    first = x[bad[0]]
    where = f"{x_label} {_number(float(first))}" if np.isfinite(first) else f"point {bad[0] + 1}"
    return f"{len(bad)} non-finite value(s) ({', '.join(kinds)}) not drawn, the first at {where}"


def _number(value: float) -> str:
    """Short and exact enough for an axis: 2.303, 0.0412, 30000, 1.2e+25."""
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.4g}"
