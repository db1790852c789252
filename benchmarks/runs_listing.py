"""How long `scratchrun runs` takes over many run folders (the issue asks for 1,000 in well under 2 s).

The test suite bounds the work instead (tests/cli/test_runs.py: each record opened once, only model.npz's zip index
read), since seconds on a loaded machine say little; this prints the seconds.

Run by hand, never in CI:

    python benchmarks/runs_listing.py [--runs 1000] [--repeats 5]

Builds N synthetic run folders (a real config.yaml and a completed summary.json each, with lr, optimizer and
width varying, beside the files a completed run must have: logs, a small model.npz, curves.png) in a temporary
folder, then prints min and median of the repeats for: reading the folders (`records.index.scan`), the whole
command in-process with the terminal table, with --csv, and with --csv as a fresh `scratchrun` process
(interpreter start-up and imports included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_runs(root: Path, n: int) -> None:
    """N run folders as `scratchrun train` leaves them; the files listing only checks are small (model.npz: its zip
    index is what is read, whatever the size of its arrays)."""
    import numpy as np

    from scratchrun.config.loader import config_from_dict, dump_yaml

    for i in range(n):
        optimizer = ("sgd", "momentum", "adam")[i % 3]
        config = config_from_dict({"name": f"run-{i}", "seed": i % 5, "model": {"hidden": [100 * (1 + i % 4)] * 2},
                                   "optimizer": {"name": optimizer, "lr": 10 ** (-1 - (i % 7) / 2)}})
        folder = root / f"2026-01-{1 + i // 1440:02d}_{i // 60 % 24:02d}-{i % 60:02d}-00_run-{i}"
        folder.mkdir()
        (folder / "config.yaml").write_text(dump_yaml(config), encoding="utf-8")
        final = {"train_loss": 0.1, "train_acc": 0.97, "val_loss": 0.12, "val_acc": 0.96 + i % 10 / 1000,
                 "test_loss": 0.13, "test_acc": 0.955}
        summary = {"status": "completed", "final": final, "best_val_acc": final["val_acc"], "best_epoch": 9,
                   "message": None, "iterations": 5400, "epochs": 10, "wall_time_s": 60.0 + i, "train_time_s": 55.0,
                   "samples_per_s": 9800.0, "train_samples": 54000, "val_samples": 6000, "test_samples": 10000,
                   "blas": "openblas 0.3.27, 1 thread(s)", "seed": i % 5, "started": "2026-01-01T00:00:00",
                   "versions": {"python": "3.12.0", "numpy": "2.1.0", "scratchrun": "0.1.0"}, "git_commit": None}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        (folder / "steps.csv").write_text("iteration,epoch,loss\n", encoding="utf-8")
        (folder / "metrics.csv").write_text("epoch,iteration,train_loss,train_acc,val_loss,val_acc,seconds\n",
                                            encoding="utf-8")
        np.savez(folder / "model.npz", **{f"{kind}{layer}": np.zeros(4) for layer in (1, 2, 3) for kind in "Wb"})
        (folder / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def timed(work, repeats: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="run folders to build")
    parser.add_argument("--repeats", type=int, default=5, help="timings per measurement")
    args = parser.parse_args()
    import yaml
    from typer.testing import CliRunner

    from scratchrun.cli.app import app
    from scratchrun.records.index import scan

    runner = CliRunner()

    def command(*extra: str):
        def work():
            result = runner.invoke(app, ["runs", str(root), *extra])
            assert result.exit_code == 0, result.output
        return work

    print(f"python {sys.version.split()[0]}, PyYAML {yaml.__version__} (libyaml: {hasattr(yaml, 'CSafeLoader')})")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_runs(root, args.runs)
        print(f"{args.runs} run folders, {args.repeats} repeats each: min / median")
        for label, work in [
            ("read the folders (index.scan)", lambda: scan(root)),
            ("scratchrun runs (terminal table, in-process)", command()),
            ("scratchrun runs --csv (in-process)", command("--csv")),
            ("scratchrun runs --csv (new process)", lambda: subprocess.run(
                [sys.executable, "-m", "scratchrun", "runs", str(root), "--csv"], cwd=REPO, check=True,
                stdout=subprocess.DEVNULL)),
        ]:
            best, median = timed(work, args.repeats)
            print(f"  {label:<46} {best:6.3f} s / {median:6.3f} s")


if __name__ == "__main__":
    main()
