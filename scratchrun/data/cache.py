"""A decoded copy of each verified dataset in the cache, as .npy files that NumPy maps into memory.

Reading the IDX files costs decompression and hashing (about half a second for MNIST); the decoded copy
is written once, after verification, and later loads map it without reading it, so a run starts at once.
The folder is named after the files' SHA-256 sums, so it can only ever hold the verified content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scratchrun.data.registry import DatasetSpec


def decoded_dir(cache: Path, spec: DatasetSpec) -> Path:
    """`<cache>/decoded-<digest of the four sums>`: a new dataset version gets a new folder."""
    digest = hashlib.sha256("".join(f.sha256 for f in spec.files.values()).encode()).hexdigest()[:16]
    return cache / f"decoded-{digest}"


def load_decoded(folder: Path, spec: DatasetSpec) -> dict[str, np.ndarray] | None:
    """The four arrays memory-mapped read-only, or None when the folder is absent or incomplete."""
    arrays = {}
    for role, expected in spec.files.items():
        try:
            array = np.load(folder / f"{role}.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        if array.shape != tuple(expected.shape) or array.dtype != np.uint8:
            return None
        arrays[role] = array
    return arrays


def save_decoded(folder: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write the arrays into a temporary folder and rename it into place; False if the cache is not writable."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".decoded-", dir=folder.parent))
    except OSError:
        return False
    try:
        for role, array in arrays.items():
            np.save(staging / f"{role}.npy", np.ascontiguousarray(array), allow_pickle=False)
        os.replace(staging, folder)  # all four files appear at once, or none
        return True
    except OSError:  # no space, no permission, or another process won the race: the copy is optional
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
