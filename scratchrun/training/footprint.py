"""The memory a run's arrays would take, worked out from its config before one of them is allocated.

A network too big for this machine is refused in a sentence, not found out by a MemoryError (or the kernel's
OOM killer) after gigabytes are allocated: `model.hidden=[100000,100000]` is 10¹⁰ weights, 40 GB a copy.
Every run checks here before it builds its network (`run_experiment`), and so does every speed measurement of
`--dry-run`, which builds it too; studies and searches check each config before they make their folder.

What is counted, in float32 (4 bytes), P being the number of parameters:
- building the network: each layer's weights and gradient, then the packed copies of both (16·P bytes), or the
  float64 draw of the largest weight matrix beside the layers before it, whichever is more;
- training: parameters and gradients (8·P), the optimizer's scratch copy and its state (4·P each: momentum and
  nesterov keep v, adagrad and rmsprop h, adam m and v);
- activations, for one minibatch and one evaluation chunk (trainer.EVAL_CHUNK rows) at once, since the layers
  keep the last batch's caches while evaluating: per hidden unit and row, the activation's output and its mask
  or cache (2 arrays; in training +2 for BatchNorm's x̂ and output, +2 for dropout's mask and output), per row
  3 arrays as wide as the widest layer (an Affine output, backward's dout and dx) and 3 per class (logits,
  softmax, gradient), plus the float32 buffers the rows are scaled into, and the small training and validation
  splits a run keeps as float32 for its evaluations (trainer.EvalSplit: at most 2·EVAL_CACHE_BYTES).
The dataset itself is not counted: it is memory-mapped and shared by every run on the machine.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path

from scratchrun.config.loader import Config
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import OPTIMIZERS
from scratchrun.text import size_text
from scratchrun.training.trainer import EVAL_CACHE_BYTES, EVAL_CHUNK

MEMORY_SHARE = 0.5  # of this machine's memory (or its cgroup's limit): the most one run may plan to use
FLOAT = 4  # bytes of a float32
KEPT, BATCH_NORM_KEPT, DROPOUT_KEPT = 2, 2, 2  # arrays per hidden unit and row (see above)
WIDEST, OUTPUT = 3, 3  # arrays per row as wide as the widest layer, and per class


@dataclass(frozen=True)
class Footprint:
    """A run's planned memory, in bytes, by what holds it."""

    parameters: int  # how many (not bytes)
    building: int
    weights: int  # parameters and gradients while training
    optimizer: int  # scratch and state
    activations: int

    @property
    def total(self) -> int:
        return max(self.building, self.weights + self.optimizer + self.activations)


@dataclass(frozen=True)
class MemoryLimit:
    bytes: int
    source: str  # what it is a share of, e.g. "this machine's 25.3 GB of memory"


def footprint(config: Config) -> Footprint:
    """The bytes `config`'s network, optimizer and activations would take on its dataset (published shapes)."""
    from scratchrun.data.registry import DATASETS

    spec = DATASETS[config.data.dataset]
    n_train, *image = spec.files["train_images"].shape
    features, classes = math.prod(image), len(spec.classes) or 10
    hidden, model = config.model.hidden, config.model
    sizes = [features, *hidden, classes]
    matrices = [fan_in * fan_out for fan_in, fan_out in itertools.pairwise(sizes)]
    n_params = sum(matrices) + sum(sizes[1:]) + (2 * sum(hidden) if model.batch_norm else 0)
    shared = WIDEST * max(hidden) + OUTPUT * classes
    train_row = (KEPT + BATCH_NORM_KEPT * model.batch_norm + DROPOUT_KEPT * (model.dropout > 0)) * sum(hidden) + shared
    eval_row = KEPT * sum(hidden) + shared  # evaluation: BatchNorm and dropout keep nothing
    batch = min(config.train.batch_size, n_train)
    chunk = min(EVAL_CHUNK, max(n_train, spec.files["test_images"].shape[0]))
    inputs = (batch + chunk) * features * FLOAT + chunk * features  # the float32 buffers, and a chunk's uint8 rows
    inputs += min(2 * EVAL_CACHE_BYTES, n_train * features * FLOAT)  # small train/validation splits kept as float32
    running = 2 * sum(hidden) * FLOAT if model.batch_norm else 0  # BatchNorm's running mean and variance
    return Footprint(
        parameters=n_params,
        building=max(4 * n_params * FLOAT, 2 * n_params * FLOAT + 2 * max(matrices) * 8),
        weights=2 * n_params * FLOAT + running,
        optimizer=(1 + len(OPTIMIZERS[config.optimizer.name].state)) * n_params * FLOAT,
        activations=(batch * train_row + chunk * eval_row) * FLOAT + inputs,
    )


def memory_limit() -> MemoryLimit | None:
    """MEMORY_SHARE of the smaller of this machine's physical memory and its cgroup's limit; None if unknown."""
    known = []
    try:
        known.append((os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's {} of memory"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):  # cgroup v2, v1
        try:
            value = int(Path(path).read_text().strip())
        except (OSError, ValueError):  # absent, or "max"
            continue
        if 0 < value < 2**60:  # v1 writes a huge number for "no limit"
            known.append((value, "the {} this process's cgroup may use"))
    if not known:
        return None
    total, words = min(known)
    return MemoryLimit(int(total * MEMORY_SHARE), words.format(size_text(total)))


def check_fits(config: Config, limit: MemoryLimit | None = None) -> Footprint:
    """`config`'s footprint, or a `ConfigError` with its size when it needs more than this machine allows a run."""
    need = footprint(config)
    limit = limit or memory_limit()
    if limit is None or need.total <= limit.bytes:
        return need
    hidden = "[" + ", ".join(str(n) for n in config.model.hidden) + "]"
    raise ConfigError(
        f"Run `{config.name}` would need {size_text(need.total)} of memory, more than the {size_text(limit.bytes)} "
        f"one run may use ({MEMORY_SHARE:.0%} of {limit.source}): model.hidden = {hidden} is {need.parameters:,} "
        f"parameters ({size_text(need.building)} to build; training holds {size_text(need.weights)} of them and their "
        f"gradients, {size_text(need.optimizer)} of {config.optimizer.name}'s state and scratch, and "
        f"{size_text(need.activations)} of activations for a batch of {config.train.batch_size} and an evaluation "
        "chunk); use smaller hidden layers or a smaller train.batch_size."
    )
