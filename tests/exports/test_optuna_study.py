"""Optuna export, read back with Optuna's own `load_study`: the trials agree with trials.csv (states, values,
distributions, per-epoch scores, run folders); deterministic; a database too; optuna-dashboard serves it; and the
importance of a search whose score depends on one key gives that key nearly all of it."""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.errors import ScratchrunError
from scratchrun.records.files import write_csv
from scratchrun.records.layout import trial_columns
from scratchrun.records.reader import metric_values, read_metrics, read_trials

optuna = pytest.importorskip("optuna", reason="optuna is not installed (pip install 'scratchrun[optuna]')")

from scratchrun.exports.optuna_study import MISSING_EXTRA, export_optuna, importance  # noqa: E402

STATES = {"completed": "COMPLETE", "pruned": "PRUNED", "diverged": "FAIL", "failed": "FAIL"}


def invoke(*args, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def search_folder(real_runs: Path) -> Path:
    return next(p for p in real_runs.iterdir() if p.name.endswith("search-small-search"))


@pytest.fixture(scope="module")
def journal(real_runs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("optuna") / "study.log"
    result = invoke("export", "optuna", "search-small-search", "-o", path, "--runs-dir", real_runs)
    assert re.match(r"wrote study .*search-small-search \(\d+ (PRUNED|COMPLETE).*\) to .*study\.log; open it with: "
                    r"optuna-dashboard .*study\.log\n", result.stdout)
    return path


def load(path: Path):
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    return optuna.load_study(study_name=None, storage=storage)


def test_the_study_agrees_with_trials_csv(real_runs, journal):
    folder = search_folder(real_runs)
    rows = read_trials(folder)
    study = load(journal)
    assert study.study_name == folder.name and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert len(study.trials) == len(rows) == 12
    counts: dict[str, int] = {}
    for row in rows:
        counts[STATES[row["status"]]] = counts.get(STATES[row["status"]], 0) + 1
    assert {s: sum(t.state.name == s for t in study.trials) for s in counts} == counts
    for trial, row in zip(study.trials, rows):
        assert trial.number == row["trial"] and trial.user_attrs["run_dir"] == row["run_dir"]
        assert trial.params == {"optimizer.lr": row["optimizer.lr"], "model.weight_decay": row["model.weight_decay"],
                                "optimizer.name": row["optimizer.name"]}
        assert trial.value == (row["val_acc"] if trial.state.name != "FAIL" else None)
        history = metric_values(read_metrics(folder / row["run_dir"]))
        assert trial.intermediate_values == {int(h["epoch"]): h["val_acc"] for h in history}
    best = max((r for r in rows if r["status"] == "completed"), key=lambda r: (r["val_acc"], -r["trial"]))
    assert (study.best_trial.number, study.best_value) == (best["trial"], best["val_acc"])
    lr = study.trials[0].distributions["optimizer.lr"]
    assert isinstance(lr, optuna.distributions.FloatDistribution) and lr.log and (lr.low, lr.high) == (1e-4, 1.0)
    assert not study.trials[0].distributions["model.weight_decay"].log
    assert study.trials[0].distributions["optimizer.name"].choices == ("sgd", "adam")


def test_a_pruned_trial_holds_the_score_it_was_cut_at(real_runs, journal):
    study = load(journal)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned
    for trial in pruned:
        last = max(trial.intermediate_values)
        assert trial.value == trial.intermediate_values[last] and last == trial.user_attrs["epochs"]


def test_the_same_search_gives_the_same_bytes_and_no_overwrite_without_force(real_runs, journal, tmp_path):
    again = tmp_path / "again.log"
    invoke("export", "optuna", "search-small-search", "-o", again, "--runs-dir", real_runs)
    assert again.read_bytes() == journal.read_bytes()
    assert all(json.loads(line)["worker_id"] == "scratchrun-export" for line in again.read_text().splitlines())
    result = invoke("export", "optuna", "search-small-search", "-o", again, "--runs-dir", real_runs, code=2)
    assert "already exists; give --force" in result.stderr
    invoke("export", "optuna", "search-small-search", "-o", again, "--runs-dir", real_runs, "--force")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.log"]  # no temporary file left


def test_a_database_storage_holds_the_same_study(real_runs, journal, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    invoke("export", "optuna", "search-small-search", "--storage", url, "--runs-dir", real_runs)
    (summary,) = optuna.get_all_study_summaries(storage=url)
    study = optuna.load_study(study_name=summary.study_name, storage=url)
    from_journal = load(journal)
    assert [(t.number, t.state, t.value, t.params, t.intermediate_values) for t in study.trials] == [
        (t.number, t.state, t.value, t.params, t.intermediate_values) for t in from_journal.trials]
    result = invoke("export", "optuna", "search-small-search", "--storage", url, "--runs-dir", real_runs, code=2)
    assert "already holds a study named" in result.stderr
    invoke("export", "optuna", "search-small-search", "--storage", url, "--runs-dir", real_runs, "--force")
    assert len(optuna.get_all_study_summaries(storage=url)) == 1


def test_a_damaged_trials_table_leaves_no_half_study_in_the_database(real_runs, tmp_path):
    import shutil

    folder = tmp_path / "runs" / search_folder(real_runs).name
    shutil.copytree(search_folder(real_runs), folder)
    text = (folder / "trials.csv").read_text(encoding="utf-8").splitlines()
    (folder / "trials.csv").write_text("\n".join([*text[:4], "4,1,oops"]) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = invoke("export", "optuna", folder, "--storage", url, "--runs-dir", tmp_path / "runs", code=1)
    assert "trials.csv" in result.stderr and "Traceback" not in result.output
    assert optuna.get_all_study_summaries(storage=url) == []


def trials_of(url: str, name: str) -> list:
    return [(t.number, t.state, t.value, t.params) for t in optuna.load_study(study_name=name, storage=url).trials]


def test_a_forced_export_of_a_damaged_search_leaves_the_old_study_as_it_was(real_runs, tmp_path):
    import shutil

    folder = tmp_path / "runs" / search_folder(real_runs).name
    shutil.copytree(search_folder(real_runs), folder)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    invoke("export", "optuna", folder, "--storage", url)
    before = trials_of(url, folder.name)
    text = (folder / "trials.csv").read_text(encoding="utf-8").splitlines()
    (folder / "trials.csv").write_text("\n".join([*text[:4], "4,1,oops"]) + "\n", encoding="utf-8")
    result = invoke("export", "optuna", folder, "--storage", url, "--force", code=1)
    assert "trials.csv" in result.stderr and "Traceback" not in result.output
    assert [s.study_name for s in optuna.get_all_study_summaries(storage=url)] == [folder.name]
    assert trials_of(url, folder.name) == before


@pytest.mark.parametrize("failing_copy, kept", [(1, "it is as it was"), (2, "the new study is whole under the name")])
def test_a_forced_export_that_cannot_write_keeps_a_whole_study(real_runs, tmp_path, monkeypatch, failing_copy, kept):
    name = search_folder(real_runs).name
    url = f"sqlite:///{tmp_path / 'study.db'}"
    invoke("export", "optuna", name, "--storage", url, "--runs-dir", real_runs)
    before = trials_of(url, name)
    real, copies = optuna.copy_study, []

    def copy_then_fail(**arguments):  # the copy gets in, then the database fills up: a copy cut short
        copies.append(arguments["to_study_name"])
        real(**arguments)
        if len(copies) == failing_copy:
            raise RuntimeError("database or disk is full")

    monkeypatch.setattr(optuna, "copy_study", copy_then_fail)
    result = invoke("export", "optuna", name, "--storage", url, "--runs-dir", real_runs, "--force", code=1)
    message = " ".join(result.stderr.split())
    assert "Optuna could not write the study" in message and "database or disk is full" in message
    assert kept in message and "Traceback" not in result.output
    names = {s.study_name: trials_of(url, s.study_name) for s in optuna.get_all_study_summaries(storage=url)}
    if failing_copy == 1:  # the copy beside the old study failed: the old one is untouched, the half copy gone
        assert names == {name: before}
    else:  # the old study was deleted, the copy in its place failed: the new one is kept whole beside
        assert names == {f"{name}.scratchrun-new": before}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_optuna_dashboard_serves_the_exported_journal(journal):
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is not installed (pip install optuna-dashboard)")
    command = Path(sys.executable).with_name("optuna-dashboard")  # its console script, beside this interpreter
    if not command.is_file():
        pytest.skip(f"optuna-dashboard is importable but its command is not at {command}")
    port = free_port()
    server = subprocess.Popen([str(command), str(journal), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as answer:
                    studies = json.load(answer)["study_summaries"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        (summary,) = studies
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}", timeout=10) as answer:
            detail = json.load(answer)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert summary["study_name"] == load(journal).study_name and summary["directions"] == ["maximize"]
    assert len(detail["trials"]) == 12
    assert {p["name"] for p in detail["trials"][0]["params"]} == {"optimizer.lr", "model.weight_decay",
                                                                   "optimizer.name"}


def synthetic_search(folder: Path, trials: int = 60) -> Path:
    """A search folder whose score depends on optimizer.lr alone (no run folders: only its plan and trials.csv)."""
    space = {"optimizer.lr": {"log_uniform": [1e-5, 1.0]}, "model.weight_decay": {"log_uniform": [1e-8, 1e-2]},
             "optimizer.name": {"choice": ["sgd", "adam"]}}
    folder.mkdir(parents=True)
    (folder / "search.yaml").write_text(yaml.safe_dump({"search": {"trials": trials, "space": space}, "base": {}}))
    rng = np.random.default_rng(0)
    rows = []
    for trial in range(trials):
        lr = float(10 ** rng.uniform(-5, 0))
        rows.append({"trial": trial, "round": 1, "optimizer.lr": lr,
                     "model.weight_decay": float(10 ** rng.uniform(-8, -2)),
                     "optimizer.name": ["sgd", "adam"][int(rng.integers(2))], "status": "completed",
                     "val_acc": 0.95 - 0.05 * (math.log10(lr) + 2.5) ** 2, "epochs": 10, "seconds": 1.0,
                     "run_dir": f"trial-{trial:03d}"})
    keys = list(space)
    write_csv(folder / "trials.csv", rows, trial_columns(keys, "val_acc"))
    return folder


def test_importance_gives_the_one_key_that_matters_nearly_all_of_it(tmp_path):
    folder = synthetic_search(tmp_path / "runs" / "2026-01-01_00-00-00_search-synthetic")
    shares = importance(str(folder), tmp_path / "runs")
    assert list(shares)[0] == "optimizer.lr" and shares["optimizer.lr"] > 0.9
    result = invoke("search-importance", "search-synthetic", "--runs-dir", tmp_path / "runs")
    assert re.search(r"optimizer\.lr\s+│\s+0\.9\d\d", result.stdout) and "(PED-ANOVA)" in result.stdout


def test_a_folder_that_is_no_search_or_no_optuna_is_one_sentence(real_runs, tmp_path, monkeypatch):
    result = invoke("export", "optuna", "compare-optimizers", "-o", tmp_path / "s.log", "--runs-dir", real_runs, code=2)
    assert "is not a search folder" in result.stderr and "Traceback" not in result.output
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ScratchrunError, match=re.escape(MISSING_EXTRA)):
        export_optuna("search-small-search", real_runs, tmp_path / "s.log")
    result = invoke("search-importance", "search-small-search", "--runs-dir", real_runs, code=1)
    assert "pip install 'scratchrun[optuna]'" in result.stderr
    assert list(tmp_path.iterdir()) == []
