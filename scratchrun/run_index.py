"""Run, study and search folders read back: status (stale included), flat config, final metrics, listing rows.

The reading half of runs.py, shared by `runs`, `compare`, `show` and `reproduce`. Listing reads only
summary.json and config.yaml (with libyaml's safe loader when there is one), so a thousand runs list quickly.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ScratchrunError

STALE_AFTER_S = 60.0  # a running record whose heartbeat (every 5 s, see runs.RunRecord) is older: its process died
GROUP_FILES = (("study.yaml", "study"), ("search.yaml", "search"))  # the file that makes a folder a study or a search
KNOWN_STATUSES = ("running", "completed", "diverged", "interrupted", "failed", "pruned", "stale", "unreadable")  # runs.STATUSES + ours
LIST_COLUMNS = ("time", "name", "status", "runs", "val_acc", "test_acc", "wall_time_s")
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)_(.+)")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # still the safe loader, in C: YAML parsing dominates listing


@dataclass(frozen=True)
class RunInfo:
    """One run folder as recorded; `status` is the recorded one, or `stale`, or `unreadable` (see `problem`)."""

    path: Path
    status: str
    started: datetime | None
    config: dict[str, Any]  # flat dotted keys: {"optimizer.lr": 0.001, "model.hidden": [100, 100], ...}
    summary: dict[str, Any]
    group: str | None = None  # the study or search folder it belongs to
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}" if self.group else self.name

    @property
    def final(self) -> dict[str, Any]:
        return self.summary.get("final") or {}

    @property
    def wall_time_s(self) -> float | None:
        return self.summary.get("wall_time_s")


@dataclass(frozen=True)
class GroupInfo:
    """A study or search folder and the runs in it."""

    path: Path
    kind: str  # study | search
    runs: tuple[RunInfo, ...]
    started: datetime | None

    @property
    def name(self) -> str:
        return self.path.name

    label = name


Entry = RunInfo | GroupInfo


def read_run(path: Path, group: str | None = None, now: float | None = None) -> RunInfo:
    """The run in `path` (a folder holding summary.json); a corrupt summary gives status `unreadable`, never an error."""
    started = stamp_time(path.name)
    config, problem = _read_config(path / "config.yaml")
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        if not isinstance(summary, dict) or not _well_formed(summary):
            raise TypeError("not a run summary (an object with numbers where numbers belong)")
    except (OSError, ValueError, TypeError) as e:
        return RunInfo(path, "unreadable", started, config, {}, group, f"summary.json: {e}")
    status = str(summary.get("status", "unreadable"))
    if status == "running" and _silent_for(path, summary, now) > STALE_AFTER_S:
        status = "stale"
    return RunInfo(path, status, started or _parse_time(summary.get("started")), config, summary, group, problem)


def _well_formed(summary: dict) -> bool:
    """Metrics are numbers or null, so that every reader can format them without checking."""
    final = summary.get("final") or {}
    values = [summary.get(k) for k in ("wall_time_s", "best_val_acc", "best_epoch", "epochs", "samples_per_s")]
    values += list(final.values()) if isinstance(final, dict) else [final]
    return all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values)


def _read_config(path: Path) -> tuple[dict[str, Any], str | None]:
    """The flat config and, when it cannot be read, why (the config is then empty)."""
    try:
        return flatten(yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}), None
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, yaml.YAMLError, AttributeError) as e:  # AttributeError: YAML that is not a mapping
        return {}, f"config.yaml: {type(e).__name__}: {e}"


def _silent_for(path: Path, summary: dict, now: float | None) -> float:
    """Seconds since the heartbeat (records without one: since summary.json was last written)."""
    try:
        last = datetime.fromisoformat(summary["heartbeat"]).timestamp()  # UTC with its zone, see RunRecord
    except (KeyError, TypeError, ValueError):
        try:
            last = (path / "summary.json").stat().st_mtime
        except OSError:
            return 0.0
    return (time.time() if now is None else now) - last


def read_group(path: Path, kind: str, now: float | None = None) -> GroupInfo:
    """A study or search folder: its run folders (those with a summary.json), by name."""
    runs = tuple(read_run(p, path.name, now) for p in sorted(path.iterdir()) if (p / "summary.json").is_file())
    return GroupInfo(path, kind, runs, stamp_time(path.name))


def group_kind(path: Path) -> str | None:
    return next((kind for file, kind in GROUP_FILES if (path / file).is_file()), None)


def scan(runs_dir: Path, now: float | None = None) -> list[Entry]:
    """Every run and study/search folder in `runs_dir`, by folder name; other folders are skipped."""
    if not runs_dir.is_dir():
        what = "is not a folder" if runs_dir.exists() else "does not exist"
        raise ScratchrunError(f"Runs folder {runs_dir} {what}: give the folder that holds the run folders (default: runs).")
    entries: list[Entry] = []
    for path in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (path / "summary.json").is_file():
            entries.append(read_run(path, now=now))
        elif kind := group_kind(path):
            entries.append(read_group(path, kind, now))
    return entries


def runs_of(entries: Iterable[Entry]) -> list[RunInfo]:
    return [run for e in entries for run in (e.runs if isinstance(e, GroupInfo) else (e,))]


def resolve(text: str, runs_dir: Path) -> Path:
    """A run, study or search folder given as a path, or as a unique name or prefix of one inside `runs_dir`.

    Names are matched against the folders found in `runs_dir` (with or without their time stamp, and as
    `study/run` for a study's runs), so no name leads outside it.
    """
    path = Path(text)
    if path.is_dir() and ((path / "summary.json").is_file() or group_kind(path)):
        return path
    if not runs_dir.is_dir():
        raise ConfigError(f"`{text}` is not a run folder, and the runs folder {runs_dir} to look it up in does not exist; "
                          "give a run folder's path or --runs-dir.")
    names = _named_folders(runs_dir)
    for matches in ([p for p, aliases in names.items() if text in aliases],
                    [p for p, aliases in names.items() if any(a.startswith(text) for a in aliases)]):
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(str(p.relative_to(runs_dir)) for p in matches[:10]) + (", ..." if len(matches) > 10 else "")
            raise ConfigError(f"`{text}` matches {len(matches)} folders in {runs_dir} ({shown}); give a longer name or the path.")
    raise ConfigError(f"`{text}` matches no run, study or search folder in {runs_dir}; "
                      f"`scratchrun runs {runs_dir}` lists them.")


def _named_folders(runs_dir: Path) -> dict[Path, set[str]]:
    """Each run/study/search folder with the names it answers to: `<stamp>_x`, `x`, `<stamp>_study/run`, `study/run`."""
    names = {}
    for path in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        top = {path.name, strip_stamp(path.name)}
        if (path / "summary.json").is_file():
            names[path] = top
        elif group_kind(path):
            names[path] = top
            for run in sorted(p for p in path.iterdir() if (p / "summary.json").is_file()):
                names[run] = {f"{t}/{run.name}" for t in top} | {run.name}
    return names


def stamp_time(name: str) -> datetime | None:
    """The time in a `YYYY-MM-DD_HH-MM-SS_name` folder name."""
    match = _STAMP.fullmatch(name)
    try:
        return datetime.strptime(match.group(1), "%Y-%m-%d_%H-%M-%S") if match else None
    except ValueError:
        return None


def strip_stamp(name: str) -> str:
    match = _STAMP.fullmatch(name)
    return match.group(2) if match else name


def _parse_time(text) -> datetime | None:
    """An ISO time; one with a zone becomes local time without one, like `started`."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def flatten(mapping: Mapping, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one dict of dotted keys; lists stay values (`model.hidden: [100, 100]`)."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def status_counts(runs: Sequence[RunInfo]) -> str:
    """E.g. `12 completed, 3 pruned`, most frequent first."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))) or "no runs"


def read_steps(path: Path) -> tuple[list[int], list[float]]:
    """steps.csv: (iterations, minibatch losses), nan/inf kept; a half-written last line (a killed run) is skipped."""
    iterations, losses = [], []
    for row in _csv_rows(path / "steps.csv"):
        try:
            iteration, loss = int(row["iteration"]), float(row["loss"])
        except (KeyError, TypeError, ValueError):
            continue
        iterations.append(iteration)
        losses.append(loss)
    return iterations, losses


def read_metrics(path: Path) -> list[dict[str, float | None]]:
    """metrics.csv: one dict per evaluation, empty cells as None; rows that do not parse are skipped."""
    metrics = []
    for row in _csv_rows(path / "metrics.csv"):
        try:
            metrics.append({k: None if v == "" else float(v) for k, v in row.items()})
        except (TypeError, ValueError):
            continue
    return metrics


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- listing rows
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
    best = max((r for r in group.runs if r.final.get("val_acc") is not None), key=lambda r: r.final["val_acc"], default=None)
    times = [r.wall_time_s for r in group.runs if r.wall_time_s is not None]
    return Row(group.path, group.started, strip_stamp(group.name), status_counts(group.runs), len(group.runs), config,
               best.final.get("val_acc") if best else None, best.final.get("test_acc") if best else None,
               round(sum(times), 3) if times else None)


def rows(entries: Sequence[Entry], expand: bool = False) -> list[Row]:
    """One row per run and per study/search folder, or per run everywhere with `expand`."""
    if expand:
        return [run_row(run) for run in runs_of(entries)]
    return [group_row(e) if isinstance(e, GroupInfo) else run_row(e) for e in entries]


def parse_where(items: Sequence[str], valid: Iterable[str]) -> list[tuple[str, Any]]:
    """`KEY=VALUE` filters, the value parsed as YAML; the key must be `status` or a config key of some run."""
    valid = sorted(set(valid) | {"status"})
    filters = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in valid:
            problem = "is malformed: write KEY=VALUE" if not sep or not key else f"names an unknown key `{key}`"
            raise ConfigError(f"--where `{item}` {problem}; keys: {', '.join(valid)}.")
        try:
            filters.append((key, yaml.safe_load(text) if text.strip() else None))
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
        raise ConfigError(f"--sort `{key}` is not a column or config key; keys: {', '.join(valid)} (prefix - to reverse).")
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
    if isinstance(wanted, str) and isinstance(value, int | float) and not isinstance(value, bool):
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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, value if isinstance(value, str) else repr(value))
