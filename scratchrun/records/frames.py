"""pandas DataFrames of run, study and search folders, for notebooks.

`load_runs` is the listing of `scratchrun runs --csv` with every config key and all six final metrics,
`load_history` the curves of steps.csv and metrics.csv in long format, `load_search` a search's trials.csv.
Everything is read through records.reader (the listing through records.table), so a frame holds what the CLI
shows. pandas is an extra (`scratchrun[pandas]`) that the CLI never needs: it is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from scratchrun.errors import ScratchrunError
from scratchrun.records import index as ix
from scratchrun.records import reader as rd
from scratchrun.records import table as tb
from scratchrun.records.layout import FINAL_METRICS

if TYPE_CHECKING:
    import pandas as pd

HISTORY_COLUMNS = ("run", "iteration", "epoch", "split", "metric", "value")
SPLITS = ("train", "val", "test")  # metrics.csv names its columns <split>_<metric>: train_loss, val_acc, ...
MINIBATCH = ("train", "minibatch_loss")  # steps.csv's loss: one training minibatch's, not the whole set's


def load_runs(path: str | PathLike, expand: bool = False) -> pd.DataFrame:
    """The rows of `scratchrun runs PATH --csv [--expand]`, with every config key and all six final metrics.

    `path` is a runs folder, a study or search folder (a row per run in it), or one run folder. Without `expand`,
    a study or search inside a runs folder is one row, as in the listing: its runs' shared config values (a
    `Mixed` tuple of the distinct ones where they differ, `MISSING` for a run without the key), their status
    counts, the final metrics of its best run by val acc and their total wall time. Columns: started, name,
    status, kind (run, study or search), runs, the flat dotted config keys, the final metrics, wall_time_s and
    folder (the path, as text). The config's own `name` is left out: it is the run folder's, which `name` shows.
    """
    pd = _pandas("load_runs")
    entries, table = _listing(Path(path), expand)
    found = {e.path: e for e in entries} | {run.path: run for run in ix.runs_of(entries)}
    keys = list(dict.fromkeys(key for run in ix.runs_of(entries) for key in run.config if key != "name"))
    columns = ["started", "name", "status", "kind", "runs", *keys, *FINAL_METRICS, "wall_time_s", "folder"]
    return pd.DataFrame.from_records([_record(row, found[row.path], keys) for row in table], columns=columns)


def _record(row: tb.Row, entry: ix.Entry, keys: list[str]) -> dict:
    group = isinstance(entry, ix.GroupInfo)
    best = tb.best_run(entry) if group else entry
    final = best.final if best else {}
    return {"started": row.time, "name": row.name, "status": row.status, "kind": entry.kind if group else "run",
            "runs": row.runs, **{key: row.config[key] for key in keys if key in row.config},
            **{metric: final.get(metric) for metric in FINAL_METRICS}, "wall_time_s": row.wall_time_s,
            "folder": str(row.path)}


def load_history(runs: str | PathLike | Iterable[str | PathLike] | pd.DataFrame) -> pd.DataFrame:
    """Every run's curves in long format: run, iteration, epoch, split, metric, value.

    steps.csv gives a row per minibatch with split `train` and metric `minibatch_loss`; metrics.csv a row per
    evaluation and measured metric, split `train` or `val` and metric `loss` or `acc` (a metric not measured,
    such as val without a validation set, has no row). `run` is the run folder's path as text, like load_runs'
    `folder`, to merge on. `runs` is a run, study, search or runs folder (all the runs in it), a list of them,
    or a DataFrame from load_runs (its `folder` column).
    """
    pd = _pandas("load_history")
    if isinstance(runs, pd.DataFrame):
        runs = runs["folder"]
    frames = [pd.DataFrame(columns=HISTORY_COLUMNS)]
    for folder in _run_folders([runs] if isinstance(runs, str | PathLike) else runs):
        steps = rd.read_steps(folder)  # (N, 3): iteration, epoch, loss
        frames.append(pd.DataFrame({"run": str(folder), "iteration": steps[:, 0].astype(int),
                                    "epoch": steps[:, 1].astype(int), "split": MINIBATCH[0],
                                    "metric": MINIBATCH[1], "value": steps[:, 2]}))
        frames.append(pd.DataFrame.from_records(_evaluations(folder), columns=HISTORY_COLUMNS))
    history = pd.concat([f for f in frames if len(f)] or frames, ignore_index=True)
    return history.astype({"iteration": "int64", "epoch": "int64", "value": "float64"})


def _evaluations(folder: Path) -> list[tuple]:
    """metrics.csv as (run, iteration, epoch, split, metric, value) rows."""
    rows = []
    for row in rd.metric_values(rd.read_metrics(folder)):
        if row.get("iteration") is None or row.get("epoch") is None:
            continue
        for key, value in row.items():
            split, _, metric = key.partition("_")
            if split in SPLITS and metric and value is not None:
                rows.append((str(folder), int(row["iteration"]), int(row["epoch"]), split, metric, value))
    return rows


def load_search(path: str | PathLike) -> pd.DataFrame:
    """A search folder's trials.csv: trial, round, the searched keys, status, the metric, epochs, seconds, run_dir.

    Typed as the reader reads it: numbers as numbers (None where a cell is empty), text as text.
    """
    pd = _pandas("load_search")
    path = Path(path)
    if ix.group_kind(path) != "search":
        raise ScratchrunError(f"{path} is not a search folder (it has no search.yaml or search.json).")
    return pd.DataFrame(rd.read_trials(path))


def _listing(path: Path, expand: bool) -> tuple[list[ix.Entry], list[tb.Row]]:
    """What `scratchrun runs PATH` reads and lists, in its default order (by time); one run folder lists itself."""
    entries = [ix.read_run(path)] if ix.is_run_folder(path) else ix.scan(path)
    keys = {key for run in ix.runs_of(entries) for key in run.config}
    return entries, tb.sort_rows(tb.rows(entries, expand), "time", keys)


def _run_folders(paths: Iterable[str | PathLike]) -> list[Path]:
    """Every run folder in the given folders, each once, in the order load_runs(..., expand=True) lists them."""
    folders: dict[Path, None] = {}
    for path in paths:
        folders.update(dict.fromkeys(row.path for row in _listing(Path(path), expand=True)[1]))
    return list(folders)


def _pandas(what: str):
    try:
        import pandas
    except ImportError:
        raise ScratchrunError(f"{what} needs pandas: pip install 'scratchrun[pandas]'.") from None
    return pandas
