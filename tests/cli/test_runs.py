"""`scratchrun runs` and `scratchrun compare`, on run folders made by real training."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from file_reads import watch_files
from idx_fixtures import write_tiny_dataset
from typer.testing import CliRunner

from scratchrun.cli import app as cli
from scratchrun.cli.app import app
from scratchrun.data.registry import DATASETS
from scratchrun.nn.optimizers import hyperparameter_defaults
from scratchrun.records import index as run_index
from scratchrun.records import reader

runner = CliRunner()

BASE = ("name: base\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
        "train: {epochs: 2, batch_size: 32}\n")
ADAM_ONLY = {f"optimizer.{k}" for k in hyperparameter_defaults("adam")} - {"optimizer.lr"}  # beta1, beta2, eps


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def table(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def config_columns(rows: list[dict]) -> set[str]:
    fixed = {"time", "name", "status", "runs", "val_acc", "test_acc", "wall_time_s", "path"}
    return set(rows[0]) - fixed


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A runs folder: four trained runs (one diverged), a two-run sweep, a stale, a live and a corrupt record, a
    non-run."""
    root = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:  # the `tiny` fixture, once for the module
        mp.setitem(DATASETS, "tiny", write_tiny_dataset(root / "data", "tiny", n_train=300, n_test=60))
        mp.setenv("SCRATCHRUN_DATA_DIR", str(root / "data"))
        mp.setenv("SCRATCHRUN_CACHE_DIR", str(root / "cache"))
        config, runs_dir = root / "base.yaml", root / "runs"
        config.write_text(BASE)
        folders = {}
        for second, (name, optimizer, lr, code) in enumerate(
                [("sgd-fast", "sgd", "0.1", 0), ("adam-slow", "adam", "0.001", 0), ("adam-fast", "adam", "0.01", 0),
                 ("boom", "momentum", "1.0e+30", 3)], start=1):
            result = invoke("train", config, f"optimizer.name={optimizer}", f"optimizer.lr={lr}", "--name", name,
                            "--runs-dir", runs_dir, "--quiet")
            assert result.exit_code == code, result.output
            (made_now,) = [p for p in runs_dir.iterdir() if p.name.endswith(f"_{name}")]
            folders[name] = made_now.rename(runs_dir / f"2020-01-01_00-00-0{second}_{name}")  # a known order in time
        result = invoke("sweep", config, "optimizer.name=sgd,adam", "--jobs", "1", "--runs-dir", runs_dir)
        assert result.exit_code == 0, result.output
    folders["sweep"] = next(p for p in runs_dir.iterdir() if p.name.endswith("_sweep-base"))
    for second, (name, summary) in enumerate([
            ("ghost", {"status": "running", "heartbeat": _ago(600)}),
            ("live", {"status": "running", "heartbeat": _ago(0)})], start=5):
        folders[name] = shutil.copytree(folders["adam-slow"], runs_dir / f"2020-01-01_00-00-0{second}_{name}")
        (folders[name] / "summary.json").write_text(json.dumps({**summary, "seed": 0, "pid": 99999999}))
    with open(folders["ghost"] / "steps.csv", "a") as f:
        f.write("17,3")  # a process killed mid-line
    with open(folders["ghost"] / "metrics.csv", "a") as f:
        f.write("3,24,2.2,0.1")
    folders["broken"] = shutil.copytree(folders["sgd-fast"], runs_dir / "2020-01-01_00-00-07_broken")
    (folders["broken"] / "summary.json").write_text('{"status": "compl')
    (runs_dir / "notes").mkdir()
    (runs_dir / "notes" / "todo.txt").write_text("not a run")
    return runs_dir, folders


