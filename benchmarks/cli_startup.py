"""Wall time of `scratchrun --help`, which must stay under 0.3 s (heavy modules are imported inside commands).

Run by hand, never in CI:

    python benchmarks/cli_startup.py [--runs 20] [--command data status --help]

Prints the min / median / max wall time of N fresh `scratchrun --help` processes, beside the same figures for
a bare `python -c pass` (the interpreter's own start-up, which no change to scratchrun can remove), the
heavy modules that `import scratchrun.cli.app` pulls in (there should be none), and the folder the timed
`scratchrun` imported its code from (with PYTHONPATH=. a checkout's code, not an editable install elsewhere).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_S = 0.3
HEAVY = ("numpy", "matplotlib", "yaml", "threadpoolctl", "dask", "rich.progress", "rich.table")


def wall_times(command: list[str], runs: int) -> list[float]:
    """Seconds per fresh process, after one untimed run that warms the disk cache."""
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def heavy_imports(python: str, cwd: Path) -> tuple[str, list[str]]:
    """The folder scratchrun is imported from, and the modules from HEAVY that importing the CLI loads.

    Run from `cwd`, the timed script's folder, so the import path is the script's (not the current folder's).
    """
    probe = (f"import sys, scratchrun, scratchrun.cli.app; print(scratchrun.__path__[0]); "
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=cwd).stdout.splitlines()
    return out[0], out[1].split() if len(out) > 1 else []


def line(label: str, times: list[float]) -> str:
    return (f"{label:<28} min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
            f"max {max(times):.3f} s  ({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed processes per command")
    parser.add_argument("--command", nargs=argparse.REMAINDER, default=["--help"],
                        help="scratchrun arguments to time instead of --help (put it last)")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("scratchrun")
    scratchrun = str(script) if script.is_file() else shutil.which("scratchrun")
    if scratchrun is None:
        sys.exit("scratchrun is not installed beside this python or on PATH; run `pip install -e .` first.")

    help_times = wall_times([scratchrun, *args.command], args.runs)
    python_times = wall_times([sys.executable, "-c", "pass"], args.runs)
    print(line(f"scratchrun {' '.join(args.command)}", help_times))
    print(line("python -c pass", python_times))
    print(f"scratchrun's own share (median): {statistics.median(help_times) - statistics.median(python_times):.3f} s")
    source, heavy = heavy_imports(sys.executable, Path(scratchrun).parent)
    print(f"scratchrun's code imported from: {source}")
    print(f"heavy modules loaded by `import scratchrun.cli.app`: {', '.join(heavy) or 'none'}")
    verdict = "within" if statistics.median(help_times) < BUDGET_S else "OVER"
    print(f"median is {verdict} the {BUDGET_S} s budget")


if __name__ == "__main__":
    main()
