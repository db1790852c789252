"""The runs folder as the index reads it (records/index.py): stale heartbeats, the known statuses,
a name resolved to its folder.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone

import pytest

from scratchrun.records import index as run_index
from tests.records.test_reader import complete_files


def test_a_running_record_whose_heartbeat_is_old_reads_as_stale(tmp_path):
    now = time.time()
    for name, status, beat_age, expected in [("old", "running", 61, "stale"), ("fresh", "running", 30, "running"),
                                             ("done", "completed", 3600, "completed")]:
        folder = tmp_path / name
        folder.mkdir()
        beat = datetime.fromtimestamp(now - beat_age, timezone.utc).isoformat(timespec="seconds")
        (folder / "summary.json").write_text(json.dumps({"status": status, "heartbeat": beat}))
        complete_files(folder)
        assert run_index.read_run(folder, now=now).status == expected, name
    old = tmp_path / "no-heartbeat"  # an older record: the file's own time stands in for the heartbeat
    old.mkdir()
    (old / "summary.json").write_text('{"status": "running"}')
    os.utime(old / "summary.json", (now - 120, now - 120))
    assert run_index.read_run(old, now=now).status == "stale"
    assert run_index.read_run(old, now=now - 100).status == "running"
    odd = tmp_path / "odd"  # JSON, but not numbers where numbers belong
    odd.mkdir()
    (odd / "summary.json").write_text('{"status": "completed", "final": {"val_acc": "high"}}')
    assert run_index.read_run(odd).status == "unreadable"


def test_a_running_record_whose_pid_is_gone_from_this_host_is_stale_at_once(tmp_path):
    import socket
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    beat = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cases = [(child.pid, socket.gethostname(), "stale"),  # dead here: no need to wait a minute
             (os.getpid(), socket.gethostname(), "running"),  # alive here
             (child.pid, "another-host", "running"),  # a pid of another machine means nothing here: the heartbeat rules
             (child.pid, None, "running")]  # a record written before hosts were recorded: the heartbeat rules too
    for pid, host, expected in cases:
        folder = tmp_path / f"{pid}-{host}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"status": "running", "heartbeat": beat, "pid": pid,
                                                         "host": host}))
        assert run_index.read_run(folder).status == expected, (pid, host)


def test_every_status_a_listing_shows_is_recorded_or_derived_on_read():
    from scratchrun.records.status import LISTED, RECORDED, Status

    assert set(LISTED) == set(RECORDED) | {Status.STALE, Status.INCOMPLETE, Status.UNREADABLE}
    assert all(s.meaning and s.style and s.session.startswith("STATUS_") for s in Status)


def test_resolve_tries_names_as_they_are_then_without_stamps_then_prefixes_and_skips_links_out(tmp_path):
    runs_dir = tmp_path / "runs"
    for name in ("2024-01-01_00-00-00_small", "2024-01-01_00-00-01_small-2", "plain/old",
                 "2024-01-02_00-00-00_search-s/t-1"):
        (runs_dir / name).mkdir(parents=True)
        (runs_dir / name / "summary.json").write_text("{}")
    (runs_dir / "2024-01-02_00-00-00_search-s" / "search.yaml").write_text("name: s\n")
    (runs_dir / "2024-01-03_00-00-00_fresh").mkdir()  # a run that has only just started: config.yaml, no summary yet
    (runs_dir / "2024-01-03_00-00-00_fresh" / "config.yaml").write_text("name: fresh\n")
    assert run_index.resolve("small", runs_dir) == runs_dir / "2024-01-01_00-00-00_small"  # not `small-2` too
    assert run_index.resolve("old", runs_dir, runs_only=True) == runs_dir / "plain" / "old"  # a run one folder down
    assert run_index.resolve("fresh", runs_dir, runs_only=True) == runs_dir / "2024-01-03_00-00-00_fresh"
    assert run_index.resolve("search-s", runs_dir) == runs_dir / "2024-01-02_00-00-00_search-s"
    with pytest.raises(run_index.ConfigError, match="matches 2 runs in .*_small, .*_small-2; give more"):
        run_index.resolve("2024-01-01", runs_dir, runs_only=True)
    with pytest.raises(run_index.ConfigError, match="is not a run folder .*the runs inside it are .*small"):
        run_index.resolve(str(runs_dir), tmp_path / "none", runs_only=True)
    secret = tmp_path / "elsewhere" / "secret"
    secret.mkdir(parents=True)
    (secret / "summary.json").write_text("{}")
    (runs_dir / "link").symlink_to(secret)
    with pytest.raises(run_index.ConfigError, match="`link` matches no run, study or search folder"):
        run_index.resolve("link", runs_dir)


def test_a_completed_record_without_what_a_completed_run_has_reads_as_incomplete(tmp_path):
    """A summary that says completed is trusted only beside its logs and its weights (its figure is drawn from them)."""
    (tmp_path / "summary.json").write_text('{"status": "completed", "final": {"val_acc": 0.5}}')
    (tmp_path / "config.yaml").write_text("name: x\n")
    complete_files(tmp_path)
    assert run_index.read_run(tmp_path).status == "completed"
    (tmp_path / "model.npz").write_bytes((tmp_path / "model.npz").read_bytes()[:100])  # truncated by a full disk
    (tmp_path / "metrics.csv").unlink()
    run = run_index.read_run(tmp_path)
    assert (run.status, run.problem) == (
        "incomplete",
        "metrics.csv is missing; model.npz is damaged (it does not end in a zip index: truncated or overwritten)")
    assert run.final == {"val_acc": 0.5}  # what it says is still shown
    for status in ("failed", "interrupted", "diverged"):  # a run that did not complete owes no weights or figure
        (tmp_path / "summary.json").write_text(json.dumps({"status": status}))
        assert run_index.read_run(tmp_path).status == status
