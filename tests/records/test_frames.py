"""load_runs, load_history and load_search agree, value for value, with `scratchrun runs --csv` and the CSV files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from idx_fixtures import write_tiny_dataset
from typer.testing import CliRunner

import scratchrun
from scratchrun.cli.app import app
from scratchrun.cli.runs import _show
from scratchrun.data.registry import DATASETS
from scratchrun.errors import ScratchrunError
from scratchrun.records.frames import load_history, load_runs, load_search
from scratchrun.records.table import MISSING, Mixed

CONFIG = ("name: base\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
          "train: {epochs: 2, batch_size: 32}\n")
SEARCH = CONFIG + """search:
  trials: 3
  rounds: 1
  space:
    optimizer.lr: {log_uniform: [1.0e-3, 0.1]}
    model.batch_norm: {choice: [true, false]}
"""


def invoke(*args, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A runs folder of real tiny runs: two trained, one diverged, a two-run sweep and a three-trial search."""
    root = tmp_path_factory.mktemp("frames")
    (root / "base.yaml").write_text(CONFIG)
    (root / "search.yaml").write_text(SEARCH)
    runs_dir = root / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(DATASETS, "tiny", write_tiny_dataset(root / "data", "tiny", n_train=300, n_test=60))
        mp.setenv("SCRATCHRUN_DATA_DIR", str(root / "data"))
        mp.setenv("SCRATCHRUN_CACHE_DIR", str(root / "cache"))
        for name, optimizer, lr, code in [("sgd", "sgd", "0.1", 0), ("adam", "adam", "0.01", 0),
                                          ("boom", "momentum", "1.0e+30", 3)]:
            invoke("train", root / "base.yaml", f"optimizer.name={optimizer}", f"optimizer.lr={lr}", "--name", name,
                   "--runs-dir", runs_dir, "--quiet", code=code)
        invoke("sweep", root / "base.yaml", "optimizer.name=sgd,adam", "--jobs", "1", "--runs-dir", runs_dir)
        invoke("search", root / "search.yaml", "--jobs", "1", "--runs-dir", runs_dir)
    return runs_dir


def group(runs_dir: Path, kind: str) -> Path:
    return next(p for p in runs_dir.iterdir() if (p / f"{kind}.yaml").is_file())


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def same(text: str, value) -> bool:
    """A frame's value is the one the CSV printed: numbers exactly (a float's text round-trips), the rest as text."""
    try:
        return float(text) == float(value)
    except (TypeError, ValueError):
        pass
    if text == "":
        return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    if isinstance(value, pd.Timestamp):
        return text == value.isoformat()
    return text == (_show(value) if isinstance(value, Mixed | list) else str(value))


def assert_agrees(frame: pd.DataFrame, rows: list[dict[str, str]]) -> None:
    columns = {"time": "started", "path": "folder"}  # the CSV's names for two of the frame's columns
    assert list(frame["folder"]) == [r["path"] for r in rows]  # the same rows, in the same order
    for i, row in enumerate(rows):
        for column, text in row.items():
            value = frame[columns.get(column, column)].iloc[i]
            assert same(text, value), f"{row['name']}: {column} is {text!r} in the CSV but {value!r} in the frame"


# ----------------------------------------------------------------------------- load_runs
@pytest.mark.parametrize("expand", [False, True])
def test_load_runs_gives_the_rows_and_values_of_runs_csv(made, expand):
    frame = load_runs(made, expand=expand)
    rows = read_csv(invoke("runs", made, "--csv", *(["--expand"] if expand else [])))
    assert_agrees(frame, rows)
    names = list(frame["name"])
    if expand:
        assert len(names) == 3 + 2 + 3 and "sweep-base/sgd-seed0" in names and set(frame["runs"]) == {1}
    else:
        assert sorted(zip(names, frame["kind"], frame["runs"])) == [
            ("adam", "run", 1), ("boom", "run", 1), ("search-base", "search", 3), ("sgd", "run", 1),
            ("sweep-base", "study", 2)]


def test_load_runs_has_every_config_key_and_all_final_metrics(made):
    frame = load_runs(made, expand=True)
    csv_columns = set(read_csv(invoke("runs", made, "--csv", "--expand"))[0])
    assert {"model.activation", "data.val_fraction", "train.batch_size"} <= set(frame.columns) - csv_columns
    assert "name" in frame.columns and (frame["name"] != "base").all()  # the run's name, not the config's
    run = frame.set_index("name").loc["adam"]
    final = json.loads((Path(run["folder"]) / "summary.json").read_text())["final"]
    assert {m: run[m] for m in final} == final and len(final) == 6
    assert run["model.hidden"] == [8] and run["optimizer.lr"] == 0.01 and run["status"] == "completed"
    boom = frame.set_index("name").loc["boom"]
    assert boom["status"] == "diverged" and math.isnan(boom["test_acc"])


