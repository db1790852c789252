"""`scratchrun data fetch` stopped mid-download, in a real process over a loopback mirror:
SIGTERM discards the partial file as Ctrl-C does; after kill -9, whose process could clean nothing, the next fetch
of that file deletes the `.part` file (its name holds the dead fetch's pid) and fetches the file whole."""

from __future__ import annotations

import functools
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
FETCH = """
import sys
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, {tests!r})
from idx_fixtures import write_tiny_dataset
from scratchrun.cli.app import app
from scratchrun.data.registry import DATASETS
DATASETS["tiny"] = replace(write_tiny_dataset(Path({source!r}), "tiny", n_train=3000, n_test=60), mirrors=({url!r},))
app(["data", "fetch", "tiny"], prog_name="scratchrun")
"""


@pytest.fixture
def stalling_mirror(tmp_path):
    """A loopback mirror of tmp_path/source/tiny that sends half of the first file asked for, then waits until
    `release` is set; yields (base URL, release)."""
    release = threading.Event()
    stalled = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if stalled:
                return super().do_GET()
            stalled.append(self.path)
            data = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            release.wait(60)

    folder = tmp_path / "source" / "tiny"
    folder.mkdir(parents=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", release
    release.set()
    server.shutdown()
    server.server_close()


def start_fetch(tmp_path: Path, url: str) -> subprocess.Popen:
    (tmp_path / "empty").mkdir(exist_ok=True)  # a data folder without the dataset: the fetch must download it
    env = {**os.environ, "SCRATCHRUN_CACHE_DIR": str(tmp_path / "cache"),
           "SCRATCHRUN_DATA_DIR": str(tmp_path / "empty")}
    script = FETCH.format(tests=str(TESTS), source=str(tmp_path / "source"), url=url)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def partial_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("tiny/.*.part"))


def wait_for_a_partial_file(tmp_path: Path, proc: subprocess.Popen) -> Path:
    deadline = time.monotonic() + 60  # a safety net for a broken fetch, not a speed goal
    while not [p for p in partial_files(tmp_path) if p.stat().st_size > 0]:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the fetch never started writing"
        time.sleep(0.02)
    (part,) = partial_files(tmp_path)
    return part


def test_sigterm_during_a_download_discards_the_partial_file(tmp_path, stalling_mirror):
    url, release = stalling_mirror
    proc = start_fetch(tmp_path, url)
    try:
        part = wait_for_a_partial_file(tmp_path, proc)
        assert f".{proc.pid}-" in part.name  # the name holds the fetch's pid
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, output
    flat = " ".join(output.split())
    assert "interrupted" in flat and "partial ones were discarded" in flat and "Traceback" not in flat
    assert partial_files(tmp_path) == []


def test_a_fetch_killed_with_sigkill_leaves_a_part_file_the_next_fetch_deletes(tmp_path, stalling_mirror):
    url, release = stalling_mirror
    proc = start_fetch(tmp_path, url)
    try:
        part = wait_for_a_partial_file(tmp_path, proc)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert partial_files(tmp_path) == [part]  # kill -9: no clean-up could run
    release.set()
    again = start_fetch(tmp_path, url)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert partial_files(tmp_path) == []
    assert len(list((tmp_path / "cache" / "tiny").glob("*.gz"))) == 4
