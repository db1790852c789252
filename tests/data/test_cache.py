"""The decoded dataset copy in the cache: written once after verification, then mapped, never trusted if wrong."""

from __future__ import annotations

import numpy as np
from idx_fixtures import tiny_arrays

from scratchrun.data.cache import decoded_dir
from scratchrun.data.registry import load_raw


def test_first_load_writes_a_decoded_copy_and_the_second_maps_it(tiny, tmp_path):
    cache = tmp_path / "cache"
    first = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert first.sources["train_images"].name == "train-images-idx3-ubyte.gz"
    folder = decoded_dir(cache / "tiny", first.spec)
    assert sorted(p.name for p in folder.iterdir()) == ["test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy"]
    assert [p.name for p in (cache / "tiny").iterdir()] == [folder.name]  # no staging folder left behind

    second = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert second.sources["train_images"] == folder / "train_images.npy"
    assert isinstance(second.train_images, np.memmap) and not second.train_images.flags.writeable
    for role, array in tiny_arrays(n_train=300, n_test=60).items():
        np.testing.assert_array_equal(getattr(second, role), array)


def test_a_damaged_decoded_copy_is_ignored(tiny, tmp_path):
    cache = tmp_path / "cache"
    raw = load_raw("tiny", cache_dir=cache, allow_download=False)
    folder = decoded_dir(cache / "tiny", raw.spec)
    np.save(folder / "train_images.npy", np.zeros((5, 28, 28), np.uint8))  # wrong shape
    again = load_raw("tiny", cache_dir=cache, allow_download=False)
    assert again.sources["train_images"].name == "train-images-idx3-ubyte.gz"
    assert again.train_images.shape == (300, 28, 28)


def test_an_unwritable_cache_only_costs_the_decoded_copy(tiny, tmp_path):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    raw = load_raw("tiny", cache_dir=blocker, allow_download=False)
    assert raw.train_images.shape == (300, 28, 28)
