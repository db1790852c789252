"""From raw IDX arrays to the train/validation/test splits a run trains on, and their float32 minibatches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from scratchrun.data.registry import RawDataset
from scratchrun.errors import ConfigError


class SplitSizes(Protocol):
    """How the images split (config.schema.DataConfig has these keys; the config package sits above data)."""

    val_fraction: float
    val_size: int | None
    train_size: int | None
    test_size: int | None
    train_on_val: bool


@dataclass(frozen=True)
class Split:
    """One split: rows of a shared image array, picked by `index`, with their labels.

    Images stay as stored (uint8, often memory-mapped from the cache, so parallel runs share one copy in
    the page cache); they are scaled to float32 in [0, 1] a batch or an evaluation chunk at a time, into
    buffers the caller owns. Float images are used as they are.
    """

    images: np.ndarray  # (N_all, D) uint8 or float
    y: np.ndarray  # (N,) intp, the labels of this split's rows
    index: np.ndarray | None = None  # (N,) rows of `images`; None = every row, in order

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_features(self) -> int:
        return self.images.shape[1]

    def gather(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """This split's rows `rows` as float32 in `out[:len(rows)]`, without a per-sample loop."""
        source = rows if self.index is None else self.index[rows]
        target = out[: len(rows)]
        if self.images.dtype == np.uint8:
            raw = np.take(self.images, source, axis=0, mode="clip")  # (n, D) uint8: a quarter of the memory traffic
            return np.divide(raw, np.float32(255), out=target)
        return np.take(self.images, source, axis=0, out=target, mode="clip")  # "clip": unbuffered; rows are valid

    def chunks(self, size: int, buffer: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive chunks of at most `size` rows as float32, through one reused buffer (for evaluation): `buffer`
        when given (at least `size` rows, or the split's length), else a new one."""
        if buffer is None:
            buffer = np.empty((min(size, len(self)), self.n_features), np.float32)
        for start in range(0, len(self), size):
            rows = np.arange(start, min(start + size, len(self)))
            yield self.gather(rows, buffer), self.y[start : start + size]


@dataclass(frozen=True)
class Data:
    train: Split
    val: Split | None
    test: Split | None  # None in a search trial: it never holds the test images
    n_features: int  # read from the data, never configured
    n_classes: int
    dataset: str


def check_test_size(config: SplitSizes, n_test: int) -> int:
    """The number of test images the config asks for, or the sentence that says it asks for too many."""
    test_size = n_test if config.test_size is None else config.test_size
    if test_size > n_test:
        raise ConfigError(f"data.test_size = {test_size} is more than the {n_test} test images; allowed: 1 to "
                          f"{n_test}, or null.")
    return test_size


def held_out(config: SplitSizes, n_train_total: int) -> int:
    """How many training images validate: `val_size` when set, else the `val_fraction` share."""
    if config.val_size is None:
        return round(config.val_fraction * n_train_total)
    if config.val_size >= n_train_total:
        raise ConfigError(f"data.val_size = {config.val_size} leaves no training image of the {n_train_total}; "
                          f"allowed: 0 to {n_train_total - 1}, or null.")
    return config.val_size


def check_train_size(config: SplitSizes, n_pool: int, n_val: int) -> None:
    """`train_size` must fit in what is left of the training images after the validation ones are held out."""
    if config.train_size is not None and config.train_size > n_pool:
        raise ConfigError(
            f"data.train_size = {config.train_size} is more than the {n_pool} training images left after "
            f"holding out {n_val} for validation; allowed: an integer from 1 to {n_pool}, or null."
        )


def split_indices(n_train_total: int, config: SplitSizes, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation images within the official training set.

    The validation images are a seeded random sample; the training images are the rest in their original
    order, of which `train_size` keeps the first (so train_size 300 means "the first 300 images", as in the book).
    """
    n_val = held_out(config, n_train_total)
    order = rng.permutation(n_train_total)
    val = np.sort(order[:n_val])
    pool = np.sort(order[n_val:])
    if config.train_size is not None:
        check_train_size(config, len(pool), n_val)
        pool = pool[: config.train_size]
    if config.train_on_val:  # the final run after a search: the same images, none held out
        return np.union1d(pool, val), val[:0]
    return pool, val


def make_data(raw: RawDataset, config: SplitSizes, rng: np.random.Generator, with_test: bool = True) -> Data:
    """Carve the validation set out of the training images (never out of the test set); no image is copied.

    Without `with_test` (a search trial) the test arrays are not touched at all.
    """
    n_total = len(raw.train_labels)
    train_idx, val_idx = split_indices(n_total, config, rng)
    train_images = raw.train_images.reshape(n_total, -1)  # (N, D): a view
    every_image = len(train_idx) == n_total  # no validation set and no subset: index the array directly
    return Data(
        train=_split(train_images, raw.train_labels, None if every_image else train_idx),
        val=_split(train_images, raw.train_labels, val_idx) if len(val_idx) else None,
        test=_test_split(raw, config) if with_test else None,
        n_features=train_images.shape[1],
        n_classes=int(raw.train_labels.max()) + 1,
        dataset=raw.spec.name,
    )


def _test_split(raw: RawDataset, config: SplitSizes) -> Split:
    n_test = len(raw.test_labels)
    test_size = check_test_size(config, n_test)
    test_images = raw.test_images.reshape(n_test, -1)
    return _split(test_images, raw.test_labels, None if test_size == n_test else np.arange(test_size))


def _split(images: np.ndarray, labels: np.ndarray, index: np.ndarray | None) -> Split:
    y = (labels if index is None else labels[index]).astype(np.intp)
    return Split(images=images, y=y, index=index)


class Minibatches:
    """Reshuffles the training split each epoch with its own seeded stream and gathers batches into reused buffers.

    The last batch of an epoch may be smaller; every image is seen once per epoch.
    """

    def __init__(self, split: Split, batch_size: int, rng: np.random.Generator) -> None:
        self.split = split
        self.batch_size = min(batch_size, len(split))
        self.rng = rng
        self.x = np.empty((self.batch_size, split.n_features), np.float32)  # reused every step
        self.y = np.empty(self.batch_size, split.y.dtype)

    @property
    def per_epoch(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.rng.permutation(len(self.split))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            n = len(rows)
            self.split.gather(rows, self.x)
            np.take(self.split.y, rows, out=self.y[:n], mode="clip")
            yield self.x[:n], self.y[:n]
