"""Tiny synthetic IDX files and datasets, so tests need neither the real data nor the network."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np

from scratchrun.data.spec import ROLES, DatasetSpec, IdxFile

TINY_FILENAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX encoding of a uint8 array: header, big-endian dims, values in C order."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> str:
    """Write array as an IDX file (gzip by default) and return the SHA-256 of its uncompressed bytes."""
    raw = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return hashlib.sha256(raw).hexdigest()


def tiny_arrays(n_train: int = 100, n_test: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    """Random 28x28 images and labels 0..9, by role: noise, nothing to learn."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def digit_arrays(n_train: int = 100, n_test: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic "digits" that can be learnt: class k is a fixed pattern (a fifth of the pixels lit, the same for
    every seed) drawn at a random brightness, over noise; labels 0..9, by role."""
    prototypes = np.random.default_rng(10).random((10, 28, 28)) < 0.2  # (10, 28, 28) bool
    rng = np.random.default_rng(seed)

    def images(labels: np.ndarray) -> np.ndarray:
        brightness = rng.integers(120, 200, (len(labels), 1, 1))  # (N, 1, 1)
        noise = rng.integers(0, 80, (len(labels), 28, 28))  # (N, 28, 28)
        return (prototypes[labels] * brightness + noise).astype(np.uint8)  # at most 199 + 79

    train_labels = rng.integers(0, 10, n_train, dtype=np.uint8)
    test_labels = rng.integers(0, 10, n_test, dtype=np.uint8)
    return {"train_images": images(train_labels), "train_labels": train_labels,
            "test_images": images(test_labels), "test_labels": test_labels}


def write_tiny_dataset(root: Path, name: str = "tiny", *, n_train: int = 100, n_test: int = 30, seed: int = 0,
                       gz: bool = True, mirrors: tuple[str, ...] = (), npm_package: str | None = None,
                       learnable: bool = False) -> DatasetSpec:
    """Write a tiny MNIST-shaped dataset into root/name/ and return the spec that describes it: noise, or with
    `learnable` the synthetic digits of `digit_arrays`."""
    arrays = (digit_arrays if learnable else tiny_arrays)(n_train, n_test, seed)
    files = {}
    for role in ROLES:
        filename = TINY_FILENAMES[role]
        path = root / name / (f"{filename}.gz" if gz else filename)
        files[role] = IdxFile(filename, write_idx(path, arrays[role], gz), arrays[role].shape)
    return DatasetSpec(name=name, files=files, mirrors=mirrors, npm_package=npm_package,
                       classes=tuple(str(d) for d in range(10)))