def _ago(seconds: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


# ----------------------------------------------------------------------------- runs
def test_runs_lists_runs_and_studies_with_only_the_config_values_that_differ(made):
    runs_dir, folders = made
    rows = table(invoke("runs", runs_dir, "--csv"))
    assert [r["name"] for r in rows] == ["sgd-fast", "adam-slow", "adam-fast", "boom", "ghost", "live", "broken",
                                         "sweep-base"]
    by_name = {r["name"]: r for r in rows}
    assert {n: r["status"] for n, r in by_name.items()} == {
        "sgd-fast": "completed", "adam-slow": "completed", "adam-fast": "completed", "boom": "diverged",
        "ghost": "stale", "live": "running", "broken": "unreadable", "sweep-base": "2 completed"}
    assert by_name["sweep-base"]["runs"] == "2" and by_name["boom"]["runs"] == "1"
    # not data.*, model.*, ...
    assert config_columns(rows) == {"optimizer.name", "optimizer.lr", "optimizer.momentum"} | ADAM_ONLY
    assert [float(by_name[n]["optimizer.lr"]) for n in ("sgd-fast", "adam-slow", "adam-fast", "boom")] == [
        0.1, 0.001, 0.01, 1e30]
    assert by_name["sweep-base"]["optimizer.name"] == "adam, sgd"  # differs inside the study
    assert by_name["sweep-base"]["optimizer.beta1"] == "0.9, –"  # sgd has no beta1
    assert by_name["sweep-base"]["optimizer.lr"] == "0.001"  # the same in both of its runs (adam's, from the base)
    assert by_name["adam-fast"]["time"] == "2020-01-01T00:00:03"
    final = summary(folders["adam-fast"])
    assert float(by_name["adam-fast"]["val_acc"]) == final["final"]["val_acc"]
    assert float(by_name["adam-fast"]["test_acc"]) == final["final"]["test_acc"]
    assert float(by_name["adam-fast"]["wall_time_s"]) == final["wall_time_s"]
    assert by_name["boom"]["test_acc"] == "" and Path(by_name["boom"]["path"]) == folders["boom"]


def test_where_and_status_filter_runs_even_inside_a_study(made):
    runs_dir, _ = made
    rows = table(invoke("runs", runs_dir, "--csv", "--where", "optimizer.name=adam", "--status", "completed"))
    assert [(r["name"], r["status"], r["runs"]) for r in rows] == [
        ("adam-slow", "completed", "1"), ("adam-fast", "completed", "1"), ("sweep-base", "1 completed", "1")]
    assert config_columns(rows) == {"optimizer.lr"}
    assert [r["optimizer.lr"] for r in rows] == ["0.001", "0.01", "0.001"]
    rows = table(invoke("runs", runs_dir, "--csv", "--expand", "--where", "optimizer.lr=1e-3",
                        "--where", "status=completed", "--where", "optimizer.name=adam"))
    # `1e-3` is text to YAML, compared as a number
    assert [r["name"] for r in rows] == ["adam-slow", "sweep-base/adam-seed0"]
    assert config_columns(rows) == set()  # the same config: no config column
    assert [r["name"] for r in table(invoke("runs", runs_dir, "--csv", "--status", "stale"))] == ["ghost"]
    result = invoke("runs", runs_dir, "--where", "optimizer.name=rmsprop")
    assert result.exit_code == 0 and "no runs in" in result.output and "match" in result.output


def test_expand_sort_and_limit(made):
    runs_dir, _ = made
    rows = table(invoke("runs", runs_dir, "--csv", "--expand", "--where", "optimizer.name=adam",
                        "--status", "completed", "--sort", "-optimizer.lr"))
    assert [r["name"] for r in rows] == ["adam-fast", "adam-slow", "sweep-base/adam-seed0"]  # equal lr: by name
    assert "runs" not in rows[0]
    rows = table(invoke("runs", runs_dir, "--csv", "--expand", "--sort", "optimizer.lr", "--limit", "2"))
    assert [r["name"] for r in rows][-1] == "boom" and len(rows) == 2
    rows = table(invoke("runs", runs_dir, "--csv", "--sort", "-val_acc", "--status", "completed", "--expand"))
    accs = [float(r["val_acc"]) for r in rows]
    assert accs == sorted(accs, reverse=True) and len(rows) == 5
    rows = table(invoke("runs", runs_dir, "--csv", "--limit", "1"))
    assert [r["name"] for r in rows] == ["sweep-base"]  # default: by time, newest last


def test_markdown_and_the_terminal_table(made, monkeypatch):
    runs_dir, _ = made
    result = invoke("runs", runs_dir, "--md", "--where", "optimizer.name=sgd")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| time | name | status | runs | optimizer.lr | val acc | test acc | wall time |"
    assert lines[1] == "| --- | --- | --- | --- | --- | --- | --- | --- |"
    assert [line.split(" | ")[1:4] for line in lines[2:]] == [
        ["sgd-fast", "completed", "1"], ["broken", "unreadable", "1"], ["sweep-base", "1 completed", "1"]]
    assert [line.split(" | ")[4] for line in lines[2:]] == ["0.1", "0.1", "0.001"]
    monkeypatch.setattr(cli.out, "_width", 250)  # a wide terminal
    result = invoke("runs", runs_dir)
    assert result.exit_code == 0, result.output
    lines = {line.split()[2]: line for line in result.stdout.splitlines() if line.startswith("20")}  # by name
    assert list(lines) == ["sgd-fast", "adam-slow", "adam-fast", "boom", "ghost", "live", "broken", "sweep-base"]
    assert lines["boom"].split()[3:6] == ["diverged", "1", "momentum"] and "1e+30" in lines["boom"]
    assert lines["ghost"].split()[3] == "stale" and lines["broken"].split()[3] == "unreadable"
    assert "2 completed" in lines["sweep-base"] and "adam, sgd" in lines["sweep-base"]
    assert "notes" not in result.stdout


@pytest.mark.parametrize("args, code, words", [
    (["--sort", "speed"], 2, ["--sort `speed`", "optimizer.lr", "val_acc"]),
    (["--where", "optimizer.name"], 2, ["malformed", "optimizer.name", "status"]),
    (["--where", "optimizer.nme=adam"], 2, ["unknown key `optimizer.nme`", "optimizer.name"]),
    (["--status", "done"], 2, ["--status `done`", "completed", "stale"]),
    (["--csv", "--md"], 2, ["--csv and --md"]),
])
def test_bad_options_get_one_sentence_and_exit_2(made, args, code, words):
    result = invoke("runs", made[0], *args)
    assert result.exit_code == code, result.output
    assert all(word in result.stderr for word in words) and "Traceback" not in result.output


def test_a_missing_runs_folder_is_exit_1_and_an_empty_one_says_so(tmp_path):
    result = invoke("runs", tmp_path / "nowhere")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    (tmp_path / "empty" / "not-a-run").mkdir(parents=True)
    result = invoke("runs", tmp_path / "empty", "--sort", "optimizer.lr")
    assert result.exit_code == 0 and "no runs in" in result.stderr and result.stdout == ""


# ----------------------------------------------------------------------------- compare
def cells(output: str) -> dict[str, list[str]]:
    """A rich table's rows by their first cell: {"optimizer.lr": ["0.1", "0.01"], ...}."""
    rows = [[c.strip() for c in line.strip().strip("│┃").split("│" if "│" in line else "┃")]
            for line in output.splitlines() if line.strip()[:1] in ("│", "┃")]
    return {row[0]: row[1:] for row in rows}


def test_compare_shows_differing_config_and_final_metrics(made):
    runs_dir, folders = made
    result = invoke("compare", "sgd-fast", "adam-fast", "--runs-dir", runs_dir)
    assert result.exit_code == 0, result.output
    rows = cells(result.stdout)
    assert rows[""] == ["sgd-fast", "adam-fast"]
    assert set(rows) == {"", "optimizer.name", "optimizer.lr", *ADAM_ONLY, "train acc", "val acc", "test acc",
                         "train loss", "val loss", "test loss", "best val acc", "best epoch", "epochs", "wall time",
                         "samples/s", "status"}
    assert rows["optimizer.name"] == ["sgd", "adam"] and rows["optimizer.lr"] == ["0.1", "0.01"]
    assert rows["optimizer.beta1"] == ["", "0.9"]
    records = [summary(folders[name]) for name in ("sgd-fast", "adam-fast")]
    for label, key in (("val acc", "val_acc"), ("test acc", "test_acc"), ("train acc", "train_acc")):
        assert rows[label] == [f"{r['final'][key]:.2%}" for r in records]
    assert rows["best epoch"] == [str(r["best_epoch"]) for r in records] and rows["epochs"] == ["2", "2"]
    assert rows["status"] == ["completed", "completed"]
    result = invoke("compare", "sgd-fast", "adam-fast", "--runs-dir", runs_dir, "--all-params")
    rows = cells(result.stdout)
    assert result.exit_code == 0 and rows["data.dataset"] == ["tiny", "tiny"] and rows["model.hidden"] == ["[8]", "[8]"]


def test_compare_takes_a_study_folder_as_all_its_runs_and_plots(made, tmp_path, monkeypatch):
    runs_dir, folders = made
    monkeypatch.setattr(cli.out, "_width", 200)  # a wide terminal: no folded headers
    figure = tmp_path / "cmp.png"
    result = invoke("compare", folders["sweep"], "boom", "ghost", "--runs-dir", runs_dir, "--plot", figure)
    assert result.exit_code == 0, result.output
    rows = cells(result.stdout)
    assert rows[""] == ["sweep-base/adam-seed0", "sweep-base/sgd-seed0", "boom", "ghost"]
    assert rows["status"] == ["completed", "completed", "diverged", "stale"]
    assert "left out of the figure" not in result.stderr
    ghost_steps = reader.read_steps(folders["ghost"])  # its half-written last line left out
    np.testing.assert_array_equal(ghost_steps, reader.read_steps(folders["adam-slow"]))
    assert reader.read_metrics(folders["ghost"]) == reader.read_metrics(folders["adam-slow"])
    assert str(figure) in result.stdout
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 10_000


@pytest.mark.parametrize("args, words", [
    (["adam-fast"], ["at least two runs", "gave 1"]),
    (["adam-fast", "adam-fast"], ["at least two runs"]),
    (["adam", "boom"], ["`adam` matches 3 folders", "adam-slow", "adam-fast", "sweep-base/adam-seed0"]),
    (["nothing-like-it", "boom"], ["`nothing-like-it` matches no run"]),
    (["../runs/2020-01-01_00-00-04_boom-x", "boom"], ["matches no run"]),
    (["boom", "adam-fast", "--plot", "cmp.txt"], ["--plot cmp.txt", ".png"]),
])
def test_compare_errors_are_one_sentence_and_exit_2(made, args, words):
    result = invoke("compare", *args, "--runs-dir", made[0])
    assert result.exit_code == 2, result.output
    assert all(word in result.stderr for word in words), result.stderr


def test_resolve_finds_names_only_inside_the_runs_folder(made, tmp_path):
    runs_dir, folders = made
    assert run_index.resolve("adam-slow", runs_dir) == folders["adam-slow"]
    assert run_index.resolve("2020-01-01_00-00-02", runs_dir) == folders["adam-slow"]  # a unique prefix
    assert run_index.resolve("sweep-base/adam-seed0", runs_dir) == folders["sweep"] / "adam-seed0"
    assert run_index.resolve(str(folders["boom"]), tmp_path) == folders["boom"]  # a path is taken as given
    outside = tmp_path / "elsewhere"
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "summary.json").write_text("{}")
    with pytest.raises(run_index.ConfigError, match="matches no run"):
        run_index.resolve("secret", runs_dir)


