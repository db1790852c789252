"""How fast the workers of a killed study stop, and how fast a killed worker's run is reported (issue 11, items 3-4).

Run by hand, never in CI (needs the real MNIST files in SCRATCHRUN_DATA_DIR):

    python benchmarks/worker_exit.py [--repeats 3]

Each repeat starts `scratchrun compare-optimizers --optimizers sgd,adam,momentum --jobs 2` (2,000 images,
20,000 updates per run, far longer than the measurement) in its own process group and waits until two runs are
training. Then, in turn:

- parent: `kill -9` of the study's process; prints the seconds until every run that was training says
  `interrupted` in its summary.json, and until no process of the group (workers, resource tracker) is left;
- worker: `kill -9` of one worker; prints the seconds until that run's summary.json says `failed`, and
  whether the run on the other worker kept training (the study is then stopped with Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "scratchrun", "compare-optimizers", "--optimizers", "sgd,adam,momentum",
           "train.iterations=20000", "data.train_size=2000", "--jobs", "2"]


def group(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields and int(fields[2]) == pgid and fields[0] != b"Z":
            pids.append(int(entry.name))
    return pids


def statuses(runs: Path) -> dict[str, dict]:
    found = {}
    for path in runs.glob("*/*/summary.json"):
        try:
            found[path.parent.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    return found


def start(runs: Path) -> tuple[subprocess.Popen, dict[str, dict]]:
    proc = subprocess.Popen([*COMMAND, "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    while True:
        live = {k: v for k, v in statuses(runs).items() if v.get("status") == "running"}
        if len(live) == 2:
            return proc, live
        if proc.poll() is not None:
            sys.exit("the study ended before two runs were training")
        time.sleep(0.05)


def until(condition, began: float, timeout: float = 120) -> float:
    """Seconds from `began` until `condition()` holds (nan if it never does within `timeout`)."""
    while not condition():
        if time.monotonic() - began > timeout:
            return float("nan")
        time.sleep(0.02)
    return time.monotonic() - began


def kill_parent(runs: Path) -> tuple[float, float]:
    proc, live = start(runs)
    time.sleep(1)
    began = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stopped = until(lambda: all(statuses(runs)[name]["status"] == "interrupted" for name in live), began)
    return stopped, until(lambda: not group(proc.pid), began)


def kill_worker(runs: Path) -> tuple[float, bool]:
    proc, live = start(runs)
    time.sleep(1)
    victim, other = sorted(live)
    began = time.monotonic()
    os.kill(live[victim]["pid"], signal.SIGKILL)
    reported = until(lambda: statuses(runs)[victim]["status"] == "failed", began)
    before = statuses(runs)[other].get("heartbeat")
    time.sleep(6)  # the heartbeat is rewritten every 5 s while a run trains
    still = statuses(runs)[other].get("status") == "running" and statuses(runs)[other].get("heartbeat") != before
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)
    return reported, still


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("SCRATCHRUN_DATA_DIR"):
        sys.exit("set SCRATCHRUN_DATA_DIR to the folder that holds mnist/")
    parents, workers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            parents.append(kill_parent(Path(tmp) / f"parent-{i}"))
            workers.append(kill_worker(Path(tmp) / f"worker-{i}"))
    print(f"kill -9 of the study ({args.repeats} repeats): runs recorded interrupted after "
          f"{', '.join(f'{s:.2f}' for s, _ in parents)} s; no process of its group left after "
          f"{', '.join(f'{g:.2f}' for _, g in parents)} s (median {statistics.median(g for _, g in parents):.2f} s)")
    print(f"kill -9 of a worker: its run recorded failed after {', '.join(f'{s:.2f}' for s, _ in workers)} s; "
          f"the other worker's run kept training: {', '.join('yes' if k else 'NO' for _, k in workers)}")


if __name__ == "__main__":
    main()
