"""IDX files, the MNIST container: read (gzip or raw), verify the checksum, parse and check the header.

Format: two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
dimension, then the values in C order (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS").
"""

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from scratchrun.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
_TYPE_CODES = {0x08: np.uint8}  # the only type MNIST and Fashion-MNIST use
_MAX_DIMS = 4


def parse_idx(raw: bytes, source: str) -> np.ndarray:
    """Check the header against the payload, so a damaged file fails here and not mid-training."""
    if len(raw) < 4:
        raise DataError(f"{source} is not an IDX file: it has {len(raw)} bytes, fewer than the 4-byte header; "
                        "delete it or replace it with the original file.")
    if raw[:2] != b"\x00\x00":
        raise DataError(f"{source} is not an IDX file: it starts with bytes {raw[:2].hex(' ')} instead of 00 00; "
                        "replace it with the original (gzip or uncompressed) *-ubyte file.")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _TYPE_CODES:
        raise DataError(f"{source} holds IDX type code 0x{type_code:02x}, but only 0x08 (unsigned bytes, "
                        "as in MNIST) is supported; use the original *-ubyte file.")
    if not 1 <= ndim <= _MAX_DIMS:
        raise DataError(f"{source} declares {ndim} dimensions, but an IDX dataset file has 1 to {_MAX_DIMS}; "
                        "the header is damaged, so delete it or replace it with the original file.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{source} is truncated inside its header ({len(raw)} of {header} bytes); "
                        "delete it or replace it with a complete copy.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    _check_length(source, shape, expected=math.prod(shape), actual=len(raw) - header)
    array = np.frombuffer(raw, dtype=_TYPE_CODES[type_code], offset=header).reshape(shape)
    array.flags.writeable = False  # a view over the file's bytes: nobody may write through it
    return array


def _check_length(source: str, shape: tuple[int, ...], expected: int, actual: int) -> None:
    """Refuse a payload that does not match the header exactly: both errors mean a damaged file."""
    if actual == expected:
        return
    problem = "is truncated" if actual < expected else "has trailing bytes"
    dims = "x".join(map(str, shape))
    raise DataError(f"{source} {problem}: its header declares {dims} = {expected:,} data bytes but it holds "
                    f"{actual:,}; delete it or replace it with a complete copy of the original file.")


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read a gzip or raw IDX file and verify it, so a corrupt download is caught before use."""
    raw = read_uncompressed(path)
    if sha256 is not None:
        check_sha256(raw, sha256, path)
    return parse_idx(raw, str(path))


def read_uncompressed(path: Path) -> bytes:
    """Return the file's uncompressed bytes, telling gzip apart by its magic bytes, not its suffix."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read dataset file {path}: {exc.strerror or exc}; "
                        "check that it exists and is readable.") from exc
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"{path} is a damaged gzip file ({exc or type(exc).__name__}); "
                        "delete it or replace it with a complete copy.") from exc


def check_sha256(raw: bytes, expected: str, path: Path) -> None:
    """Compare the SHA-256 of the uncompressed bytes, so gzip and raw copies verify alike."""
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected.lower():
        raise DataError(f"{path} has the wrong contents: the SHA-256 of its uncompressed bytes is {actual}, "
                        f"expected {expected}; delete the file or replace it with the original.")
