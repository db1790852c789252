"""Training speed and peak memory of the book's 5-layer MLP on real MNIST, via the code path `scratchrun train` uses.

Run by hand, never in CI:

    SCRATCHRUN_DATA_DIR=../shared/data python benchmarks/core_speed.py [--repeats 5]

Prints (1) training samples per second of 784-100-100-100-100-10, ReLU, He, Adam, batch 100, over full
epochs of the 54,000 training images (median and range of the repeats, after a warm-up epoch), and
(2) the peak resident memory of a real `scratchrun train` process doing one full-MNIST epoch.
Training uses one BLAS thread, as every scratchrun run does.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs (after one warm-up epoch)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.records.writer import blas_description
    from scratchrun.training.run import BLAS_THREADS, build, prepare_data
    from scratchrun.training.trainer import train

    print(f"python {sys.version.split()[0]}")
    config = config_from_dict({"name": "bench", "model": {"hidden": [100] * 4}, "optimizer": {"name": "adam"},
                               "train": {"epochs": 1, "batch_size": 100}})
    started = time.perf_counter()
    raw = load_raw("mnist")
    data = prepare_data(config, raw)
    print(f"data loaded and split in {time.perf_counter() - started:.2f} s: {len(data.train):,} training images")

    model, optimizer, batch_rng = build(config, data)
    rates = []
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        print(f"BLAS: {blas_description()}")
        for repeat in range(args.repeats + 1):
            result = train(model, optimizer, data, config.train, batch_rng)
            if repeat:  # the first epoch warms caches and allocators
                rates.append(result.samples / result.train_seconds)
    print(
        f"training samples/s, book net (784-100x4-10, ReLU, Adam, batch 100), {args.repeats} epochs: "
        f"median {statistics.median(rates):,.0f}  (min {min(rates):,.0f}, max {max(rates):,.0f})"
    )

    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "scratchrun", "train", str(REPO / "configs" / "mnist.yaml"),
                   "train.epochs=1", "--runs-dir", runs, "--quiet"]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    print(f"peak RSS of `scratchrun train configs/mnist.yaml train.epochs=1` (full MNIST): {peak_mb:.0f} MB, "
          f"wall {wall:.1f} s")


if __name__ == "__main__":
    main()
