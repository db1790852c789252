"""Worker processes that die and parents that die (executors/workers.py), with real processes and `kill -9`.

Each test starts `scratchrun` in its own process group (a driver script registers the `tiny` dataset first),
kills something with SIGKILL, and then checks the exit code, the sentence, the folder, and the process table.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scratchrun.data.registry import DATASETS
from scratchrun.experiments.executors.workers import dead_run
from scratchrun.experiments.specs import RunSpec

DRIVER = """
import os, pickle, sys
if __name__ == "__main__":  # not again in the spawned workers, which import this file as __mp_main__
    from scratchrun.data.registry import DATASETS
    with open(os.environ["TINY_SPEC"], "rb") as f:
        DATASETS["tiny"] = pickle.load(f)
    from scratchrun.cli.app import app
    app(sys.argv[1:], prog_name="scratchrun")
"""
STUDY = ["compare-optimizers", "data.dataset=tiny", "train.iterations=2000", "--optimizers", "sgd,adam,momentum",
         "--jobs", "2"]
RUNS = {"sgd-seed0", "adam-seed0", "momentum-seed0"}


@pytest.fixture
def scratchrun(tiny, tmp_path):
    """`scratchrun(*args)` starts the CLI in a new process group; `scratchrun(*args, wait=True)` runs it to the end."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    (tmp_path / "tiny.pkl").write_bytes(pickle.dumps(DATASETS["tiny"]))
    env = {**os.environ, "TINY_SPEC": str(tmp_path / "tiny.pkl")}
    started = []

    def start(*args: str, wait: bool = False):
        command = [sys.executable, str(driver), *map(str, args)]
        if wait:
            return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:  # whatever a failed test left running
        for pid in group(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()


def group(pgid: int) -> list[int]:
    """The live processes of process group `pgid` (zombies, dead but not reaped, do not count)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rfind(b")") + 2:].split()[:3]
        if int(pgrp) == pgid and state != b"Z":
            pids.append(int(entry.name))
    return pids


def wait_until_gone(pgid: int, timeout: float) -> None:
    """Wait until no process of the group is left; `timeout` is a deadline so a leak fails instead of hanging."""
    start = time.monotonic()
    while group(pgid):
        assert time.monotonic() - start < timeout, f"still running after {timeout} s: {group(pgid)}"
        time.sleep(0.1)


def running(runs: Path, proc: subprocess.Popen, count: int, timeout: float = 120) -> tuple[Path, dict[str, dict]]:
    """The study folder and its runs that are training in workers, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = {}
        for path in runs.glob("*/*/summary.json"):
            try:  # a run's first files appear one after another: its summary may be there before its steps.csv
                summary = json.loads(path.read_text())
                training = summary.get("status") == "running" and (path.parent / "steps.csv").stat().st_size > 100
            except (OSError, ValueError):
                continue
            if training:
                found[path.parent.name] = summary
        if len(found) >= count:
            (folder,) = runs.iterdir()
            return folder, found
        time.sleep(0.05)
    raise AssertionError(f"{count} runs never trained at once")


def rows(folder: Path) -> dict[str, dict]:
    with open(folder / "results.csv", newline="") as f:
        return {row["run_dir"] or row["variant"]: row for row in csv.DictReader(f)}


def test_a_worker_killed_mid_run_fails_that_run_alone_and_the_study_finishes(scratchrun, tmp_path):
    runs = tmp_path / "runs"
    proc = scratchrun(*STUDY, "--runs-dir", runs)
    folder, live = running(runs, proc, 2)
    victim, healthy = sorted(live)  # adam-seed0 and sgd-seed0: kill the sgd run's worker
    assert live[victim]["pid"] != proc.pid and live[victim]["host"] == socket.gethostname()
    os.kill(live[victim]["pid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "BrokenProcessPool" not in stderr
    assert "1 run(s) failed" in stderr and str(folder / victim / "error.txt") in stderr
    table = rows(folder)
    assert {name: row["status"] for name, row in table.items()} == {victim: "failed",
                                                                     **{r: "completed" for r in RUNS - {victim}}}
    summary = json.loads((folder / victim / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["message"] == "the worker process died (SIGKILL) while training this run"
    assert "died (SIGKILL)" in (folder / victim / "error.txt").read_text()
    kept = json.loads((folder / healthy / "summary.json").read_text())  # the run on the other worker went on
    assert kept["started"] == live[healthy]["started"] and kept["iterations"] == 2000
    assert {p.name for p in folder.iterdir() if p.is_dir()} == RUNS  # nothing trained twice
    assert not (folder / ".lock").exists()
    wait_until_gone(proc.pid, 10)  # no worker, tracker or manager outlives the study


def test_workers_of_a_killed_parent_stop_their_runs_and_resume_takes_the_folder_over(scratchrun, tmp_path):
    runs = tmp_path / "runs"
    proc = scratchrun(*STUDY, "--runs-dir", runs)
    folder, live = running(runs, proc, 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_until_gone(proc.pid, 20)  # a deadline: half a second to notice, then the run's final records and figure
    for name in live:
        summary = json.loads((folder / name / "summary.json").read_text())
        assert summary["status"] == "interrupted" and 0 < summary["iterations"] < 2000, name
        assert (folder / name / "model.npz").is_file()
    assert not (folder / "results.csv").exists()  # the parent was killed before it could write one
    assert json.loads((folder / ".lock").read_text())["pid"] == proc.pid  # left by kill -9; nobody holds it now

    resumed = scratchrun("compare-optimizers", "--resume", folder, "--jobs", "2", wait=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 already completed, 3 to train" in " ".join(resumed.stderr.split() + resumed.stdout.split())
    assert {name: row["status"] for name, row in rows(folder).items()} == dict.fromkeys(RUNS, "completed")
    assert {p.name for p in folder.iterdir() if p.is_dir()} == RUNS
    assert not (folder / ".lock").exists()


def test_resume_of_a_study_that_is_still_running_is_refused_and_touches_nothing(scratchrun, tmp_path):
    runs = tmp_path / "runs"
    proc = scratchrun(*STUDY, "--runs-dir", runs)
    folder, live = running(runs, proc, 1)
    for name in live:  # a file the run does not know of: gone only if its folder is deleted for a rerun
        (folder / name / "marker").write_text("")
    refused = scratchrun("compare-optimizers", "--resume", folder, "--jobs", "2", wait=True)
    assert refused.returncode == 1, refused.stderr
    message = " ".join(refused.stderr.split())
    assert f"{folder} is in use by scratchrun process {proc.pid} on {socket.gethostname()} (since " in message
    assert "wait for it to finish, or stop it first." in message and "Traceback" not in message
    assert all((folder / name / "marker").exists() for name in live)  # the live runs' folders were left alone
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert {name: row["status"] for name, row in rows(folder).items()} == dict.fromkeys(RUNS, "completed")
    assert {p.name for p in folder.iterdir() if p.is_dir()} == RUNS  # no second copy of any run


def test_a_search_counts_a_dead_worker_as_a_failure_and_writes_its_tables(scratchrun, tmp_path):
    config = tmp_path / "search.yaml"
    config.write_text("name: s\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [100, 100]}\n"
                      "optimizer: {name: sgd}\ntrain: {epochs: 250, batch_size: 32}\n"
                      "search: {trials: 4, space: {optimizer.lr: {log_uniform: [1.0e-3, 1.0e-2]}}}\n")
    runs = tmp_path / "runs"
    proc = scratchrun("search", config, "--jobs", "2", "--max-failures", "1", "--runs-dir", runs)
    folder, live = running(runs, proc, 2)
    victim = min(live)
    os.kill(live[victim]["pid"], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr
    message = " ".join(stderr.split())
    assert "The search stopped after 1 diverged or failed trials (--max-failures 1)" in message
    assert "Traceback" not in message
    with open(folder / "trials.csv", newline="") as f:
        trials = {row["run_dir"]: row for row in csv.DictReader(f)}
    assert trials[victim]["status"] == "failed"
    assert all(row["status"] in ("completed", "interrupted") for name, row in trials.items() if name != victim)
    assert json.loads((folder / victim / "summary.json").read_text())["message"].startswith("the worker process died")
    lines = (folder / "journal.jsonl").read_text().splitlines() if (folder / "journal.jsonl").is_file() else []
    journal = [json.loads(line) for line in lines]
    assert [entry for entry in journal if entry["run_dir"] == victim] == []  # not kept: a resume trains it again
    wait_until_gone(proc.pid, 10)


def test_a_dead_run_is_found_by_its_pid_and_recorded_failed(tiny, tmp_path):
    from scratchrun.config.loader import config_from_dict

    config = config_from_dict({"name": "r", "data": {"dataset": "tiny"}})
    for name, pid in [("r", 111), ("r-2", 222)]:  # an older attempt's folder, then the dead worker's
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"status": "running", "pid": pid, "seed": 0}))
    result = dead_run(RunSpec(3, "r", 0, config), 222, -signal.SIGKILL, tmp_path)
    assert (result.index, result.status, result.run_dir) == (3, "failed", tmp_path / "r-2")
    assert json.loads((tmp_path / "r-2" / "summary.json").read_text())["status"] == "failed"
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "running"  # not its run
    assert not (tmp_path / "r" / "error.txt").exists()
    unborn = dead_run(RunSpec(4, "x", 0, config), 333, 1, tmp_path)  # died before its folder existed
    assert (unborn.status, unborn.run_dir) == ("failed", None)
    assert unborn.summary["message"] == "the worker process died (exit code 1) while training this run"
