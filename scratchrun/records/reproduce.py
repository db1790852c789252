"""Checking that a rerun gave exactly the same numbers as the original, from the records `reader` reads.

scratchrun is deterministic with one BLAS thread: the same config and seed must give every loss and every
evaluation bit for bit. The comparison is exact (NaN equals NaN, so a diverged run can be reproduced too),
works on two run folders only, and says where the first difference is and what changed in the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from scratchrun.bounded_read import Unreadable
from scratchrun.records.reader import read_metrics, read_steps, read_summary, read_weights

ENVIRONMENT_KEYS = ("blas", "git_commit", "git_dirty")  # and every versions.* key
UNFINISHED = ("running", "interrupted")  # records that stop part-way: only what they hold is compared


@dataclass
class Comparison:
    """What differs between an original run and its rerun; empty lists and None mean identical."""

    n_losses: int
    n_evaluations: int
    partial: bool = False  # the original stopped part-way: its records are compared as a prefix of the rerun's
    loss_difference: str | None = None
    evaluation_difference: str | None = None
    final_differences: list[str] = field(default_factory=list)
    environment_changes: list[str] = field(default_factory=list)
    weights_difference: str | None = None
    n_weights: int = 0  # arrays of model.npz compared (0: not compared, e.g. an unfinished original)
    weights_unchecked: str | None = None  # why the weights of a finished original could not be compared

    @property
    def nothing_to_compare(self) -> bool:
        return self.n_losses == 0 and self.n_evaluations == 0

    @property
    def matches(self) -> bool:
        return (not self.nothing_to_compare and self.loss_difference is None and self.evaluation_difference is None
                and not self.final_differences and self.weights_difference is None and self.weights_unchecked is None)

    @property
    def _only_weights_unchecked(self) -> bool:
        return self.weights_unchecked is not None and replace(self, weights_unchecked=None).matches

    def report(self) -> str:
        """The verdict in a sentence or a few, for the terminal."""
        if self.nothing_to_compare:
            lines = ["not reproduced: the original recorded no losses and no evaluations, so there is nothing to "
                     "compare."]
        elif self.matches or self._only_weights_unchecked:
            scope = " the original recorded before it stopped" if self.partial else ""
            weights = f", and so do the {self.n_weights} arrays of model.npz" if self.n_weights else ""
            counts = f"{self.n_losses:,} losses and {self.n_evaluations:,} evaluations{scope}"
            lines = [f"reproduced: every one of {counts} matches exactly{weights}." if self.matches else
                     f"not confirmed: every one of {counts} matches exactly, but the weights could not be compared: "
                     f"{self.weights_unchecked}."]
        else:
            unchecked = (f"the weights could not be compared: {self.weights_unchecked}." if self.weights_unchecked
                         else None)
            lines = ["not reproduced:"] + [f"  {line}" for line in (self.loss_difference, self.evaluation_difference,
                                                                   *self.final_differences, self.weights_difference,
                                                                   unchecked) if line]
        if self.environment_changes:
            lines.append("environment changes between the two summaries: " + "; ".join(self.environment_changes) + ".")
        elif not self.matches:
            lines.append("the two summaries record the same environment (versions, BLAS, git commit).")
        return "\n".join(lines)


def compare_runs(original: Path, rerun: Path) -> Comparison:
    """Losses, evaluations (all but the wall-clock seconds) and final metrics of two run folders, compared exactly."""
    first, second = read_summary(original), read_summary(rerun)
    partial = first.get("status") in UNFINISHED
    steps, steps_again = read_steps(original), read_steps(rerun)
    metrics, metrics_again = read_metrics(original), read_metrics(rerun)
    return Comparison(
        n_losses=len(steps),
        n_evaluations=len(metrics),
        partial=partial,
        loss_difference=first_loss_difference(steps, steps_again, partial),
        evaluation_difference=first_evaluation_difference(metrics, metrics_again, partial),
        final_differences=[] if partial else final_differences(first.get("final") or {}, second.get("final") or {}),
        environment_changes=environment_changes(first, second),
        **({} if partial else weights_comparison(original / "model.npz", rerun / "model.npz")),
    )


def weights_comparison(original: Path, rerun: Path) -> dict:
    """The final weights, array by array and bit for bit (loaded without pickle); when either file is missing or does
    not load, why they could not be compared (`weights_unchecked`)."""
    try:
        a, b = _weights(original, "original"), _weights(rerun, "rerun")
    except _Unreadable as e:
        return {"weights_unchecked": str(e)}
    if sorted(a) != sorted(b):
        return {"weights_difference": f"model.npz holds {sorted(a)} in the original and {sorted(b)} in the rerun.",
                "n_weights": len(a)}
    for name in a:
        if not np.array_equal(a[name], b[name], equal_nan=True):
            return {"weights_difference": f"the weights `{name}` in model.npz differ.", "n_weights": len(a)}
    return {"n_weights": len(a)}


class _Unreadable(Exception):
    """A model.npz that cannot be compared, and why."""


def _weights(path: Path, which: str) -> dict[str, np.ndarray]:
    """Every array of a model.npz (records/reader.py reads it), or why it cannot be compared."""
    try:
        return read_weights(path.parent)
    except FileNotFoundError:
        raise _Unreadable(f"the {which}'s {path} is missing") from None
    except Unreadable as e:
        raise _Unreadable(f"the {which}'s {path} cannot be read ({e.reason})") from None
    except ValueError as e:
        raise _Unreadable(f"the {which}'s {path} cannot be read ({e})") from None


def first_loss_difference(steps: np.ndarray, steps_again: np.ndarray, prefix: bool = False) -> str | None:
    """The first iteration whose loss differs (both values), or a length difference; None when identical."""
    n = min(len(steps), len(steps_again))
    a, b = steps[:n, 2], steps_again[:n, 2]
    differs = (a != b) & ~(np.isnan(a) & np.isnan(b))
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        return (f"the loss first differs at iteration {steps[i, 0]:.0f}: {float(a[i])!r} in the original, "
                f"{float(b[i])!r} in the rerun.")
    if len(steps) != len(steps_again) and not (prefix and len(steps) < len(steps_again)):
        return (f"the original has {len(steps):,} losses and the rerun {len(steps_again):,}; "
                f"the first {n:,} are identical.")
    return None


def first_evaluation_difference(metrics: list[dict], metrics_again: list[dict], prefix: bool = False) -> str | None:
    """The first evaluation (metrics.csv row) with a differing value, ignoring `seconds`; None when identical."""
    for row, row_again in zip(metrics, metrics_again):
        columns = [c for c in dict.fromkeys([*row, *row_again]) if c != "seconds" and row.get(c) != row_again.get(c)]
        if columns:
            values = ", ".join(f"{c} {_cell(row.get(c))} vs {_cell(row_again.get(c))}" for c in columns)
            return f"the evaluation at iteration {row.get('iteration')} (epoch {row.get('epoch')}) differs: {values}."
    if len(metrics) != len(metrics_again) and not (prefix and len(metrics) < len(metrics_again)):
        return f"the original has {len(metrics)} evaluations and the rerun {len(metrics_again)}."
    return None


def final_differences(final: dict, final_again: dict) -> list[str]:
    """One line per summary `final` metric that differs (null = not measured, equal to null)."""
    return [f"final {key} differs: {final.get(key)!r} vs {final_again.get(key)!r}."
            for key in dict.fromkeys([*final, *final_again]) if final.get(key) != final_again.get(key)]


def environment_changes(summary: dict, summary_again: dict) -> list[str]:
    """What the summaries record about the machine and source that differs, e.g. `versions.numpy 1.26.4 → 2.1.0`."""
    def environment(s: dict) -> dict:
        versions = s.get("versions") if isinstance(s.get("versions"), dict) else {}
        return {**{f"versions.{k}": v for k, v in versions.items()}, **{k: s.get(k) for k in ENVIRONMENT_KEYS}}

    before, after = environment(summary), environment(summary_again)
    return [f"{key} {_cell(before.get(key))} → {_cell(after.get(key))}"
            for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]


def _cell(value) -> str:
    return "(none)" if value in (None, "") else str(value)
