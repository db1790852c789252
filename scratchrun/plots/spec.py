"""A study's figures as data: what each plots against what, grouped how, in which panels.

A study declares its figures once (experiments/presets.py) and study.yaml keeps them. Two renderers draw them from
the same numbers (`lines`, `gaps`): matplotlib into the study's PNG files (plots/study.py), plotly into the report
(reporting/figures.py). Lines name variants as data: nothing reads a figure back from a variant's or a study's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from scratchrun.plots.curves import Curves

Runs = Mapping[str, Sequence[Curves]]  # each variant's runs


@dataclass(frozen=True)
class Panel:
    """One chart of a figure: a line per variant (the mean over its runs), in the legend as its label."""

    title: str
    lines: dict[str, str]  # variant -> label


@dataclass(frozen=True)
class Figure:
    """`y` (`loss`, the smoothed minibatch loss, or evaluated metrics: the first solid, the next dashed) against `x`
    (`iteration` or `epoch`) in each panel. Titled panels make a grid that shares its axes, each line named with its
    metric; `gap` draws instead one bar per line: y[0] − y[1] at the last evaluation."""

    name: str  # the report's chart
    title: str
    panels: tuple[Panel, ...]
    y: tuple[str, ...] = ("loss",)
    x: str = "iteration"
    xlabel: str = "update"
    ylabel: str = "accuracy"
    log_y: bool = False
    ylim: tuple[float, float] | None = None
    cols: int = 1
    gap: bool = False
    file: str | None = None  # the PNG the study draws it into; None: the report's only

    @property
    def grid(self) -> bool:
        return any(panel.title for panel in self.panels)

    def to_dict(self) -> dict:
        """As study.yaml keeps it (lists, not tuples)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**data, "panels": [{"title": p.title, "lines": dict(p.lines)} for p in self.panels],
                "y": list(self.y), "ylim": list(self.ylim) if self.ylim else None}

    @classmethod
    def from_dict(cls, data: Mapping) -> Figure:
        """Raises KeyError, TypeError or AttributeError when `data` is not what `to_dict` wrote."""
        panels = tuple(Panel(str(p["title"]), {str(k): str(v) for k, v in p["lines"].items()}) for p in data["panels"])
        ylim = data.get("ylim")
        return cls(**{**data, "panels": panels, "y": tuple(map(str, data.get("y", cls.y))),
                      "ylim": (float(ylim[0]), float(ylim[1])) if ylim else None})


def by_variant(name: str, title: str, variants: Sequence[str], metric: str = "loss",
               ylabel: str = "minibatch loss (moving average)", file: str | None = None) -> Figure:
    """One chart, a line per variant: the smoothed minibatch loss (on a log scale) or an evaluated metric."""
    return Figure(name, title, (Panel("", {v: v for v in variants}),), (metric,), ylabel=ylabel,
                  log_y=metric == "loss", file=file)


def accuracy_grid(name: str, title: str, panels: Sequence[Panel], metrics: Sequence[str], cols: int,
                  file: str) -> Figure:
    """A grid of panels, accuracy per epoch from 0 to 1."""
    return Figure(name, title, tuple(panels), tuple(metrics), "epoch", "epoch", ylim=(0, 1.02), cols=cols, file=file)


@dataclass(frozen=True)
class Line:
    """One line as both renderers draw it: the mean of its runs' curves over their common length, ± one std."""

    panel: int  # among the panels drawn
    label: str  # its legend group: the panel's label, in a grid with the metric
    color: int  # one per label across the figure
    dashed: bool
    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    runs: int
    legend: bool  # the first line of its label: the one the legend lists

    @property
    def name(self) -> str:
        return self.label if self.runs == 1 else f"{self.label} (mean of {self.runs})"

    def band(self, log_y: bool) -> tuple[np.ndarray, np.ndarray]:
        """± one std; on a log axis never down to 0 or below, where the band would be dropped."""
        low = self.mean - self.std
        return (np.maximum(low, self.mean * 1e-3) if log_y else low), self.mean + self.std


def panels(figure: Figure, runs: Runs) -> list[tuple[str, list[tuple[str, Sequence[Curves]]]]]:
    """The panels that have runs to draw, each with the (label, runs) of its variants that have some."""
    drawn = [(p.title, [(label, runs[v]) for v, label in p.lines.items() if runs.get(v)]) for p in figure.panels]
    return [(title, members) for title, members in drawn if members]


def lines(figure: Figure, runs: Runs) -> list[Line]:
    """Every line of the figure, panel by panel."""
    labels: list[str] = []
    out: list[Line] = []
    for k, (_, members) in enumerate(panels(figure, runs)):
        for label, curves in members:
            labels += [] if label in labels else [label]
            for m, metric in enumerate(figure.y):
                pairs = [(x, y) for x, y in (c.series(metric, figure.x) for c in curves) if len(y)]
                if not pairs:
                    continue
                n = min(len(y) for _, y in pairs)
                stack = np.vstack([y[:n] for _, y in pairs])
                with np.errstate(invalid="ignore"):
                    mean, std = stack.mean(axis=0), stack.std(axis=0)
                name = f"{label} {metric}" if figure.grid else label
                out.append(Line(k, name, labels.index(label), m > 0, pairs[0][0][:n], mean, std, len(pairs),
                                all(line.label != name for line in out)))
    return out


def gaps(figure: Figure, runs: Runs) -> list[tuple[str, float, float]]:
    """(label, mean, std) over each line's runs of y[0] − y[1] at the last evaluation, where it is finite."""
    first, second = figure.y
    out = []
    for _, members in panels(figure, runs):
        for label, curves in members:
            values = [c.evals[first][-1] - c.evals[second][-1] for c in curves if len(c.evals["iteration"])]
            values = [v for v in values if np.isfinite(v)]
            if values:
                out.append((label, float(np.mean(values)), float(np.std(values))))
    return out