def test_a_study_row_shows_mixed_values_and_its_best_runs_metrics(made):
    study = load_runs(made).set_index("name").loc["sweep-base"]
    assert isinstance(study["optimizer.name"], Mixed) and sorted(study["optimizer.name"]) == ["adam", "sgd"]
    assert MISSING in study["optimizer.beta1"]  # sgd has no beta1
    runs = load_runs(group(made, "study"))
    best = runs.loc[runs["val_acc"].idxmax()]
    assert study["val_acc"] == best["val_acc"] and study["train_loss"] == best["train_loss"]


def test_a_study_folder_gives_its_runs_and_a_run_folder_itself(made):
    study = group(made, "study")
    frame = load_runs(study)
    assert_agrees(frame, read_csv(invoke("runs", study, "--csv")))
    assert sorted(frame["name"]) == ["adam-seed0", "sgd-seed0"]
    one = load_runs(frame["folder"].iloc[0])
    assert len(one) == 1 and one["folder"].iloc[0] == frame["folder"].iloc[0]
    assert one.iloc[0].equals(frame.iloc[0][one.columns])


def test_an_empty_runs_folder_gives_an_empty_frame_with_the_columns(tmp_path):
    frame = load_runs(tmp_path)
    assert len(frame) == 0 and {"name", "status", "val_acc", "folder"} <= set(frame.columns)


# ----------------------------------------------------------------------------- load_history
def csv_rows(path: Path) -> list[dict[str, str]]:
    return read_csv(path.read_text())


def test_load_history_holds_every_step_and_every_measured_metric(made):
    history = load_history(made)
    assert list(history.columns) == ["run", "iteration", "epoch", "split", "metric", "value"]
    folders = list(load_runs(made, expand=True)["folder"])
    assert sorted(set(history["run"])) == sorted(folders)
    for folder in map(Path, folders):
        mine = history[history["run"] == str(folder)]
        steps = csv_rows(folder / "steps.csv")
        minibatches = mine[mine["metric"] == "minibatch_loss"]
        assert (minibatches["split"] == "train").all()
        assert [(int(s["iteration"]), int(s["epoch"])) for s in steps] == list(
            zip(minibatches["iteration"], minibatches["epoch"]))
        assert all(same(s["loss"], v) or math.isnan(v) and s["loss"] == "nan"
                   for s, v in zip(steps, minibatches["value"]))
        measured = [(int(e["iteration"]), int(e["epoch"]), *key.split("_"), float(text))
                    for e in csv_rows(folder / "metrics.csv") for key, text in e.items()
                    if key.split("_")[0] in ("train", "val") and text != ""]
        evaluations = mine[mine["metric"] != "minibatch_loss"]
        assert list(evaluations.drop(columns="run").itertuples(index=False, name=None)) == measured
        assert len(mine) == len(steps) + len(measured)


def test_load_history_takes_a_folder_a_list_or_a_frame(made):
    study = group(made, "study")
    frame = load_runs(study)
    by_folder = load_history(study)
    assert by_folder.equals(load_history(frame)) and by_folder.equals(load_history(list(frame["folder"])))
    assert set(by_folder["split"]) == {"train", "val"} and set(by_folder["metric"]) == {"minibatch_loss", "loss", "acc"}
    by_run = lambda history: history.sort_values("run", kind="stable", ignore_index=True)
    assert by_run(load_history(load_runs(made))).equals(by_run(load_history(made)))  # a study's row: its runs
    assert len(load_history([])) == 0


# ----------------------------------------------------------------------------- load_search
def test_load_search_is_trials_csv_typed(made):
    folder = group(made, "search")
    trials = load_search(folder)
    rows = csv_rows(folder / "trials.csv")
    assert list(trials.columns) == list(rows[0]) and len(trials) == len(rows) == 3
    for i, row in enumerate(rows):
        assert all(same(text, trials[column].iloc[i]) for column, text in row.items()), row
    assert trials["trial"].dtype == "int64" and trials["optimizer.lr"].dtype == "float64"
    assert trials["model.batch_norm"].map(type).eq(bool).all() and trials["status"].eq("completed").all()


def test_load_search_refuses_a_folder_that_is_no_search(made):
    with pytest.raises(ScratchrunError, match="is not a search folder"):
        load_search(group(made, "study"))


# ----------------------------------------------------------------------------- without pandas
def test_importing_the_loaders_or_the_package_does_not_import_pandas():
    code = "import sys, scratchrun, scratchrun.records.frames; print('pandas' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(scratchrun.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("load", [load_runs, load_history, load_search])
def test_without_pandas_each_loader_says_how_to_get_it_in_one_sentence(made, monkeypatch, load):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(ScratchrunError) as caught:
        load(made)
    assert str(caught.value) == f"{load.__name__} needs pandas: pip install 'scratchrun[pandas]'."
