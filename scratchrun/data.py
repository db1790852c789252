"""From raw IDX arrays to the float32 train/validation/test splits a run trains on, and their minibatches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .config import DataConfig
from .datasets import RawDataset
from .errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Images as float32 rows in [0, 1] and integer labels; each split is held once, compactly."""

    x: np.ndarray  # (N, D) float32
    y: np.ndarray  # (N,) intp

    def __len__(self) -> int:
        return len(self.y)

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive views of at most `size` rows, for evaluation without copies."""
        for start in range(0, len(self), size):
            yield self.x[start : start + size], self.y[start : start + size]


@dataclass(frozen=True)
class Data:
    train: Split
    val: Split | None
    test: Split
    n_features: int  # read from the data, never configured
    n_classes: int
    dataset: str


def split_indices(n_train_total: int, config: DataConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation images within the official training set.

    The validation images are a seeded random sample; the training images are the rest in their original
    order, of which `train_size` keeps the first (so train_size 300 means "the first 300 images", as in the book).
    """
    n_val = round(config.val_fraction * n_train_total)
    order = rng.permutation(n_train_total)
    val = np.sort(order[:n_val])
    pool = np.sort(order[n_val:])
    if config.train_size is not None:
        if config.train_size > len(pool):
            raise ConfigError(
                f"data.train_size = {config.train_size} is more than the {len(pool)} training images left after "
                f"holding out {n_val} for validation; allowed: an integer from 1 to {len(pool)}, or null."
            )
        pool = pool[: config.train_size]
    return pool, val


def make_data(raw: RawDataset, config: DataConfig, rng: np.random.Generator) -> Data:
    """Carve the validation set out of the training images (never out of the test set) and scale pixels to [0, 1]."""
    n_total = len(raw.train_labels)
    train_idx, val_idx = split_indices(n_total, config, rng)
    n_test = len(raw.test_labels)
    test_size = n_test if config.test_size is None else config.test_size
    if test_size > n_test:
        raise ConfigError(f"data.test_size = {test_size} is more than the {n_test} test images; allowed: 1 to {n_test}, or null.")
    n_classes = int(max(raw.train_labels.max(), raw.test_labels.max())) + 1
    return Data(
        train=_gather(raw.train_images, raw.train_labels, train_idx),
        val=_gather(raw.train_images, raw.train_labels, val_idx) if len(val_idx) else None,
        test=_gather(raw.test_images, raw.test_labels, np.arange(test_size)),
        n_features=int(np.prod(raw.train_images.shape[1:])),
        n_classes=n_classes,
        dataset=raw.spec.name,
    )


GATHER_ROWS = 4096  # images converted at a time: no full-size temporary beside the float32 split


def _gather(images: np.ndarray, labels: np.ndarray, index: np.ndarray) -> Split:
    """The indexed images as one compact float32 array in [0, 1]: the only copy of them a run holds."""
    flat = images.reshape(len(images), -1)  # (N_all, D) uint8, possibly memory-mapped
    x = np.empty((len(index), flat.shape[1]), np.float32)  # (N, D)
    for start in range(0, len(index), GATHER_ROWS):
        rows = index[start : start + GATHER_ROWS]
        np.divide(flat[rows], np.float32(255), out=x[start : start + len(rows)])
    return Split(x=x, y=labels[index].astype(np.intp))


class Minibatches:
    """Reshuffles the training split each epoch with its own seeded stream and gathers batches into reused buffers.

    The last batch of an epoch may be smaller; every image is seen once per epoch.
    """

    def __init__(self, split: Split, batch_size: int, rng: np.random.Generator) -> None:
        self.split = split
        self.batch_size = min(batch_size, len(split))
        self.rng = rng
        self.x = np.empty((self.batch_size, split.x.shape[1]), split.x.dtype)  # reused every step
        self.y = np.empty(self.batch_size, split.y.dtype)

    @property
    def per_epoch(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.rng.permutation(len(self.split))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            n = len(index)
            np.take(self.split.x, index, axis=0, out=self.x[:n], mode="clip")  # "clip": unbuffered; index is valid
            np.take(self.split.y, index, out=self.y[:n], mode="clip")
            yield self.x[:n], self.y[:n]
