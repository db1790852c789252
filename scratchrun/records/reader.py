"""The one reader of the record files: a run's summary.json, steps.csv and metrics.csv, a study's results.csv and
a search's trials.csv. Every command and library module reads them through these functions.

A damaged file is a ScratchrunError that names it. steps.csv and metrics.csv are read for one run at a time, and
numpy is imported only then, so that listing (`records.index`) stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from scratchrun.errors import ScratchrunError


def read_summary(run: Path) -> dict:
    """summary.json as a dict; a missing or unreadable one is an error that names the file."""
    path = run / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScratchrunError(f"{path} does not exist: the run folder is incomplete.") from None
    except (OSError, ValueError) as e:  # ValueError: not UTF-8, or not JSON
        raise ScratchrunError(f"{path} cannot be read ({e}).") from None
    if not isinstance(summary, dict):
        raise ScratchrunError(f"{path} does not hold a JSON object.")
    return _checked(summary, path)


NUMBER_KEYS = ("wall_time_s", "train_time_s", "best_val_acc", "best_epoch", "epochs", "iterations", "samples_per_s",
               "train_samples", "val_samples", "test_samples")
TEXT_KEYS = ("status", "message", "started", "heartbeat", "blas", "git_commit")


def _checked(summary: dict, path: Path) -> dict:
    """A summary every reader can format without checking: numbers or null where numbers belong (a NaN or an
    infinity becomes null, as the writer stores them), text or null where text belongs; anything else is named."""
    def bad(key: str, value, allowed: str) -> ScratchrunError:
        return ScratchrunError(f"{path}: `{key}` is {json.dumps(value)[:60]}, which a run summary never holds there; "
                               f"allowed: {allowed}. The file was damaged or written by something else.")

    def number(key: str, value):
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return value if value is None or math.isfinite(value) else None
        raise bad(key, value, "a number or null")

    clean = dict(summary)
    for key in NUMBER_KEYS:
        clean[key] = number(key, summary.get(key))
    for key in TEXT_KEYS:
        if summary.get(key) is not None and not isinstance(summary[key], str):
            raise bad(key, summary[key], "text or null")
    final = summary.get("final")
    if final is not None and not isinstance(final, dict):
        raise bad("final", final, "a mapping of metrics, or null")
    clean["final"] = None if final is None else {k: number(f"final.{k}", v) for k, v in final.items()}
    for key in ("versions",):
        if summary.get(key) is not None and not isinstance(summary[key], dict):
            raise bad(key, summary[key], "a mapping or null")
    return clean


def read_steps(run: Path):
    """steps.csv as an (N, 3) float array of iteration, epoch, loss (nan/inf kept); a half-written last line is left out."""
    import numpy as np

    path = run / "steps.csv"
    text = _complete_lines(path)
    if text.count("\n") < 2:  # no file, or the header alone
        return np.empty((0, 3))
    try:
        return np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2)
    except ValueError as e:
        raise ScratchrunError(f"{path} is not a steps table of iteration, epoch, loss ({e}).") from None


def read_metrics(run: Path) -> list[dict[str, str]]:
    """metrics.csv as rows of text, exactly as written (an empty cell is a metric that was not measured).

    Text, so that a rerun can be compared to the letter; `metric_values` turns the rows into numbers.
    """
    return list(csv.DictReader(io.StringIO(_complete_lines(run / "metrics.csv"), newline="")))


def metric_values(rows: Iterable[Mapping[str, str | None]]) -> list[dict[str, float | None]]:
    """metrics.csv rows as numbers, None where a metric was not measured; a row with a cell that is no number is left out."""
    values = []
    for row in rows:
        try:
            values.append({key: None if text in (None, "") else float(text) for key, text in row.items()})
        except (TypeError, ValueError):  # TypeError: more cells than columns (csv files them under None, as a list)
            continue
    return values


def _complete_lines(path: Path) -> str:
    """A CSV file's text up to its last line end (a running or killed run may be in the middle of a line); '' if none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise ScratchrunError(f"{path} cannot be read ({e}).") from None
    return text[: text.rfind("\n") + 1]
