"""The chapter-6 studies and the book's own scripts, side by side on this machine (issue 12), and where the time goes.

Run by hand, never in CI (needs the real MNIST files in SCRATCHRUN_DATA_DIR and ../shared/reference/):

    SCRATCHRUN_DATA_DIR=../shared/data python benchmarks/studies.py [--only bn-study,overfit-study] [--repeats 1]
        [--runs-dir DIR] [--book-python PYTHON] [--json OUT]

For each study, each repeat runs the book's script(s) for the same experiment, then the scratchrun command, one after
the other (book, ours, book, ours, ...), nothing else of this benchmark running beside them:

- book: `run-book-script SCRIPT` (one process, one BLAS thread; its own `SCRIPT wall N s` line is its wall time, which
  leaves out the script's copy and first-use MNIST pickle; its CPU time does not leave them out);
- ours: `python -m scratchrun STUDY` at its defaults, with its default `--jobs` (0: one worker per core), this
  checkout's code, a fresh runs folder.

The table: wall time; CPU time (user + sys of the whole process tree, from `os.wait4`: every process the command
waited for, workers included); peak RSS twice: of the largest single process (wait4's ru_maxrss) and of the whole
tree (the sum over the process group, sampled every 0.25 s, so a short peak can be missed); runs (networks trained:
the book scripts' fixed counts; for scratchrun, the run folders that recorded a summary); wall per run; and
"book / ours", the book's wall per network over scratchrun's wall per run (the issue's goal: at least 4).
With --repeats above 1, each figure is the median of the repeats.

Then, per study, where scratchrun's time went, from what its run folders record (medians over repeats):

- training steps: the sum of the runs' `train_time_s` (the training loop minus its evaluations: batches, steps,
  updates, loss logging);
- evaluations: the sum of (last `seconds` of metrics.csv - `train_time_s`): the loop's train/validation passes;
- after the loop: the sum of (`wall_time_s` - last `seconds`): closing the logs, model.npz and the final test-set
  score, together (the records do not separate them; a study's runs leave curves.png to `show`);
- outside the runs: command wall x workers - the sum of `wall_time_s`: interpreter start-up and imports, loading
  MNIST and making the splits, building each model and run folder, handing runs to workers and back, the study's
  own tables and figures, and workers idle (fewer runs left than workers, uneven run lengths). It is a remainder,
  not a measurement of any one of these.

"floor" is (training steps + evaluations) / workers: the loop's own work, back to back on the available cores.

"dry-run s" is what `--dry-run` estimated for the same command just before it ran, and "error" its distance from
the measured wall time (the goal: within 25%).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# study name -> (scratchrun arguments, book scripts, networks each book script trains)
STUDIES = {
    "compare-optimizers": (["compare-optimizers"], [("optimizer_compare_mnist", 4)]),
    "init-study": (["init-study"], [("weight_init_compare", 3)]),
    "bn-study": (["bn-study"], [("batch_norm_test", 32)]),
    "overfit-study": (["overfit-study"], [("overfit_weight_decay", 1), ("overfit_dropout", 1)]),
    "search": (["search", "configs/book-search.yaml"], [("hyperparameter_optimization", 100)]),
}


def tree_rss(pgid: int) -> int:
    """Resident bytes of every live process of a process group, from /proc."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 21 and int(fields[2]) == pgid and fields[0] != b"Z":
            total += int(fields[21]) * page
        # fields[2] is the process group, fields[21] the resident pages (stat fields 5 and 24)
    return total


def measured(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = REPO) -> dict:
    """Run a command in its own process group; its wall, CPU (the whole tree's), peak RSS, exit code and stdout."""
    peak = [0]
    with open(log, "wb") as err, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.25):
                peak[0] = max(peak[0], tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {proc.returncode}; its output is in {log}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_mb": usage.ru_maxrss / 1024,
            "tree_rss_mb": peak[0] / 2**20, "stdout": stdout}


