import gzip
import struct

import numpy as np
import pytest
from idx_fixtures import idx_bytes, write_idx

from scratchrun.data.idx import parse_idx, read_idx
from scratchrun.errors import DataError

ARRAY = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("gz", [True, False])
def test_reads_gzip_and_raw_alike(tmp_path, gz):
    path = tmp_path / "x-idx3-ubyte"
    sha = write_idx(path, ARRAY, gz=gz)
    array = read_idx(path, sha)
    np.testing.assert_array_equal(array, ARRAY)
    assert array.dtype == np.uint8
    assert not array.flags.writeable
    assert not array.flags.owndata  # a view over the file bytes, not a copy


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (1, 2, 3, 2), (0, 28, 28)])
def test_parses_one_to_four_dimensions(shape):
    array = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array), "mem"), array)


def test_read_only_even_from_a_bytearray():
    assert not parse_idx(bytearray(idx_bytes(ARRAY)), "mem").flags.writeable


def _error(raw: bytes) -> str:
    with pytest.raises(DataError) as info:
        parse_idx(raw, "some/file-ubyte")
    message = str(info.value)
    assert "some/file-ubyte" in message
    return message


def test_bad_magic():
    assert "00 00" in _error(b"\x01\x02" + idx_bytes(ARRAY)[2:])


def test_wrong_type_code():
    raw = bytearray(idx_bytes(ARRAY))
    raw[2] = 0x0D  # float32
    assert "0x0d" in _error(bytes(raw))


@pytest.mark.parametrize("ndim", [0, 5])
def test_dimension_count_out_of_range(ndim):
    raw = bytearray(idx_bytes(ARRAY))
    raw[3] = ndim
    assert f"{ndim} dimensions" in _error(bytes(raw))


def test_truncated_payload_names_both_counts():
    message = _error(idx_bytes(ARRAY)[:-5])
    assert "truncated" in message and "24 data bytes" in message and "holds 19" in message


def test_truncated_header():
    assert "header" in _error(idx_bytes(ARRAY)[:9])


def test_shorter_than_any_header():
    assert "4-byte header" in _error(b"\x00\x00")


def test_trailing_bytes():
    message = _error(idx_bytes(ARRAY) + b"\x00\x00")
    assert "trailing bytes" in message and "holds 26" in message


def test_huge_declared_size_is_truncated_not_a_crash():
    raw = b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    assert "truncated" in _error(raw)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    data = bytearray(gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8))))
    data[20:30] = b"\xff" * 10
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="damaged gzip"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(ARRAY))[:-10])
    with pytest.raises(DataError, match=f"{path}.*damaged gzip"):
        read_idx(path)


def test_gzip_detected_by_content_not_suffix(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(idx_bytes(ARRAY)))
    np.testing.assert_array_equal(read_idx(path), ARRAY)


def test_checksum_is_over_uncompressed_bytes_and_mismatch_says_what_to_do(tmp_path):
    path = tmp_path / "x.gz"
    sha = write_idx(path, ARRAY)
    wrong = "0" * 64
    with pytest.raises(DataError) as info:
        read_idx(path, wrong)
    message = str(info.value)
    assert str(path) in message and sha in message and wrong in message and "delete" in message


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])  # absent; a directory
def test_unreadable_file(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(DataError, match=f"Cannot read dataset file {path}"):
        read_idx(path)
