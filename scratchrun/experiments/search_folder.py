"""The search folder's own files: search.yaml (what was asked), trials.csv, ranges.csv, search.json, best.yaml, figures.

Each trial's run folder is written by the run itself and journal.jsonl by the rounds (search_rounds.py); this
module writes the tables drawn from them, and checks that a resumed search is the one that was started.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.numbers import is_number
from scratchrun.records.layout import SEARCH_JSON, SEARCH_YAML
from scratchrun.records.reader import read_search_yaml, read_trials
from scratchrun.records.status import count


def write_search_yaml(folder: Path, saved: dict) -> None:
    """The effective search section and base config, compared on --resume."""
    from scratchrun.records.files import write_text_atomic

    write_text_atomic(folder / SEARCH_YAML, yaml.safe_dump(saved, sort_keys=False))


def read_plan(folder: Path):
    """The search's plan (its `search:` section, a SearchConfig) as its search.yaml saved it."""
    from scratchrun.config.search import parse_search

    path = folder / SEARCH_YAML
    try:
        return parse_search(read_search_yaml(folder)["search"], str(path), known_key=lambda key: True)
    except FileNotFoundError:
        raise ConfigError(f"{folder} has no {SEARCH_YAML}: give a folder scratchrun search wrote.") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} cannot be read as a search's plan ({type(e).__name__}: {e}).") from None


def read_search_trials(folder: Path, plan=None) -> list[dict]:
    """trials.csv checked against the search's space (`plan`, else its search.yaml's): each sampled value a number in
    its range or one of its choices, and at most MAX_RUNS rows; else one sentence naming the trial, key and value."""
    from scratchrun.experiments.specs import MAX_RUNS

    plan = plan or read_plan(folder)
    path = folder / "trials.csv"
    rows = read_trials(folder, limit=MAX_RUNS)
    for row in rows:
        for dim in plan.space:
            value = row.get(dim.key)
            if dim.kind == "choice":
                fits = str(value) in {str(c) for c in dim.choices}
                allowed = f"one of {', '.join(map(str, dim.choices))}"
            else:
                number = is_number(value)
                fits, allowed = number and dim.low <= value <= dim.high, f"a number from {dim.low:g} to {dim.high:g}"
            if not fits:
                raise ScratchrunError(f"{path}, trial {row['trial']}: `{dim.key}` is {value!r}; allowed: {allowed} "
                                      f"(the search's space in {SEARCH_YAML}). The file was damaged or written by "
                                      "something else.")
    return rows


def check_resumable(folder: Path, saved: dict) -> None:
    """A search resumes only with the same search section and base config; otherwise show what differs."""
    path = folder / SEARCH_YAML
    try:
        before = read_search_yaml(folder)
    except FileNotFoundError:
        raise ConfigError(f"--resume {folder}: there is no {SEARCH_YAML} in it; give a folder made by scratchrun "
                          "search.") from None
    except ScratchrunError as e:
        raise ConfigError(f"--resume {folder}: {e}") from None
    if before != saved:
        old = yaml.safe_dump(before, sort_keys=False).splitlines()
        new = yaml.safe_dump(saved, sort_keys=False).splitlines()
        diff = "\n".join(difflib.unified_diff(old, new, f"{path} (the search so far)", "this command", lineterm="",
                                              n=1))
        raise ConfigError(f"--resume {folder}: the search section or base config differs from the one it was started "
                          f"with, so its trials would not be comparable; run it with the same config, or start a new "
                          f"search.\n{diff}")


def write_search_tables(run, best_config, final: dict | None, command: str) -> None:
    """trials.csv, ranges.csv, search.json, best.yaml and the figures, from whatever has finished; a write that fails
    is one sentence (the trials stay in the journal, and --resume writes the tables again)."""
    from scratchrun.records.files import folder_writes

    with folder_writes(run.folder, f"the trials are recorded in its journal.jsonl; --resume {run.folder} writes the "
                                   "tables again."):
        _write_search_tables(run, best_config, final, command)


def _write_search_tables(run, best_config, final: dict | None, command: str) -> None:
    from scratchrun.config.loader import dump_yaml
    from scratchrun.experiments.sampling import best_trials
    from scratchrun.plots.search import search_figure, top_figure
    from scratchrun.records.files import write_csv, write_json_atomic, write_text_atomic
    from scratchrun.records.layout import trial_columns

    rows, plan = run.sorted_rows(), run.plan
    write_csv(run.folder / "trials.csv", rows, trial_columns(run.keys, plan.metric))
    write_csv(run.folder / "ranges.csv", run.ranges, ["round", *run.keys])
    if best_config is not None:
        write_text_atomic(run.folder / "best.yaml", dump_yaml(best_config))
    best = run.best_row()
    write_json_atomic(run.folder / SEARCH_JSON, {
        "command": command,
        "metric": plan.metric,
        "trials": count(row["status"] for row in rows),
        "best": None if best is None else {"trial": best["trial"], plan.metric: best[plan.metric],
                                           **{k: best[k] for k in run.keys}, "run_dir": best["run_dir"]},
        "final_test": final,  # apart from the search's scores: the only place the test set was read
    })
    if rows:
        search_figure(run.folder / "search.png", rows, plan)
        top_figure(run.folder / "top.png", run.folder, best_trials(rows, plan.metric, 20), plan.metric)