def book(scripts: list[tuple[str, int]], reference: Path, python: str, logs: Path) -> dict:
    """Every book script of a study, one after the other; figures summed over them."""
    total = {"wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0, "tree_rss_mb": 0.0, "runs": 0, "scripts": {}}
    env = {**os.environ}
    for script, networks in scripts:
        result = measured([str(reference / "run-book-script"), script, python], logs / f"book-{script}.log", env)
        match = re.search(rf"^{script} wall ([0-9.]+) s$", result["stdout"], re.MULTILINE)
        if not match:
            sys.exit(f"run-book-script {script} printed no wall time: {result['stdout']!r}")
        wall = float(match.group(1))  # the script alone, not the copy and pickle of a first use
        total["scripts"][script] = {"wall_s": wall, "cpu_s": result["cpu_s"], "networks": networks}
        total["wall_s"] += wall
        total["cpu_s"] += result["cpu_s"]
        total["max_rss_mb"] = max(total["max_rss_mb"], result["max_rss_mb"])
        total["tree_rss_mb"] = max(total["tree_rss_mb"], result["tree_rss_mb"])
        total["runs"] += networks
    return total


def last_seconds(metrics: Path) -> float | None:
    with open(metrics, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["seconds"]) if rows and rows[-1].get("seconds") else None


def breakdown(folder: Path, wall: float, workers: int) -> dict:
    """Where a study's time went, from its run folders (see the module docstring for what each bucket holds)."""
    train = evals = after = in_runs = 0.0
    runs = 0
    for path in sorted(folder.rglob("summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        if summary.get("train_time_s") is None or summary.get("wall_time_s") is None:
            continue  # not a run's summary
        runs += 1
        loop = last_seconds(path.parent / "metrics.csv") if (path.parent / "metrics.csv").exists() else None
        loop = summary["train_time_s"] if loop is None else loop
        train += summary["train_time_s"]
        evals += loop - summary["train_time_s"]
        after += summary["wall_time_s"] - loop
        in_runs += summary["wall_time_s"]
    return {"runs": runs, "workers": workers, "train_s": train, "eval_s": evals, "after_s": after,
            "outside_s": wall * workers - in_runs, "floor_s": (train + evals) / workers}


def estimate(arguments: list[str], env: dict[str, str]) -> float:
    """What `--dry-run` says the command will take, in seconds (it measures this machine's speed for a moment)."""
    done = subprocess.run([sys.executable, "-m", "scratchrun", *arguments, "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    text = " ".join(done.stdout.split())
    match = re.search(r"dry run: .*?estimated ([0-9.]+) (s|min|h) on ", text)
    if not match:
        sys.exit(f"--dry-run printed no estimate: {text[-300:]!r}")
    return float(match.group(1)) * {"s": 1, "min": 60, "h": 3600}[match.group(2)]


def ours(name: str, arguments: list[str], runs_dir: Path, logs: Path) -> dict:
    """One scratchrun study at its defaults, in a fresh folder, with this checkout's code; and its dry run first."""
    target = runs_dir / name
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    estimated = estimate(arguments, env)
    result = measured([sys.executable, "-m", "scratchrun", *arguments, "--runs-dir", str(target)],
                      logs / f"{runs_dir.name}-{name}.log", env)
    folders = [p for p in target.iterdir() if p.is_dir()]
    if len(folders) != 1:
        sys.exit(f"expected one study folder in {target}, found {len(folders)}")
    runs = sum(1 for p in folders[0].rglob("summary.json")
               if json.loads(p.read_text(encoding="utf-8")).get("train_time_s") is not None)
    workers = max(1, min(os.cpu_count() or 1, runs))  # --jobs 0: one per core, never more than the runs
    result.pop("stdout")
    return {**result, "runs": runs, "estimate_s": estimated,
            "breakdown": breakdown(folders[0], result["wall_s"], workers)}


def median(rows: list[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STUDIES), help=f"comma-separated studies (of {', '.join(STUDIES)})")
    parser.add_argument("--repeats", type=int, default=1, help="book-then-ours pairs per study")
    parser.add_argument("--runs-dir", type=Path,
                        help="keep scratchrun's run folders here (default: a temporary folder)")
    parser.add_argument("--book-python", default=sys.executable, help="interpreter for the book (numpy, matplotlib)")
    parser.add_argument("--reference", type=Path, default=REPO.parent / "shared" / "reference",
                        help="the folder with run-book-script")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    studies = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in studies if s not in STUDIES]
    if unknown or not studies or args.repeats < 1:
        sys.exit(f"--only takes some of {', '.join(STUDIES)} (got {args.only}); --repeats at least 1")
    if not os.environ.get("SCRATCHRUN_DATA_DIR"):
        sys.exit("set SCRATCHRUN_DATA_DIR to the folder that holds mnist/")
    if not (args.reference / "run-book-script").exists():
        sys.exit(f"no run-book-script in {args.reference} (see --reference)")

    temporary = None if args.runs_dir else tempfile.mkdtemp(prefix="scratchrun-studies-")
    root = args.runs_dir or Path(temporary)
    root.mkdir(parents=True, exist_ok=True)
    raw: dict[str, dict[str, list]] = {}
    finished = False
    try:
        for name in studies:
            arguments, scripts = STUDIES[name]
            raw[name] = {"book": [], "ours": []}
            for i in range(args.repeats):
                print(f"{name}, repeat {i + 1}/{args.repeats}: book {' + '.join(s for s, _ in scripts)} ...",
                      flush=True)
                raw[name]["book"].append(book(scripts, args.reference, args.book_python, root))
                print(f"{name}, repeat {i + 1}/{args.repeats}: scratchrun {' '.join(arguments)} ...", flush=True)
                raw[name]["ours"].append(ours(name, arguments, root / f"repeat-{i}", root))
        finished = True
    finally:
        if temporary and finished:  # a failed command's log and folders stay, for its cause
            shutil.rmtree(temporary, ignore_errors=True)

    print(f"\n{os.cpu_count()} cores, python {sys.version.split()[0]}; medians of {args.repeats} repeat(s); "
          "CPU = user + sys of the process tree; RSS max = largest process, RSS sum = whole tree (sampled)")
    header = (f"{'study':<20} {'side':<10} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'RSS max MB':>10} "
              f"{'RSS sum MB':>10} {'wall/run s':>10} {'book/ours':>9} {'dry-run s':>9} {'error':>6}")
    print(header)
    print("-" * len(header))
    for name in studies:
        book_rows, our_rows = raw[name]["book"], raw[name]["ours"]
        book_per = median(book_rows, "wall_s") / book_rows[0]["runs"]
        our_per = statistics.median(r["wall_s"] / r["runs"] for r in our_rows)
        guess = median(our_rows, "estimate_s")
        error = f"{100 * (guess / median(our_rows, 'wall_s') - 1):+.0f}%"
        for side, rows, per, ratio, dry in (("book", book_rows, book_per, "", ""),
                                            ("scratchrun", our_rows, our_per, f"{book_per / our_per:.2f}x",
                                             f"{guess:>9.1f} {error:>6}")):
            print(f"{name:<20} {side:<10} {rows[0]['runs']:>4} {median(rows, 'wall_s'):>8.1f} "
                  f"{median(rows, 'cpu_s'):>8.1f} {median(rows, 'max_rss_mb'):>10.0f} "
                  f"{median(rows, 'tree_rss_mb'):>10.0f} {per:>10.2f} {ratio:>9} {dry}")

    print("\nWhere scratchrun's time went (worker-seconds, summed over runs; medians of the repeats):")
    for name in studies:
        parts = [r["breakdown"] for r in raw[name]["ours"]]
        wall = median(raw[name]["ours"], "wall_s")
        workers = parts[0]["workers"]
        capacity = wall * workers
        floor = median(parts, "floor_s")
        print(f"  {name}: {parts[0]['runs']} runs on {workers} workers, {wall:.1f} s wall = {capacity:.1f} "
              f"worker-s; floor (steps + evaluations on {workers} cores) {floor:.1f} s, wall is {wall / floor:.1f}x it")
        for key, label in (("train_s", "training steps (train_time_s)"),
                           ("eval_s", "evaluations in the loop (train + val passes)"),
                           ("after_s", "after the loop: model.npz, test set, summary"),
                           ("outside_s", "outside the runs: start-up, data, set-up, hand-off, study files, idle")):
            value = median(parts, key)
            print(f"    {label:<72} {value:8.1f} s  {100 * value / capacity:5.1f}%")

    if args.json:
        args.json.write_text(json.dumps({"cores": os.cpu_count(), "repeats": args.repeats, "studies": raw}, indent=2),
                             encoding="utf-8")
        print(f"\nraw figures in {args.json}")


if __name__ == "__main__":
    main()
