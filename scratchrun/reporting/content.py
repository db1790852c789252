"""What a report reads from one folder, made small and ready for JSON: a run's curves (plots/curves.py), a study's
variants, a search's trials, the PNG figures it embeds.

Curve numbers keep 4 significant digits, enough for a chart at half the bytes; the run table (`collect`) keeps every
digit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scratchrun.plots.curves import Curves
from scratchrun.records import index as ix
from scratchrun.records.reader import read_images, read_results

FINAL_KEYS = ("train_acc", "val_acc", "test_acc")
MAX_IMAGE_BYTES = 2_000_000  # a study figure with no interactive version is embedded as it is, up to this size


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


def curves_json(curves: Curves) -> dict:
    """A run's curves as the page reads them: the evaluations of metrics it measured at least once."""
    return {"loss": {"x": numbers(curves.iterations), "y": numbers(curves.loss), "window": curves.window},
            "evals": {key: numbers(values) for key, values in curves.evals.items()
                      if key in ("iteration", "epoch") or np.isfinite(values).any()}}


def numbers(values: np.ndarray) -> list[float | None]:
    """Floats with 4 significant digits, None where not finite (JSON has no NaN)."""
    return [float(f"{v:.4g}") if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


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
    return [{"title": name, "src": f"data:image/png;base64,{base64.b64encode(data).decode('ascii')}"}
            for name, data in read_images(folder, drawn, MAX_IMAGE_BYTES)]
