"""The decoded dataset copy in the cache: written once after verification, then mapped only once every array
matches its recorded SHA-256; a damaged copy is reported, rebuilt from the IDX files, and never trusted."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np
import pytest
from idx_fixtures import tiny_arrays

from scratchrun.data.cache import MANIFEST, decoded_dir, open_decoded, save_decoded
from scratchrun.data.registry import DATASETS, load_raw
from scratchrun.errors import DataError
from tests.data.test_registry import Recorder

NPY = ["test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy"]


def expected_arrays() -> dict[str, np.ndarray]:
    """What the `tiny` fixture's IDX files decode to."""
    return tiny_arrays(n_train=300, n_test=60)


def notes(recorder: Recorder) -> list[str]:
    return [call[1] for call in recorder.calls if call[0] == "note"]


def cached(tmp_path):
    """Load `tiny` once so the decoded copy exists; return (cache root, copy folder)."""
    cache = tmp_path / "cache"
    raw = load_raw("tiny", cache_dir=cache, allow_download=False)
    return cache, decoded_dir(cache / "tiny", raw.spec)


def test_first_load_writes_a_decoded_copy_and_the_second_maps_it(tiny, tmp_path):
    cache = tmp_path / "cache"
    first = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert first.sources["train_images"].name == "train-images-idx3-ubyte.gz"
    folder = decoded_dir(cache / "tiny", first.spec)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, *NPY]
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]  # no staging folder left behind

    second = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert second.sources["train_images"] == folder / "train_images.npy"
    assert isinstance(second.train_images, np.memmap) and not second.train_images.flags.writeable
    for role, array in expected_arrays().items():
        np.testing.assert_array_equal(getattr(second, role), array)


