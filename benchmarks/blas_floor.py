"""How close the training steps and evaluations are to the speed of their matrix products (issue 12), on this machine.

Run by hand, never in CI (about 20 s; random inputs, nothing read or written):

    python benchmarks/blas_floor.py

Prints, with one BLAS thread, as every run computes:
  1. the float32 matrix product's speed (GMAC/s) at the shapes the chapter-6 studies use: evaluation chunks of
     1,000 to 10,000 rows through a 784x100 layer, a minibatch of 100 or 128, a 100x100 hidden layer;
  2. one training step (forward, backward, update) of bn-study's net, 784-(100x5)-10 with SGD, with and without
     BatchNorm, and of the book net with Adam; beside each, the time its matrix products alone would take at the
     speed measured in 1;
  3. stacked trials: 8 trials' products as one `np.matmul` over stacked matrices against one product per trial.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from scratchrun.config.loader import config_from_dict  # noqa: E402
from scratchrun.nn.model import MLP  # noqa: E402
from scratchrun.nn.optimizers import OPTIMIZERS  # noqa: E402

RNG = np.random.default_rng(0)


def best_of(function, repeats: int = 5, inner: int = 50) -> float:
    """Seconds per call: the best of `repeats` timings of `inner` calls, after a warm-up."""
    for _ in range(5):
        function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            function()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def gemm_speed(m: int, k: int, n: int) -> float:
    """GMAC/s of an (m, k) by (k, n) float32 product."""
    a, b = RNG.random((m, k), dtype=np.float32), RNG.standard_normal((k, n)).astype(np.float32)
    return m * k * n / best_of(lambda: a @ b, inner=max(5, 200_000 // m)) / 1e9


def step_macs(sizes: list[int], batch: int) -> int:
    """Multiply-adds of one step's products: forward, weight gradients, and input gradients but the first layer's."""
    layers = list(zip(sizes, sizes[1:]))
    forward = sum(a * b for a, b in layers)
    return batch * (2 * forward + sum(a * b for a, b in layers[1:]))


def step_time(hidden: list[int], optimizer: str, batch: int, batch_norm: bool = False) -> float:
    config = config_from_dict({"model": {"hidden": hidden, "batch_norm": batch_norm, "init": "std", "init_std": 0.05}})
    model = MLP(784, 10, config.model, np.random.default_rng(1), np.random.default_rng(2))
    update = OPTIMIZERS[optimizer]()
    x, y = RNG.random((batch, 784), dtype=np.float32), RNG.integers(10, size=batch)

    def step():
        model.train_step(x, y)
        model.update(update)

    return best_of(step, inner=200)


def main() -> None:
    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')})" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"{', '.join(blas)}; numpy {np.__version__}; one BLAS thread")
    with threadpool_limits(1, user_api="blas"):
        print("\n1. float32 matrix products, GMAC/s")
        speeds = {}
        for shape in [(10_000, 784, 100), (6_000, 784, 100), (1_000, 784, 100), (128, 784, 100), (100, 784, 100),
                      (100, 100, 100), (7_000, 100, 100)]:
            speeds[shape] = gemm_speed(*shape)
            print(f"   {shape[0]:>6} x {shape[1]:>3} by {shape[1]:>3} x {shape[2]:<3} {speeds[shape]:6.1f}")
        step_speed = speeds[(100, 784, 100)]

        print(f"\n2. one training step, ms (products alone at {step_speed:.0f} GMAC/s)")
        for label, hidden, optimizer, batch, bn in [
            ("bn-study net, SGD, batch 100, BatchNorm", [100] * 5, "sgd", 100, True),
            ("bn-study net, SGD, batch 100, plain", [100] * 5, "sgd", 100, False),
            ("book net, Adam, batch 100", [100] * 4, "adam", 100, False),
        ]:
            seconds = step_time(hidden, optimizer, batch, bn)
            floor = step_macs([784, *hidden, 10], batch) / (step_speed * 1e9)
            print(f"   {label:<42} {seconds * 1e3:6.3f}   ({floor * 1e3:.3f})")

        print("\n3. 8 trials' first two products (100x784 by 784x100, 100x100 by 100x100), µs per trial")
        k = 8
        x, w = RNG.random((k, 100, 784), dtype=np.float32), RNG.standard_normal((k, 784, 100)).astype(np.float32)
        h, v = RNG.random((k, 100, 100), dtype=np.float32), RNG.standard_normal((k, 100, 100)).astype(np.float32)

        def separate():
            for i in range(k):
                x[i] @ w[i]
                h[i] @ v[i]

        def stacked():
            np.matmul(x, w)
            np.matmul(h, v)

        print(f"   one product per trial {best_of(separate, inner=100) / k * 1e6:7.1f}")
        print(f"   stacked np.matmul     {best_of(stacked, inner=100) / k * 1e6:7.1f}")


if __name__ == "__main__":
    main()
