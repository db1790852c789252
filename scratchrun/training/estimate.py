"""How long runs would take, before running them (`--dry-run`): split sizes from the config, speed measured here.

A dry run must neither read the dataset nor write anything, so the speed is measured on random inputs of the
right shape: a few training steps and one evaluation pass of the config's own network and optimizer, with one
BLAS thread, as a real run computes. Networks of the same shape share one measurement, and runs that differ only
in what never changes how much a run computes (`TIMELESS`: a seed, a learning rate, an initial weight scale) share
one estimate, so a study or search is timed from one config per distinct shape (experiments/dry_run.py).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scratchrun.config.loader import Config
from scratchrun.config.schema import HYPERPARAMETERS
from scratchrun.numbers import is_number
from scratchrun.training.footprint import check_fits

RUN_OVERHEAD_S = 0.02  # per run: its folder, config.yaml, model.npz, summary.json
CURVES_S = 0.4  # curves.png, which `train` draws as the run ends (a study's runs leave it to `show`)
WORKER_START_S = 0.6  # per parallel study: spawning workers that import NumPy and map the dataset
STUDY_FILES_S = 0.4  # per study or search: its tables and the figures drawn after its last run
SHARED_SLOWDOWN = 1.12  # a run beside others is this much slower than alone: caches, memory bandwidth, the parent
# (measured on the chapter-6 studies with 2 workers on 2 cores: 1.06 to 1.19)
MEASURE_S = 0.15  # time spent measuring each network shape
# Settings whose value changes what a run learns but not how long it takes: no estimate depends on them (a
# measurement uses the values of the first config of its shape).
TIMELESS = frozenset({"seed", "name", "model.init", "model.init_std", *(f"optimizer.{k}" for k in HYPERPARAMETERS)})
ON_OFF = frozenset({"model.dropout", "model.weight_decay"})  # these cost the same at any value > 0


@dataclass(frozen=True)
class Sizes:
    train: int
    val: int
    test: int
    features: int
    classes: int


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    sizes: Sizes
    iterations: int
    evaluations: int
    train_samples_per_s: float


def split_sizes(config: Config) -> Sizes:
    """The number of training, validation and test images the config asks for, from the dataset's published shapes."""
    from scratchrun.data.registry import DATASETS
    from scratchrun.data.splits import check_test_size, check_train_size, held_out

    spec = DATASETS[config.data.dataset]
    n_total, *image = spec.files["train_images"].shape
    data = config.data
    n_val = held_out(data, n_total)
    check_train_size(data, n_total - n_val, n_val)  # what a real run would refuse, a dry run refuses too
    n_test = check_test_size(data, spec.files["test_images"].shape[0])
    n_train = n_total - n_val if data.train_size is None else data.train_size
    if data.train_on_val:
        n_train, n_val = n_train + n_val, 0
    return Sizes(n_train, n_val, n_test, math.prod(image), len(spec.classes) or 10)


_speeds: dict[tuple, tuple[float, float]] = {}


def cost_signature(settings: Iterable[tuple[str, Any]]) -> tuple:
    """What of these dotted settings (set on one shared base config) can change a run's estimate: runs whose
    signatures match take the same time. A TIMELESS key counts by its presence only, an ON_OFF key by whether it
    is on."""
    signature = []
    for key, value in settings:
        if key in ON_OFF and is_number(value):
            signature.append((key, value > 0))
        else:
            signature.append((key, None if key in TIMELESS else repr(value)))
    return tuple(signature)


def measure(config: Config, sizes: Sizes) -> tuple[float, float]:
    """Seconds per training sample and per evaluated sample for this config's network, batch size and optimizer."""
    model = config.model  # its shape: the initial weights and the optimizer's hyperparameters cost nothing
    key = (config.data.dataset, model.hidden, model.activation, model.batch_norm, model.dropout > 0,
           model.weight_decay > 0, config.optimizer.name, config.train.batch_size, sizes.features, sizes.classes)
    if key not in _speeds:
        check_fits(config)  # measuring builds the network: one too big for this machine is refused first
        _speeds[key] = _measure(config, sizes)
    return _speeds[key]


def _measure(config: Config, sizes: Sizes) -> tuple[float, float]:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from scratchrun.nn.model import MLP
    from scratchrun.nn.optimizers import OPTIMIZERS

    rng = np.random.default_rng(0)
    model = MLP(sizes.features, sizes.classes, config.model, np.random.default_rng(1), np.random.default_rng(2))
    optimizer = OPTIMIZERS[config.optimizer.name](**config.optimizer.params)
    batch = max(1, min(config.train.batch_size, sizes.train))
    x = rng.random((batch, sizes.features), dtype=np.float32)
    y = rng.integers(sizes.classes, size=batch)
    chunk = rng.random((2000, sizes.features), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(all="ignore"):
        for _ in range(2):  # warm-up: first calls allocate
            model.train_step(x, y)
            model.update(optimizer)
        steps, start = 0, time.perf_counter()
        while steps < 3 or (time.perf_counter() - start < MEASURE_S and steps < 200):
            model.train_step(x, y)
            model.update(optimizer)
            steps += 1
        per_train = (time.perf_counter() - start) / (steps * batch)
        model.forward(chunk, train=False)
        start = time.perf_counter()
        model.forward(chunk, train=False)
        per_eval = (time.perf_counter() - start) / len(chunk)
    return per_train, per_eval


def run_estimate(config: Config, stop_epochs: int | None = None, evaluate_test: bool = True,
                 curves: bool = False) -> RunEstimate:
    """A run's wall time: its updates, its evaluations (the tracked splits each time, both at the last one), the test
    pass, and its files (`curves`: with curves.png, as `train` draws it)."""
    sizes = split_sizes(config)
    per_train, per_eval = measure(config, sizes)
    batch = max(1, min(config.train.batch_size, sizes.train))
    per_epoch = -(-sizes.train // batch)
    iterations = config.train.iterations or config.train.epochs * per_epoch
    if stop_epochs is not None:
        iterations = min(iterations, stop_epochs * per_epoch)
    every = config.train.eval_every or per_epoch
    evaluations = 1 + -(-iterations // every)
    tracked = sum(size for split, size in (("train", sizes.train), ("val", sizes.val)) if split in config.train.track)
    evaluated = (evaluations - 1) * tracked + sizes.train + sizes.val + (sizes.test if evaluate_test else 0)
    seconds = iterations * batch * per_train + evaluated * per_eval + RUN_OVERHEAD_S + (CURVES_S if curves else 0.0)
    return RunEstimate(seconds, sizes, iterations, evaluations, 1 / per_train)


def makespan(seconds: Sequence[float], workers: int) -> float:
    """Wall time of a study's or search's runs handed in order to the first free of `workers` workers (how the
    executors schedule), with the workers' start and the study's own files."""
    if workers <= 1 or len(seconds) <= 1:
        return float(sum(seconds)) + STUDY_FILES_S
    free = [0.0] * min(workers, len(seconds))
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s * SHARED_SLOWDOWN)
    return max(free) + WORKER_START_S + STUDY_FILES_S


