"""A decoded copy of each verified dataset in the cache, as .npy files that NumPy maps into memory.

Reading the IDX files costs decompression and hashing (about half a second for MNIST); the decoded copy
is written once, after verification, and later loads map it without decoding, so a run starts at once.
The folder is named after the files' SHA-256 sums, so it can only ever be meant to hold the verified content,
and its `manifest.json` records the SHA-256 of each array. Every open checks the manifest, each file's size and
.npy header and each array's SHA-256 (about 30 ms for MNIST's 55 MB of mapped pages, see
`benchmarks/cache_verify.py`), so a flipped byte, a truncated or deleted file or a lost manifest is noticed
before a run trusts it; the caller then rebuilds the copy from the IDX files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scratchrun.data.spec import DatasetSpec

MANIFEST = "manifest.json"
FORMAT = 1  # bump when the manifest changes meaning: an older copy then reads as damaged and is rebuilt
STALE_S = 3600.0  # a staging folder this old belongs to a writer that died, not to one still writing


@dataclass(frozen=True)
class DecodedCopy:
    """What a decoded copy's folder holds: its arrays when they check out, else why not (or nothing at all)."""

    folder: Path
    arrays: dict[str, np.ndarray] | None = field(default=None, repr=False)  # role -> read-only map, when good
    problem: str | None = None  # why it cannot be trusted, e.g. "train_images.npy is 1,000 bytes, expected ..."
    created: str | None = None  # when it was written (ISO time, from its manifest)
    replaced: str | None = None  # the problem of the damaged copy it replaced, if it was a rebuild

    @property
    def state(self) -> str:
        """`absent`, `damaged`, or `ok` (checked as far as the open that made this was asked to check)."""
        return "ok" if self.arrays is not None else "damaged" if self.problem else "absent"


class _Damaged(Exception):
    """One thing wrong with the copy, in words that follow "the decoded copy is damaged: "."""


def decoded_dir(cache: Path, spec: DatasetSpec) -> Path:
    """`<cache>/decoded-<digest of the four sums>`: a new dataset version gets a new folder."""
    digest = hashlib.sha256("".join(f.sha256 for f in spec.files.values()).encode()).hexdigest()[:16]
    return cache / f"decoded-{digest}"


def open_decoded(folder: Path, spec: DatasetSpec, *, full: bool = True) -> DecodedCopy:
    """The four arrays mapped read-only once they match the manifest; `full=False` skips only the SHA-256s."""
    if not os.path.lexists(folder):
        return DecodedCopy(folder)
    try:
        manifest = _read_manifest(folder)
        arrays = {role: _open_array(folder / f"{role}.npy", tuple(f.shape), manifest["arrays"].get(role), full)
                  for role, f in spec.files.items()}
    except _Damaged as exc:
        return DecodedCopy(folder, problem=str(exc))
    return DecodedCopy(folder, arrays, None, manifest.get("created"), manifest.get("replaced"))


def sha256(array: np.ndarray) -> str:
    """The SHA-256 of an array's bytes in C order, read straight from its buffer (a map is not copied)."""
    return hashlib.sha256(np.ascontiguousarray(array)).hexdigest()


def _read_manifest(folder: Path) -> dict:
    """The manifest as written by `save_decoded`, or _Damaged saying why it cannot vouch for the files."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise _Damaged(f"its {MANIFEST} is missing (an interrupted write, or a copy from an older "
                       "scratchrun)") from None
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        raise _Damaged(f"its {MANIFEST} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not (isinstance(manifest, dict) and manifest.get("format") == FORMAT
            and isinstance(manifest.get("arrays"), dict)):
        raise _Damaged(f"its {MANIFEST} is not a format-{FORMAT} manifest")
    return manifest


def _open_array(path: Path, shape: tuple[int, ...], entry: object, full: bool) -> np.ndarray:
    """Map one file after checking its size, its header and (when `full`) the SHA-256 of its array."""
    if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and isinstance(entry.get("bytes"), int)):
        raise _Damaged(f"its {MANIFEST} has no valid entry for {path.name}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _Damaged(f"{path.name} is missing") from None
    except OSError as exc:
        raise _Damaged(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if size != entry["bytes"]:
        raise _Damaged(f"{path.name} is {size:,} bytes, expected {entry['bytes']:,}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _Damaged(f"{path.name} cannot be mapped ({exc})") from None
    if array.shape != shape or array.dtype != np.uint8 or not array.flags.c_contiguous:
        raise _Damaged(f"{path.name} holds a {array.dtype} array of shape {array.shape}, expected uint8 {shape}")
    if full and sha256(array) != entry["sha256"]:
        raise _Damaged(f"{path.name} does not match the SHA-256 its {MANIFEST} records")
    return array


def save_decoded(folder: Path, arrays: dict[str, np.ndarray], *, replaces: str | None = None) -> bool:
    """Write the arrays and then their manifest beside `folder`, and swap them in; False if the cache is not writable.

    `replaces` is the problem of the damaged copy being replaced; the manifest keeps it, for `data status`.
    """
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _sweep(folder.parent)
        staging = Path(tempfile.mkdtemp(prefix=".decoded-", dir=folder.parent))
    except OSError:
        return False
    try:
        entries = {role: _write_array(staging / f"{role}.npy", array) for role, array in arrays.items()}
        manifest = {"format": FORMAT, "created": datetime.now().astimezone().isoformat(timespec="seconds"),
                    "replaced": replaces, "arrays": entries}
        _write_synced(staging / MANIFEST, json.dumps(manifest, indent=2).encode())  # last: it vouches for the rest
        _fsync_dir(staging)
        _swap(staging, folder)
        _fsync_dir(folder.parent)
        return True
    except OSError:  # no space, no permission, or another process won the race: the copy is optional
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_array(path: Path, array: np.ndarray) -> dict:
    """One .npy file, on disk before this returns; its manifest entry."""
    array = np.ascontiguousarray(array)
    with _create(path) as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
        size = f.tell()
    return {"sha256": sha256(array), "shape": list(array.shape), "dtype": str(array.dtype), "bytes": size}


def _write_synced(path: Path, data: bytes) -> None:
    """A small file under a temporary name, flushed to disk, then renamed to `path`."""
    tmp = path.with_name(f".{path.name}.part")
    with _create(tmp) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _create(path: Path):
    """A new file opened for writing: created here and now (O_EXCL), never an existing file or a link in its place."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    return os.fdopen(fd, "wb")


def _fsync_dir(folder: Path) -> None:
    """Make the names in a folder (new files, renames) durable, as the files themselves already are."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(staging: Path, folder: Path) -> None:
    """Rename the new copy into place; an old one is first renamed aside, then deleted.

    Processes that mapped the old files keep reading them (the data lives until the last map is closed); one that
    opens the copy between the two renames finds none and reads the IDX files instead.
    """
    try:
        os.replace(staging, folder)  # no copy there yet
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
    old = folder.with_name(f".old-{folder.name}-{secrets.token_hex(4)}")
    try:
        os.replace(folder, old)
    except FileNotFoundError:  # another process is swapping its own copy in
        pass
    try:
        os.replace(staging, folder)  # fails only if another process's copy got there first, which is as good
    finally:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def _sweep(parent: Path) -> None:
    """Delete staging and swapped-out folders left by a writer that was killed, so they do not pile up."""
    now = time.time()
    for path in [*parent.glob(".decoded-*"), *parent.glob(".old-decoded-*")]:
        try:
            if now - path.lstat().st_mtime > STALE_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