# ----------------------------------------------------------------------------- work
def test_listing_1000_runs_opens_each_record_once_and_reads_no_logs_and_no_weights(made, tmp_path, monkeypatch):
    """Listing reads each run's summary.json and config.yaml once and the 22-byte zip index at the end of model.npz,
    nothing else (its speed is a benchmark: benchmarks/runs_listing.py)."""
    source = made[1]["adam-fast"]
    config_text, record = (source / "config.yaml").read_text(), summary(source)
    many = tmp_path / "many"
    for i in range(1000):
        folder = many / f"2021-01-01_00-{i // 60:02d}-{i % 60:02d}_run-{i}"
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(config_text.replace("lr: 0.01", f"lr: {0.01 + i * 1e-5}"))
        (folder / "summary.json").write_text(json.dumps({**record, "wall_time_s": i}))
        for name in reader.COMPLETED_FILES:  # what makes a completed record complete; listing opens model.npz's index
            os.link(source / name, folder / name)
    seen = watch_files(monkeypatch)
    result = invoke("runs", many)
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("2021-")]
    assert len(rows) == 1000 and rows[-1][2:5] == ["run-999", "completed", "0.01999"]
    opens, read = seen.under(many)
    assert len(opens) == 3000 and set(opens.values()) == {1}, Counter(path.name for path in opens.elements())
    assert {path.name for path in opens} == {"summary.json", "config.yaml", "model.npz"}  # no logs (no tags here)
    assert {n for path, n in read.items() if path.name == "model.npz"} == {22}  # its zip index, never the arrays
    assert all(read[path] == path.stat().st_size for path in opens if path.name != "model.npz")  # read whole, once


