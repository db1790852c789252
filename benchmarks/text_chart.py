"""How long `scratchrun show`'s braille chart takes to draw a loss curve of 30 to 300,000 points.

Run by hand, never in CI:

    PYTHONPATH=. python benchmarks/text_chart.py [--repeats 20]

Points are averaged per dot column before anything is drawn, so the time should barely grow with their number
(tests/cli/display/test_text_chart.py checks that only the 120 column means reach the drawing loop; this prints
the seconds). Prints min and median per size, for a 60×12 chart.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from scratchrun.cli.display.text_chart import line_chart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timings per size")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; 60x12 chart, {args.repeats} repeats: min / median")
    for n in (30, 3_000, 30_000, 300_000):
        y = 2.3 * np.exp(-np.arange(n) / (n / 10)) + 0.1 * rng.random(n)
        x = np.arange(1, n + 1)
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            line_chart(y, x, 60, 12, x_label="iteration")
            seconds.append(time.perf_counter() - started)
        print(f"  {n:>9,} points  {min(seconds) * 1000:7.2f} ms / {statistics.median(seconds) * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
