"""What a report reads from one folder, made small and ready for JSON: a run's curves, a study's variants, a
search's trials, the PNG figures it embeds.

A run's minibatch loss is smoothed and thinned to at most MAX_POINTS points; every evaluation is kept. Curve numbers
keep 4 significant digits, enough for a chart at half the bytes; the run table (`collect`) keeps every digit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scratchrun.errors import ScratchrunError
from scratchrun.plots.run import smooth
from scratchrun.records import index as ix
from scratchrun.records.reader import metric_values, read_metrics, read_results, read_steps

MAX_POINTS = 400  # per minibatch-loss curve: a chart is 1,000 pixels wide at most, and 1,000 runs stay small
EVAL_KEYS = ("iteration", "epoch", "train_loss", "train_acc", "val_loss", "val_acc")
FINAL_KEYS = ("train_acc", "val_acc", "test_acc")
MAX_IMAGE_BYTES = 2_000_000  # a study figure with no interactive version is embedded as it is, up to this size


@dataclass(frozen=True)
class Curves:
    """One run's curves as arrays: the smoothed minibatch loss at thinned iterations, and every evaluation (nan where a
    metric was not measured, e.g. a split `train.track` left out)."""

    iterations: np.ndarray
    loss: np.ndarray
    window: int  # the moving average's length
    evals: dict[str, np.ndarray]

    def series(self, metric: str, x: str = "iteration") -> tuple[np.ndarray, np.ndarray]:
        """(iterations or epochs, values) of an evaluated metric, where it was measured."""
        values = self.evals[metric]
        kept = np.isfinite(values)
        return self.evals[x][kept], values[kept]

    def to_json(self) -> dict:
        return {"loss": {"x": numbers(self.iterations), "y": numbers(self.loss), "window": self.window},
                "evals": {key: numbers(values) for key, values in self.evals.items()
                          if key in ("iteration", "epoch") or np.isfinite(values).any()}}


@dataclass
class Group:
    """A study or search folder in the report: its runs (ids into the run table) and its figures."""

    info: ix.GroupInfo
    runs: list[int]
    title: str = ""
    facts: list[str] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    problem: str | None = None

    def to_json(self, index: int) -> dict:
        return {"id": index, "kind": self.info.kind, "name": self.info.name, "title": self.title, "facts": self.facts,
                "runs": self.runs, "figures": self.figures, "images": self.images, "problem": self.problem}


def run_curves(folder: Path) -> Curves:
    """A run's curves read from its steps.csv and metrics.csv; a damaged file gives empty curves, not an error (the
    table's status says what is wrong)."""
    try:
        steps = read_steps(folder)
    except ScratchrunError:
        steps = np.empty((0, 3))
    try:
        history = metric_values(read_metrics(folder))
    except ScratchrunError:
        history = []
    loss = steps[:, 2].astype(np.float64)
    finite = np.isfinite(loss)
    window = max(1, int(finite.sum()) // 50)
    smoothed = np.full(len(loss), np.nan)
    smoothed[finite] = smooth(loss[finite], window)
    kept = thin(len(loss), MAX_POINTS)
    evals = {key: np.array([np.nan if row.get(key) is None else row[key] for row in history], dtype=np.float64)
             for key in EVAL_KEYS}
    return Curves(steps[kept, 0], smoothed[kept], window, evals)


def thin(n: int, most: int) -> np.ndarray:
    """At most `most` indices of `n`, evenly spread, the first and the last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def numbers(values: np.ndarray) -> list[float | None]:
    """Floats with 4 significant digits, None where not finite (JSON has no NaN)."""
    return [float(f"{v:.4g}") if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def finite(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value) else None


def plain(value: Any) -> Any:
    """A config value as JSON holds it: numbers, text, booleans, lists; anything else (a date YAML read) as text;
    a float that is not finite as its name."""
    if isinstance(value, bool | str | int) or value is None:
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def study_variants(folder: Path, variants: Sequence, seeds: Sequence[int], present: set[str]) -> dict[str, list[str]]:
    """The run folder names of each variant of a study, in the study's order: from results.csv, or, for a study that
    never wrote it (interrupted), from the folder names its runs get (`<variant>-seed<k>`)."""
    from scratchrun.experiments.specs import run_folder_name

    if (folder / "results.csv").is_file():
        rows = read_results(folder)
        return {v.name: [r["run_dir"] for r in rows if r["variant"] == v.name and Path(r["run_dir"]).name in present]
                for v in variants}
    return {v.name: [name for s in seeds if (name := run_folder_name(v.name, s)) in present] for v in variants}


def search_trials(folder: Path, plan) -> list[dict[str, Any]]:
    """A search's trials.csv, checked against its space (none yet: no trial finished)."""
    from scratchrun.experiments.search_folder import read_search_trials

    return read_search_trials(folder, plan) if (folder / "trials.csv").is_file() else []


def embedded_images(folder: Path, drawn: set[str]) -> list[dict]:
    """The folder's PNG figures that have no interactive version in the report, as data URIs."""
    images = []
    for path in sorted(folder.glob("*.png")):
        if path.name in drawn or path.stat().st_size > MAX_IMAGE_BYTES:
            continue
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        images.append({"title": path.name, "src": f"data:image/png;base64,{data}"})
    return images
