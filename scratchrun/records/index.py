"""Run, study and search folders found and listed: a name resolved to its folder, a runs folder scanned, a run's status.

Shared by `runs`, `compare`, `show` and `reproduce`. Listing reads only summary.json (through `reader`) and
config.yaml (with libyaml's safe loader when there is one), so a thousand runs list quickly; numpy is never
imported here. The listing table built from these is in `records.table`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.processes import process_gone
from scratchrun.records.files import too_long
from scratchrun.records.host import host_name
from scratchrun.records.reader import missing_parts, read_annotations, read_run_config, read_summary

STALE_AFTER_S = 60.0  # a running record whose heartbeat (every 5 s, see writer.RunRecord) is older: its process died
# a file that makes a folder a study or a search folder
GROUP_FILES = (("study.yaml", "study"), ("search.yaml", "search"), ("search.json", "search"))
_LISTED = 10  # names shown in an error before "and N more"
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)_(.+)")


@dataclass(frozen=True)
class RunInfo:
    """One run folder as recorded; `status` is the recorded one, or `stale`, or `incomplete` or `unreadable` (see
    `problem`)."""

    path: Path
    status: str
    started: datetime | None
    config: dict[str, Any]  # flat dotted keys: {"optimizer.lr": 0.001, "model.hidden": [100, 100], ...}
    summary: dict[str, Any]
    group: str | None = None  # the study or search folder it belongs to
    problem: str | None = None  # why it is incomplete or unreadable, or why its config.yaml cannot be read
    tags: tuple[str, ...] = ()  # what a person added (records.annotations), never part of what was measured
    note: str | None = None

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
    """The run in `path` (a folder holding summary.json); a corrupt summary gives status `unreadable`, never an error,
    and a `completed` one whose folder lacks a file a completed run has (model.npz, the logs) `incomplete`."""
    started = stamp_time(path.name)
    config, problem = read_run_config(path)
    added = read_annotations(path)
    try:
        summary = read_summary(path)
    except ScratchrunError as e:
        return RunInfo(path, "unreadable", started, config, {}, group, str(e), added.tags, added.note)
    status = str(summary.get("status", "unreadable"))
    if status == "running" and _process_died(path, summary, now):
        status = "stale"
    if status == "completed" and (missing := missing_parts(path)):
        status, problem = "incomplete", "; ".join([*missing, *([problem] if problem else [])])
    return RunInfo(path, status, started or _parse_time(summary.get("started")), config, summary, group, problem,
                   added.tags, added.note)


def _process_died(path: Path, summary: dict, now: float | None) -> bool:
    """A running record's process is gone: its pid is dead on this host (the host it names), or, for a record
    of another host (or one without a host), its heartbeat has been silent for over a minute."""
    if summary.get("host") == host_name() and process_gone(summary.get("pid")):
        return True
    return _silent_for(path, summary, now) > STALE_AFTER_S


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
    if why := too_long(runs_dir):
        raise ScratchrunError(f"Runs folder {str(runs_dir)[:40]}… cannot be a folder: {why}.")
    if not runs_dir.is_dir():
        what = "is not a folder" if runs_dir.exists() else "does not exist"
        raise ScratchrunError(f"Runs folder {runs_dir} {what}: give the folder that holds the run folders (default: "
                              "runs).")
    entries: list[Entry] = []
    for path in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (path / "summary.json").is_file():
            entries.append(read_run(path, now=now))
        elif kind := group_kind(path):
            entries.append(read_group(path, kind, now))
    return entries


def named_entries(targets: Sequence[str], runs_dir: Path) -> list[Entry]:
    """The runs, studies and searches `targets` name (paths, or names in `runs_dir`; every one in `runs_dir` when
    none), each once: a run inside a study or search that is also named comes only with it, and a run named alone
    keeps its group's name in its label."""
    if not targets:
        return scan(runs_dir)
    entries: dict[Path, Entry] = {}
    for text in targets:
        path = resolve(text, runs_dir)
        kind = group_kind(path)
        if kind and not is_run_folder(path):
            entries[path.resolve()] = read_group(path, kind)
        else:
            entries[path.resolve()] = read_run(path, path.parent.name if group_kind(path.parent) else None)
    groups = {key for key, e in entries.items() if isinstance(e, GroupInfo)}
    return [e for key, e in entries.items() if isinstance(e, GroupInfo) or key.parent not in groups]


