"""How long a report over 1,000 runs takes to make and to open in a browser (issue 13's goal: under 3 s to open).

Run by hand, never in CI, with the machine otherwise quiet:

    SCRATCHRUN_DATA_DIR=../shared/data python benchmarks/report_open.py [--work /tmp/report-bench] [--repeats 3]

The first time, it trains a real runs folder into --work (about 3 minutes, kept for later calls): the book's search
(configs/book-search.yaml) with 1,000 trials, one search whose parallel coordinates draw 1,000 lines, plus
compare-optimizers with 2 seeds, so that study figures with bands are drawn too. Then, --repeats times:
  1. `make_report` over the whole folder: seconds and megabytes;
  2. the file opened from disk in headless chromium (Playwright): seconds from navigation to the page's ready flag
     (table, selected runs' curves and the first charts drawn), and until every chart of every section is drawn.
Prints the medians, with the machine and versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def make_runs(work: Path) -> Path:
    """A runs folder of 1,000 search trials and a 12-run study, trained once."""
    import scratchrun

    runs = work / "runs"
    if (work / "done").is_file():
        return runs
    shutil.rmtree(runs, ignore_errors=True)
    data = os.environ.get("SCRATCHRUN_DATA_DIR")
    print("training the runs folder once (about 3 minutes) ...", flush=True)
    scratchrun.search(ROOT / "configs" / "book-search.yaml", trials=1000, runs_dir=runs, data_dir=data)
    scratchrun.compare_optimizers(seeds=2, runs_dir=runs, data_dir=data)
    (work / "done").write_text("")
    return runs


def cpu() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def open_times(browser, path: Path) -> tuple[float, float]:
    """Seconds from navigation to the ready flag, and until every chart is drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function("document.documentElement.dataset.ready === 'true'", timeout=60_000)
    ready = time.perf_counter() - start
    page.evaluate("window.scratchrunReport.drawAll()")
    page.wait_for_function("[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'))")
    drawn = time.perf_counter() - start
    page.close()
    return ready, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/report-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runs = make_runs(args.work)

    import numpy
    from playwright.sync_api import sync_playwright

    from scratchrun.reporting.page import make_report

    made, sizes, ready, drawn = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
        for _ in range(args.repeats):
            start = time.perf_counter()
            written = make_report([], runs, args.work / "report.html", "benchmarks/report_open.py")
            made.append(time.perf_counter() - start)
            sizes.append(written.size / 1e6)
            first, every = open_times(browser, written.path)
            ready.append(first)
            drawn.append(every)
        version = browser.version
        browser.close()
    print(f"machine: {cpu()}, {os.cpu_count()} cores; Python "
          f"{platform.python_version()}, NumPy {numpy.__version__}, chromium {version} (headless)")
    print(f"report: {written.covers}; medians of {args.repeats}")
    print(f"  make_report           {statistics.median(made):6.2f} s   ({statistics.median(sizes):.1f} MB)")
    print(f"  open to ready         {statistics.median(ready):6.2f} s   (table, curves of 3 runs, first charts)")
    print(f"  open to every chart   {statistics.median(drawn):6.2f} s")


if __name__ == "__main__":
    main()
