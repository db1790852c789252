"""One writer per folder (records/lock.py), tried with real processes: a live holder is named and respected,
a killed one's lock is taken over, a worker keeps its dead parent's lock, another host's lock is respected."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scratchrun.errors import RunDirError
from scratchrun.records import lock as folder_lock
from scratchrun.records.host import host_name

# Takes the lock on argv[1], starts a spawned worker holding it too when argv[2] == "worker" (its pid on the second
# line), says "locked" and sleeps until killed.
HOLDER = """
import multiprocessing, sys, time
from pathlib import Path
from scratchrun.records.lock import lock_folder, shared_locks

def hold(locks):
    time.sleep(600)

if __name__ == "__main__":
    lock = lock_folder(Path(sys.argv[1]))
    if sys.argv[2] == "worker":
        worker = multiprocessing.get_context("spawn").Process(target=hold, args=(shared_locks(),), daemon=False)
        worker.start()
        print(worker.pid, flush=True)
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path):
    """Start a process that holds tmp_path/study's lock; returns (process, worker pid or None)."""
    started = []

    def start(with_worker: bool = False):
        script = tmp_path / "holder.py"
        script.write_text(HOLDER)
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "study"),
                                 "worker" if with_worker else "-"],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        started.append(proc)
        worker = int(proc.stdout.readline()) if with_worker else None
        assert proc.stdout.readline().strip() == "locked"
        if worker:
            started.append(worker)
        return proc, worker

    (tmp_path / "study").mkdir()
    yield start
    for item in started:
        try:
            os.kill(item if isinstance(item, int) else item.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not isinstance(item, int):
            item.wait()


def test_a_lock_records_who_holds_it_and_is_gone_once_released(tmp_path):
    lock = folder_lock.lock_folder(tmp_path)
    record = json.loads((tmp_path / ".lock").read_text())
    assert record["pid"] == os.getpid() and record["host"] == host_name() and record["started"]
    lock.release()
    assert not (tmp_path / ".lock").exists()
    folder_lock.lock_folder(tmp_path).release()  # free again


def test_a_live_holder_is_named_and_a_killed_one_is_taken_over(tmp_path, holder):
    proc, _ = holder()
    folder = tmp_path / "study"
    with pytest.raises(RunDirError, match=f"is in use by scratchrun process {proc.pid} on {host_name()} "
                                          r"\(since .*\); wait for it to finish, or stop it first"):
        folder_lock.lock_folder(folder)
    assert json.loads((folder / ".lock").read_text())["pid"] == proc.pid  # the refusal changed nothing
    proc.kill()
    proc.wait()
    lock = folder_lock.lock_folder(folder)  # kill -9 left the file; the lock is ours now
    assert json.loads((folder / ".lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_a_worker_keeps_the_lock_of_its_killed_parent_until_it_exits(tmp_path, holder):
    proc, worker = holder(with_worker=True)
    folder = tmp_path / "study"
    proc.kill()
    proc.wait()
    with pytest.raises(RunDirError, match=f"was in use by scratchrun process {proc.pid} on .*, which has stopped, "
                                          "but its worker processes are still finishing; try again"):
        folder_lock.lock_folder(folder)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        try:
            folder_lock.lock_folder(folder).release()
            break
        except RunDirError:
            assert time.monotonic() < deadline, "the lock outlived the worker"
            time.sleep(0.05)


def test_a_lock_written_on_another_host_is_respected(tmp_path):
    (tmp_path / ".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "2026-01-01T00:00:00"}))
    with pytest.raises(RunDirError, match=f"in use by scratchrun process 1 on elsewhere .*delete {tmp_path / '.lock'}"):
        folder_lock.lock_folder(tmp_path)
    assert json.loads((tmp_path / ".lock").read_text())["host"] == "elsewhere"


def test_without_flock_the_pid_decides(tmp_path, monkeypatch):
    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(folder_lock.fcntl, "flock", no_flock)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(json.dumps({"pid": sleeper.pid, "host": host_name()}))
        with pytest.raises(RunDirError, match=f"in use by scratchrun process {sleeper.pid} on {host_name()};"):
            folder_lock.lock_folder(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    lock = folder_lock.lock_folder(tmp_path)  # its pid is gone now
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_a_folder_that_cannot_hold_a_lock_file_is_one_sentence(tmp_path):
    with pytest.raises(RunDirError, match=r"\.lock cannot be created \(No such file or directory\)"):
        folder_lock.lock_folder(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_shared_locks_are_those_held(tmp_path):
    (tmp_path / "a").mkdir()
    lock = folder_lock.lock_folder(tmp_path / "a")
    assert [shared.fd for shared in folder_lock.shared_locks()] == [lock.fd]
    lock.release()
    assert folder_lock.shared_locks() == []