def test_the_manifest_records_each_arrays_sha256_and_file_size(tiny, tmp_path):
    _, folder = cached(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["replaced"] is None and manifest["created"]
    for role, array in expected_arrays().items():
        entry = manifest["arrays"][role]
        assert entry["sha256"] == hashlib.sha256(array.tobytes()).hexdigest()
        assert entry["shape"] == list(array.shape) and entry["dtype"] == "uint8"
        assert entry["bytes"] == (folder / f"{role}.npy").stat().st_size


def flip_one_pixel(folder):
    """One byte of the last image changes; size and header stay as they were."""
    path = folder / "train_images.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(folder):
    path = folder / "train_images.npy"
    path.write_bytes(path.read_bytes()[:-784])


def overwrite_part(folder):
    """What the issue did: part of the file overwritten with zeros, size unchanged."""
    path = folder / "train_images.npy"
    with open(path, "r+b") as f:
        f.seek(1000)
        f.write(bytes(50_000))


def header_reshaped(folder):
    """The header claims another shape of the same size: only the header check can tell."""
    path = folder / "train_images.npy"
    data = path.read_bytes()
    assert b"(300, 28, 28)" in data[:128]
    path.write_bytes(data.replace(b"(300, 28, 28)", b"(28, 300, 28)", 1))


def wrong_shape(folder):
    np.save(folder / "train_images.npy", np.zeros((5, 28, 28), np.uint8))


DAMAGE = {
    "one byte flipped": (flip_one_pixel, "train_images.npy does not match the SHA-256 its manifest.json records"),
    "part overwritten": (overwrite_part, "train_images.npy does not match the SHA-256 its manifest.json records"),
    "truncated": (truncate, "train_images.npy is 234,544 bytes, expected 235,328"),
    "header reshaped": (header_reshaped,
                        "train_images.npy holds a uint8 array of shape (28, 300, 28), expected uint8 (300, 28, 28)"),
    "wrong shape": (wrong_shape, "train_images.npy is 4,048 bytes, expected 235,328"),
    "array deleted": (lambda folder: (folder / "train_images.npy").unlink(), "train_images.npy is missing"),
    "manifest deleted": (lambda folder: (folder / MANIFEST).unlink(), "its manifest.json is missing"),
    "manifest garbled": (lambda folder: (folder / MANIFEST).write_text("{"), "its manifest.json cannot be read"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_copy_is_reported_in_one_line_and_rebuilt_from_the_idx_files(tiny, tmp_path, damage):
    cache, folder = cached(tmp_path)
    spoil, reason = DAMAGE[damage]
    spoil(folder)
    assert open_decoded(folder, DATASETS["tiny"]).problem.startswith(reason)

    recorder = Recorder()
    again = load_raw("tiny", cache_dir=cache, allow_download=False, reporter=recorder)
    [note] = notes(recorder)  # one line, naming the folder, the file and what is wrong with it
    assert note.startswith(f"the decoded copy {folder} is damaged: {reason}") and "\n" not in note
    assert note.endswith("; rebuilding it from the verified IDX files")
    assert again.sources["train_images"] == tiny / "tiny" / "train-images-idx3-ubyte.gz"  # not the damaged copy
    for role, array in expected_arrays().items():
        np.testing.assert_array_equal(getattr(again, role), array)

    # on disk: a whole, verified copy that remembers what it replaced, and nothing else beside it
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, *NPY]
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]
    copy = open_decoded(folder, again.spec)
    assert copy.state == "ok" and copy.replaced.startswith(reason)
    for role, array in expected_arrays().items():
        np.testing.assert_array_equal(np.load(folder / f"{role}.npy"), array)

    quiet = Recorder()
    third = load_raw("tiny", cache_dir=cache, allow_download=False, reporter=quiet)
    assert third.sources["train_images"] == folder / "train_images.npy" and notes(quiet) == []


def test_a_copy_from_before_manifests_is_rebuilt(tiny, tmp_path):
    cache, folder = cached(tmp_path)
    (folder / MANIFEST).unlink()  # exactly what an older scratchrun left
    recorder = Recorder()
    load_raw("tiny", cache_dir=cache, allow_download=False, reporter=recorder)
    assert len(notes(recorder)) == 1 and "older scratchrun" in notes(recorder)[0]
    assert (folder / MANIFEST).is_file()


def test_a_damaged_copy_without_the_idx_files_is_an_error_not_used(tiny, tmp_path):
    cache, folder = cached(tmp_path)
    flip_one_pixel(folder)
    for path in (tiny / "tiny").iterdir():
        path.unlink()
    recorder = Recorder()
    with pytest.raises(DataError, match="Cannot find the tiny files") as info:
        load_raw("tiny", cache_dir=cache, allow_download=False, reporter=recorder)
    assert (f"downloading was turned off and the decoded copy {folder} cannot stand in for them "
            "(train_images.npy does not match the SHA-256 its manifest.json records)") in str(info.value)
    assert len(notes(recorder)) == 1 and "does not match the SHA-256" in notes(recorder)[0]
    assert open_decoded(folder, DATASETS["tiny"]).problem  # left as found, and still refused


def test_status_level_check_skips_only_the_hashes(tiny, tmp_path):
    _, folder = cached(tmp_path)
    spec = DATASETS["tiny"]
    flip_one_pixel(folder)
    assert open_decoded(folder, spec, full=False).state == "ok"  # same size, same header
    assert open_decoded(folder, spec).state == "damaged"
    truncate(folder)
    assert open_decoded(folder, spec, full=False).state == "damaged"


def test_absent_is_not_damaged(tiny, tmp_path):
    spec = DATASETS["tiny"]
    copy = open_decoded(tmp_path / "nowhere", spec)
    assert (copy.state, copy.problem, copy.arrays) == ("absent", None, None)


def test_maps_of_a_replaced_copy_stay_readable(tiny, tmp_path):
    """Workers share the mapped copy: one process rebuilding it must not change what another has mapped."""
    cache, folder = cached(tmp_path)
    mapped = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert isinstance(mapped.train_images, np.memmap)
    arrays = expected_arrays()
    assert save_decoded(folder, arrays, replaces="a test")
    assert open_decoded(folder, mapped.spec).replaced == "a test"
    np.testing.assert_array_equal(mapped.train_images, arrays["train_images"])
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]  # the old copy is gone from the folder


def test_staging_folders_of_a_killed_writer_are_swept_after_an_hour(tiny, tmp_path):
    cache, folder = cached(tmp_path)
    old, fresh = cache / "tiny" / ".decoded-dead", cache / "tiny" / ".decoded-live"
    for path in (old, fresh):
        path.mkdir()
        (path / "train_images.npy").write_bytes(b"half")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    save_decoded(folder, expected_arrays())
    assert sorted(p.name for p in (cache / "tiny").iterdir()) == [".decoded-live", folder.name]


