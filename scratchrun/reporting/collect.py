"""A report's content: the run table, every run's curves, and each study's and search's figures, gathered from
the folders `scratchrun runs` lists (`content` reads a run, `figures` draws a group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.numbers import finite_or_none
from scratchrun.plots.curves import run_curves
from scratchrun.records import index as ix
from scratchrun.records import table as tb
from scratchrun.records.status import counts_text
from scratchrun.reporting.content import FINAL_KEYS, Group, curves_json, plain
from scratchrun.reporting.figures import search_figures, study_figures


@dataclass
class ReportContent:
    """Everything the page draws, in the order it draws it."""

    runs_dir: Path
    columns: list[dict]
    runs: list[dict]
    curves: list[dict]
    groups: list[Group]

    def counts(self) -> str:
        """E.g. `172 runs (106 completed, 66 pruned) in 2 searches and 1 study`."""
        listed = counts_text(run["status"] for run in self.runs)
        plural = {"study": "studies", "search": "searches"}
        kinds = [(kind, sum(g.info.kind == kind for g in self.groups)) for kind in ("study", "search")]
        within = " and ".join(f"{n} {kind if n == 1 else plural[kind]}" for kind, n in kinds if n)
        runs = f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''} ({listed})"
        return runs + (f" in {within}" if within else "")


def gather(targets: Sequence[str], runs_dir: Path) -> ReportContent:
    """The report of `targets` (run, study or search folders, by path or by name in `runs_dir`), or of every run in
    `runs_dir` when none is given."""
    entries = ix.named_entries(targets, runs_dir)
    runs = ix.runs_of(entries)
    if not runs:
        raise ConfigError(f"There are no runs to report in {', '.join(targets) if targets else runs_dir}: train one "
                          "first, or give the folders that hold them.")
    by_path = {run.path: run for run in runs}
    keys = {key for run in runs for key in run.config}
    table = tb.sort_rows(tb.rows(entries, expand=True), "time", keys)
    differing = tb.differing_keys([row.config for row in table])
    ids = {row.path: i for i, row in enumerate(table)}
    curves = [run_curves(row.path) for row in table]
    groups = [Group(e, [ids[r.path] for r in e.runs]) for e in entries if isinstance(e, ix.GroupInfo)]
    group_of = {run_id: g for g, group in enumerate(groups) for run_id in group.runs}
    for group in groups:
        group_curves = {by_path[table[i].path].name: curves[i] for i in group.runs}
        try:
            if group.info.kind == "study":
                study_figures(group, group_curves)
            else:
                search_figures(group, group_curves)
        except ScratchrunError as e:  # a damaged study.yaml or trials.csv: its runs are still in the table
            group.problem = str(e)
    return ReportContent(
        runs_dir,
        _columns(differing),
        [_run_row(i, row, by_path[row.path], differing, group_of.get(i), runs_dir) for i, row in enumerate(table)],
        [curves_json(c) for c in curves],
        groups,
    )


def _columns(differing: list[str]) -> list[dict]:
    """The table's columns: those of `scratchrun runs`, the final train accuracy, tags and note."""
    named = [("time", "time", "text"), ("name", "run", "text"), ("status", "status", "text"),
             *((key, key, "config") for key in differing),
             ("train_acc", "train acc", "percent"), ("val_acc", "val acc", "percent"),
             ("test_acc", "test acc", "percent"),
             ("wall_time_s", "wall time", "duration"), ("tags", "tags", "tags"), ("note", "note", "note")]
    return [{"key": key, "label": label, "kind": kind} for key, label, kind in named]


def _run_row(index: int, row: tb.Row, run: ix.RunInfo, differing: list[str], group: int | None, runs_dir: Path) -> dict:
    try:
        folder = run.path.resolve().relative_to(runs_dir.resolve()).as_posix()
    except ValueError:  # a run given by a path outside the runs folder
        folder = str(run.path)
    return {
        "id": index, "name": row.name, "folder": folder, "group": group, "status": run.status,
        "time": row.time.strftime("%Y-%m-%d %H:%M") if row.time else None,
        "config": {key: plain(run.config[key]) for key in differing if key in run.config},
        **{key: finite_or_none(run.final.get(key)) for key in FINAL_KEYS},
        "wall_time_s": finite_or_none(run.wall_time_s), "tags": list(run.tags), "note": run.note,
        "details": {key: plain(value) for key, value in run.config.items()},
        "problem": run.problem,
    }
