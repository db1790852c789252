"""How close `training/footprint.py`'s size of a run is to what the run really takes: peak RSS, measured.

Run by hand, never in CI:

    PYTHONPATH=. python benchmarks/footprint.py

For each config below, a fresh process builds the network (`training.run.build`), takes three training steps
with their updates and evaluates one trainer.EVAL_CHUNK of random MNIST-shaped rows, as a run does; it prints
the growth of its peak RSS over the interpreter's (the `measured` column) beside `footprint(config).total`.
The footprint is meant to be an upper bound within a factor of about two: too low and a run the check let
through could still exhaust memory, too high and it refuses networks that would fit.
"""

from __future__ import annotations

import subprocess
import sys

CONFIGS = [
    [],
    ["model.hidden=[2000,2000]", "optimizer.name=sgd"],
    ["model.hidden=[2000,2000]"],
    ["model.hidden=[4096,4096]", "model.batch_norm=true", "model.dropout=0.5", "train.batch_size=1000"],
    ["model.hidden=[1000,1000,1000]", "model.activation=sigmoid", "train.batch_size=5000"],
    ["model.hidden=[8000]", "model.batch_norm=true", "train.batch_size=10000"],
]

ONE = """
import resource, sys
import numpy as np
from scratchrun.config.loader import load_config
from scratchrun.nn.losses import cross_entropy_sum
from scratchrun.training.footprint import footprint
from scratchrun.training.run import build
from scratchrun.training.trainer import EVAL_CHUNK

config = load_config("configs/mnist.yaml", sys.argv[1:])
rng = np.random.default_rng(0)
x = rng.random((config.train.batch_size, 784), dtype=np.float32)
y = rng.integers(10, size=config.train.batch_size)
chunk, y_chunk = rng.random((EVAL_CHUNK, 784), dtype=np.float32), rng.integers(10, size=EVAL_CHUNK)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - x.nbytes - chunk.nbytes  # the inputs are the run's
class Shape:
    n_features, n_classes = 784, 10
model, optimizer, _ = build(config, Shape)
for _ in range(3):
    model.train_step(x, y)
    model.update(optimizer)
    cross_entropy_sum(model.forward(chunk, train=False), y_chunk)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(peak - before, footprint(config).total)
"""


def main() -> None:
    print(f"{'overrides of configs/mnist.yaml':<88} {'measured':>10} {'footprint':>10} {'ratio':>6}")
    for overrides in CONFIGS:
        done = subprocess.run([sys.executable, "-c", ONE, *overrides], capture_output=True, text=True, check=True)
        measured, estimated = (int(v) for v in done.stdout.split())
        print(f"{' '.join(overrides) or '(none)':<88} {measured / 1e6:>8.0f}MB {estimated / 1e6:>8.0f}MB "
              f"{estimated / measured:>6.2f}")


if __name__ == "__main__":
    main()