@pytest.mark.parametrize("point", ["an array", "the manifest"])
def test_a_full_disk_during_the_rebuild_keeps_the_old_copy_refused_and_the_run_correct(tiny, tmp_path, monkeypatch,
                                                                                         point):
    import errno

    from scratchrun.data import cache as cache_module

    cache, folder = cached(tmp_path)
    flip_one_pixel(folder)
    damaged = (folder / "train_images.npy").read_bytes()
    target = "_write_array" if point == "an array" else "_write_synced"
    real = getattr(cache_module, target)

    def full(path, data):
        real(path, data)  # a part of it lands in the staging folder, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, target, full)
    recorder = Recorder()
    raw = load_raw("tiny", cache_dir=cache, allow_download=False, reporter=recorder)
    for role, array in expected_arrays().items():
        np.testing.assert_array_equal(getattr(raw, role), array)
    assert len(notes(recorder)) == 2 and "is damaged" in notes(recorder)[0]
    assert notes(recorder)[1] == (f"the damaged copy {folder} could not be replaced (the cache is full or not "
                                  "writable); runs will read the IDX files until it can be")
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]  # no staging folder left
    assert (folder / "train_images.npy").read_bytes() == damaged
    assert open_decoded(folder, DATASETS["tiny"]).state == "damaged"


def test_four_processes_rebuilding_at_once_all_get_correct_data(tiny, tmp_path):
    import multiprocessing

    cache, folder = cached(tmp_path)
    flip_one_pixel(folder)
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        sums = pool.map(_train_images_sum, [cache] * 4)
    assert sums == [int(expected_arrays()["train_images"].sum(dtype=np.int64))] * 4
    assert open_decoded(folder, DATASETS["tiny"]).state == "ok"
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]


def _train_images_sum(cache) -> int:
    """In a worker: load `tiny` (rebuilding the copy if it is damaged) and sum its training images."""
    return int(load_raw("tiny", cache_dir=cache, allow_download=False).train_images.sum(dtype=np.int64))


def test_an_unwritable_cache_only_costs_the_decoded_copy(tiny, tmp_path):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    raw = load_raw("tiny", cache_dir=blocker, allow_download=False)
    assert raw.train_images.shape == (300, 28, 28)
    assert blocker.read_text() == ""


def test_a_run_after_a_flipped_byte_has_the_losses_of_a_run_on_a_clean_cache(tiny, tmp_path):
    from dataclasses import replace

    from scratchrun.config.loader import config_from_dict
    from scratchrun.training.run import prepare_data, run_experiment

    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2},
                               "model": {"hidden": [16]}, "train": {"epochs": 2, "batch_size": 32}})
    cache, folder = cached(tmp_path)

    def numbers(raw, runs: str) -> list[str]:
        outcome = run_experiment(config, None, tmp_path / runs, data=prepare_data(config, raw), evaluate_test=False)
        assert outcome.status == "completed"
        metrics = [line.rsplit(",", 1)[0] for line in (outcome.run_dir / "metrics.csv").read_text().splitlines()]
        return (outcome.run_dir / "steps.csv").read_text().splitlines() + metrics  # every loss, minus timings

    clean = numbers(load_raw("tiny", cache_dir=cache, allow_download=False), "clean")
    path = folder / "train_images.npy"
    data = bytearray(path.read_bytes())
    data[-400] ^= 0xFF  # one pixel of the last image
    path.write_bytes(bytes(data))
    trusting = replace(load_raw("tiny", cache_dir=cache, allow_download=False, use_decoded=False),
                       train_images=np.load(path, mmap_mode="r"))
    assert numbers(trusting, "trusting") != clean  # what the issue saw: the flipped pixel changes the losses

    recorder = Recorder()
    assert numbers(load_raw("tiny", cache_dir=cache, allow_download=False, reporter=recorder), "after-flip") == clean
    assert len(notes(recorder)) == 1
    assert open_decoded(folder, DATASETS["tiny"]).replaced.startswith("train_images.npy does not match")


@pytest.mark.mnist
def test_real_mnist_a_flipped_byte_is_rebuilt_and_equals_the_idx_decode(mnist_dir, tmp_path):
    cache = tmp_path / "cache"
    first = load_raw("mnist", cache_dir=cache, allow_download=False)
    folder = decoded_dir(cache / "mnist", first.spec)
    with open(folder / "train_images.npy", "r+b") as f:
        f.seek(30_000_000)
        byte = f.read(1)
        f.seek(30_000_000)
        f.write(bytes([byte[0] ^ 0x01]))
    recorder = Recorder()
    again = load_raw("mnist", cache_dir=cache, allow_download=False, reporter=recorder)
    assert len(notes(recorder)) == 1 and "train_images.npy does not match the SHA-256" in notes(recorder)[0]
    reference = load_raw("mnist", allow_download=False, use_decoded=False)
    mapped = load_raw("mnist", cache_dir=cache, allow_download=False)
    assert mapped.sources["train_images"] == folder / "train_images.npy"
    for role in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(getattr(again, role), getattr(reference, role))
        np.testing.assert_array_equal(getattr(mapped, role), getattr(reference, role))
