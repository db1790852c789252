"""The listing table of `scratchrun runs` and `compare`: rows of runs and studies, filters, sorting, the keys that
differ.

Built on what `records.index` reads; a study or search row sums up its runs (`Mixed` where their config values differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from scratchrun.config.bounded_yaml import parse_bounded
from scratchrun.errors import ConfigError
from scratchrun.numbers import is_number
from scratchrun.records.index import Entry, GroupInfo, RunInfo, runs_of, strip_stamp
from scratchrun.records.status import counts_text

LIST_COLUMNS = ("time", "name", "status", "runs", "val_acc", "test_acc", "wall_time_s")


class Mixed(tuple):
    """The distinct values one config key takes across a study's runs (`MISSING` where some runs lack the key)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class Row:
    """A line of `scratchrun runs`: a run, or a study/search folder summing up its runs."""

    path: Path
    time: datetime | None
    name: str
    status: str
    runs: int
    config: dict[str, Any]
    val_acc: float | None
    test_acc: float | None
    wall_time_s: float | None

    def value(self, key: str):
        return getattr(self, key) if key in LIST_COLUMNS else self.config.get(key)


def run_row(run: RunInfo) -> Row:
    name = "/".join(strip_stamp(part) for part in run.label.split("/"))  # the time column shows the stamp
    return Row(run.path, run.started, name, run.status, 1, run.config, run.final.get("val_acc"),
               run.final.get("test_acc"), run.wall_time_s)


def group_row(group: GroupInfo) -> Row:
    """The group's shared config values (Mixed where its runs differ), its best run by val acc, its total time."""
    config = {}
    for key in _keys(r.config for r in group.runs):
        values = _distinct([r.config.get(key, MISSING) for r in group.runs if r.config])
        config[key] = values[0] if len(values) == 1 else Mixed(values)
    best = best_run(group)
    times = [r.wall_time_s for r in group.runs if r.wall_time_s is not None]
    return Row(group.path, group.started, strip_stamp(group.name), counts_text(r.status for r in group.runs),
               len(group.runs), config,
               best.final.get("val_acc") if best else None, best.final.get("test_acc") if best else None,
               round(sum(times), 3) if times else None)


def best_run(group: GroupInfo) -> RunInfo | None:
    """The run with the highest final val acc: the one a group's row shows the metrics of."""
    scored = [r for r in group.runs if r.final.get("val_acc") is not None]
    return max(scored, key=lambda r: r.final["val_acc"], default=None)


def rows(entries: Sequence[Entry], expand: bool = False) -> list[Row]:
    """One row per run and per study/search folder, or per run everywhere with `expand`."""
    if expand:
        return [run_row(run) for run in runs_of(entries)]
    return [group_row(e) if isinstance(e, GroupInfo) else run_row(e) for e in entries]


def parse_where(items: Sequence[str], valid: Iterable[str]) -> list[tuple[str, Any]]:
    """`KEY=VALUE` filters, the value parsed as YAML; the key must be `status`, `tag` or a config key of some run."""
    valid = sorted(set(valid) | {"status", "tag"})
    filters = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in valid:
            problem = "is malformed: write KEY=VALUE" if not sep or not key else f"names an unknown key `{key}`"
            raise ConfigError(f"--where `{item}` {problem}; keys: {', '.join(valid)}.")
        try:
            filters.append((key, parse_bounded(text, f"--where `{item}`")[0] if text.strip() else None))
        except yaml.YAMLError:
            raise ConfigError(f"--where `{item}`: the value is not valid YAML.") from None
    return filters


def matches(run: RunInfo, filters: Sequence[tuple[str, Any]], status: str | None = None) -> bool:
    if status is not None and run.status != status:
        return False
    for key, wanted in filters:
        if key == "status":
            if run.status != str(wanted):
                return False
        elif key == "tag":
            if str(wanted) not in run.tags:
                return False
        elif key not in run.config or not _equal(run.config[key], wanted):
            return False
    return True


def select(entries: Sequence[Entry], filters: Sequence[tuple[str, Any]], status: str | None = None) -> list[Entry]:
    """The runs that match; a study or search keeps only its matching runs and is dropped when none do."""
    if not filters and status is None:
        return list(entries)
    kept: list[Entry] = []
    for entry in entries:
        if isinstance(entry, GroupInfo):
            runs = tuple(r for r in entry.runs if matches(r, filters, status))
            if runs:
                kept.append(GroupInfo(entry.path, entry.kind, runs, entry.started))
        elif matches(entry, filters, status):
            kept.append(entry)
    return kept


def sort_rows(table: Sequence[Row], key: str, valid: Iterable[str]) -> list[Row]:
    """Sorted by a column or config key (`-KEY`: descending); rows without a value go last either way."""
    name = key.removeprefix("-").replace(" ", "_")
    name = "wall_time_s" if name == "wall_time" else name
    valid = [*LIST_COLUMNS, *sorted(set(valid) - set(LIST_COLUMNS))]
    if name not in valid:
        raise ConfigError(f"--sort `{key}` is not a column or config key; keys: {', '.join(valid)} (prefix - to "
                          "reverse).")
    by_name = sorted(table, key=lambda row: row.name)
    present = [row for row in by_name if _sortable(row.value(name)) is not None]
    missing = [row for row in by_name if _sortable(row.value(name)) is None]
    return sorted(present, key=lambda row: _sortable(row.value(name)), reverse=key.startswith("-")) + missing


def differing_keys(configs: Sequence[Mapping[str, Any]], exclude: Iterable[str] = ("name",)) -> list[str]:
    """The config keys whose values are not all the same (a missing key counts as a value; an empty config does not)."""
    configs = [c for c in configs if c]
    out = []
    for key in _keys(configs):
        values = [c.get(key, MISSING) for c in configs]
        if key not in exclude and (len(_distinct(values)) > 1 or any(isinstance(v, Mixed) for v in values)):
            out.append(key)
    return out


def _keys(configs: Iterable[Mapping]) -> list[str]:
    return list(dict.fromkeys(key for c in configs for key in c))


def _distinct(values: Sequence) -> list:
    seen = {}
    for v in values:
        seen.setdefault(repr(v), v)
    return list(seen.values())


def _equal(value, wanted) -> bool:
    """YAML reads `1e-3` as text: compared with a number, text that is a number counts as one; true is not 1."""
    if isinstance(wanted, str) and is_number(value):
        try:
            wanted = float(wanted)
        except ValueError:
            return False
    return isinstance(value, bool) == isinstance(wanted, bool) and value == wanted


def _sortable(value):
    """Numbers before text before anything else; None and Mixed have no place (they go last)."""
    if value is None or isinstance(value, Mixed):
        return None
    if isinstance(value, datetime):
        return (0, value.timestamp(), "")
    if is_number(value):
        return (0, value, "")
    return (1, 0, value if isinstance(value, str) else repr(value))