def runs_of(entries: Iterable[Entry]) -> list[RunInfo]:
    return [run for e in entries for run in (e.runs if isinstance(e, GroupInfo) else (e,))]


def is_run_folder(path: Path) -> bool:
    """A run folder: one with a summary.json, or a config.yaml (a run that has only just started)."""
    return path.is_dir() and ((path / "summary.json").is_file() or (path / "config.yaml").is_file())


def resolve(text: str, runs_dir: Path, runs_only: bool = False) -> Path:
    """A run folder (or a study or search folder, unless `runs_only`) given as a path, or by name inside `runs_dir`.

    A name is looked for in turn as a folder's name as it is (`<stamp>_x`, `<stamp>_study/run`, `run`), without
    its time stamp (`x`, `study/run`), then as a unique prefix of either. Only folders found in `runs_dir` (and
    one level down) answer, and no symbolic link out of it is followed, so no name leads outside it.
    """
    what = "run folder" if runs_only else "run, study or search folder"
    given = Path(text)
    if why := too_long(given):
        raise ConfigError(f"There is no {what} `{text[:40]}…`: {why}; give a run's name or path.")
    if is_run_folder(given) or (not runs_only and given.is_dir() and group_kind(given)):
        return given
    names = _named_folders(runs_dir, runs_only) if runs_dir.is_dir() else {}
    for found in ([p for p, (full, _) in names.items() if text in full],
                  [p for p, (_, short) in names.items() if text in short],
                  [p for p, (full, short) in names.items() if any(n.startswith(text) for n in full | short)]):
        groups = [p for p in found if p.parent.resolve() == runs_dir.resolve() and not is_run_folder(p)]
        if len(groups) == 1:  # a study or search and its own runs match: the name meant the folder
            found = [p for p in found if p == groups[0] or groups[0] not in p.parents]
        if len(found) == 1:
            return found[0]
        if found:
            listed = _listing([p.relative_to(runs_dir).as_posix() for p in found])
            raise ConfigError(f"`{text}` matches {len(found)} {'runs' if runs_only else 'folders'} in {runs_dir}: "
                              f"{listed}; give more of the name, or the path.")
    if given.is_dir():
        try:
            inside = _listing([p.as_posix() for p in _named_folders(given, runs_only=True)])
        except ScratchrunError:
            inside = ""
        files = "summary.json or config.yaml" if runs_only else "summary.json, config.yaml, study.yaml or search.yaml"
        raise ConfigError(f"{given} is not a {what} (it has no {files})"
                          + (f"; the runs inside it are {inside}." if inside else "."))
    if not runs_dir.is_dir():
        raise ConfigError(f"There is no {what} {text}, and the runs folder {runs_dir} to look it up in does not exist: "
                          f"give a {what}'s path, or --runs-dir with the folder that holds your runs.")
    latest = _listing([p.relative_to(runs_dir).as_posix() for p in names][-_LISTED:])
    raise ConfigError(f"`{text}` matches no {what} in {runs_dir}"
                      + (f"; the latest are {latest} (`scratchrun runs {runs_dir}` lists them all)." if names
                         else ", which holds none."))


def _named_folders(folder: Path, runs_only: bool) -> dict[Path, tuple[set[str], set[str]]]:
    """The folders a name can reach, each with its names as they are and without time stamps.

    The runs in `folder` (and its studies and searches, unless `runs_only`), and the runs one folder down:
    `<stamp>_study/run` and `run`, or `study/run` without the stamp. A symbolic link out of `folder` is skipped.
    """
    root = folder.resolve()
    names: dict[Path, tuple[set[str], set[str]]] = {}
    try:
        for path in sorted(p for p in folder.iterdir() if p.is_dir() and p.resolve().is_relative_to(root)):
            top = strip_stamp(path.name)
            if is_run_folder(path):
                names[path] = ({path.name}, {top})
                continue
            if not runs_only and group_kind(path):
                names[path] = ({path.name}, {top})
            for run in sorted(p for p in path.iterdir() if is_run_folder(p) and p.resolve().is_relative_to(root)):
                names[run] = ({f"{path.name}/{run.name}", run.name}, {f"{top}/{run.name}", strip_stamp(run.name)})
    except OSError as e:
        raise ScratchrunError(f"The runs folder {folder} cannot be read ({e.strerror or e}).") from None
    return names


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


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