def test_a_narrow_terminal_drops_the_least_varied_config_columns_and_says_which(made, monkeypatch):
    runs_dir, _ = made
    monkeypatch.setenv("COLUMNS", "96")
    result = invoke("runs", runs_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 96
    assert "not shown" in result.output and "--csv" in result.output
    header = " ".join(lines[:2])
    assert "lr" in header  # optimizer keys are kept before data, train and seed ones
    for name in ("completed", "diverged", "stale"):  # statuses are never cut
        assert name in result.output


@pytest.mark.parametrize("damage, key", [({"samples_per_s": "fast"}, "samples_per_s"), ({"final": 0.5}, "final"),
                                         ({"versions": "x"}, "versions"), ({"best_val_acc": [1]}, "best_val_acc")])
def test_a_damaged_summary_is_named_by_show_and_listed_as_unreadable(made, tmp_path, damage, key):
    _, folders = made
    runs_dir = tmp_path / "runs"
    run = shutil.copytree(folders["adam-slow"], runs_dir / folders["adam-slow"].name)
    (run / "summary.json").write_text(json.dumps({**summary(run), **damage}))
    result = invoke("show", run)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"`{key}`" in result.output and "summary.json" in result.output
    listed = invoke("runs", runs_dir, "--csv")
    assert listed.exit_code == 0 and ",unreadable," in listed.stdout
    assert invoke("compare", run, folders["sgd-fast"]).exit_code in (0, 2)  # no traceback either way


def test_a_nan_metric_reads_as_missing_and_sorts_last(made, tmp_path):
    _, folders = made
    runs_dir = tmp_path / "runs"
    for name, acc in (("a", 0.9), ("b", float("nan")), ("c", 0.5)):
        run = shutil.copytree(folders["adam-slow"], runs_dir / f"2020-01-01_00-00-0{len(name)}_{name}")
        record = summary(run)
        record["final"]["val_acc"] = acc
        (run / "summary.json").write_text(json.dumps(record))  # NaN, as Python's json writes it
    result = invoke("runs", runs_dir, "--sort", "val_acc", "--csv")
    names = [line.split(",")[1] for line in result.stdout.splitlines()[1:]]
    assert names == ["c", "a", "b"] and ",b,completed,," in result.stdout  # no value, not "nan"


def test_runs_watch_lists_again_as_statuses_change_and_ends_when_nothing_trains(tiny, tmp_path):
    """Piped, `runs --watch` prints a listing whenever one changes and stops once no run is training."""
    import json
    import subprocess
    import sys

    from cli.test_inspect import APPENDER

    runs = tmp_path / "runs"
    config = tmp_path / "small.yaml"
    config.write_text("name: w\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\ntrain: {epochs: 1}\n")
    assert invoke("train", config, "--runs-dir", runs, "--quiet").exit_code == 0
    (run,) = runs.iterdir()
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(run)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    result = invoke("runs", runs, "--watch", "--interval", "0.1")
    writer.wait(timeout=30)
    assert result.exit_code == 0, result.output
    statuses = [line.split()[3] for line in result.stdout.splitlines() if " w " in f" {line} "]
    assert statuses[0] == "running" and statuses[-1] == "stale" and len(statuses) >= 2, result.stdout
