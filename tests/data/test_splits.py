"""Splits and minibatches: validation out of the training set, seeded, disjoint, and no per-epoch copies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from idx_fixtures import tiny_arrays

from scratchrun.config.loader import DataConfig
from scratchrun.data.registry import RawDataset
from scratchrun.data.splits import Minibatches, make_data, split_indices
from scratchrun.errors import ConfigError


def raw_dataset(n_train=300, n_test=60) -> RawDataset:
    arrays = tiny_arrays(n_train, n_test)
    spec = type("Spec", (), {"name": "tiny"})()
    return RawDataset(spec=spec, **arrays, sources={})


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 500),
    val_fraction=st.floats(0, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_is_disjoint_seeded_and_covers_the_training_set(n, val_fraction, seed):
    config = DataConfig(val_fraction=val_fraction)
    train, val = split_indices(n, config, np.random.default_rng(seed))
    assert len(np.intersect1d(train, val)) == 0
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(n))
    assert len(val) == round(val_fraction * n)
    again_train, again_val = split_indices(n, config, np.random.default_rng(seed))
    assert np.array_equal(train, again_train) and np.array_equal(val, again_val)


def test_train_size_keeps_the_first_remaining_images_in_order():
    train, val = split_indices(1000, DataConfig(val_fraction=0.2, train_size=300), np.random.default_rng(0))
    assert len(train) == 300 and np.all(np.diff(train) > 0)
    assert train[-1] < 1000 and len(np.setdiff1d(np.arange(train[-1] + 1), np.concatenate([train, val]))) == 0


def test_train_size_larger_than_the_pool_is_a_config_error():
    with pytest.raises(ConfigError, match="data.train_size = 900"):
        split_indices(1000, DataConfig(val_fraction=0.2, train_size=900), np.random.default_rng(0))


def as_float(split):
    """A whole split as one float32 array, through the same gather the trainer uses."""
    return np.concatenate([x.copy() for x, _ in split.chunks(64)])


def test_make_data_scales_to_float32_and_never_uses_the_test_set_for_validation():
    raw = raw_dataset()
    data = make_data(raw, DataConfig(val_fraction=0.2, test_size=50), np.random.default_rng(0))
    assert (len(data.train), len(data.val), len(data.test)) == (240, 60, 50)
    train_x = as_float(data.train)
    assert train_x.dtype == np.float32 and train_x.shape == (240, 784)
    assert train_x.min() >= 0 and train_x.max() <= 1
    assert (data.n_features, data.n_classes) == (784, 10)
    flat_test = raw.test_images.reshape(60, -1)[:50].astype(np.float32) / 255
    assert np.array_equal(as_float(data.test), flat_test) and np.array_equal(data.test.y, raw.test_labels[:50])
    train_rows = {row.tobytes() for row in raw.train_images.reshape(300, -1)}
    assert all((row * 255).round().astype(np.uint8).tobytes() in train_rows for row in as_float(data.val))
    assert set(data.val.index.tolist()).isdisjoint(data.train.index.tolist())


def test_splits_share_the_raw_images_instead_of_copying_them():
    raw = raw_dataset()
    data = make_data(raw, DataConfig(val_fraction=0.2), np.random.default_rng(0))
    assert np.shares_memory(data.train.images, raw.train_images) and np.shares_memory(data.val.images, raw.train_images)
    assert np.shares_memory(data.test.images, raw.test_images)
    everything = make_data(raw, DataConfig(val_fraction=0.0), np.random.default_rng(0))
    assert everything.train.index is None and everything.val is None  # every image, in order: no index at all


def test_minibatches_see_every_image_once_per_epoch_in_a_fresh_order():
    raw = raw_dataset()
    data = make_data(raw, DataConfig(val_fraction=0.0), np.random.default_rng(0))
    batches = Minibatches(data.train, 64, np.random.default_rng(1))
    assert batches.per_epoch == 5  # 300 = 4 × 64 + 44
    orders = []
    for _ in range(2):
        seen = [y.copy() for _, y in batches.epoch()]
        assert [len(y) for y in seen] == [64, 64, 64, 64, 44]
        orders.append(np.concatenate(seen))
        assert sorted(orders[-1].tolist()) == sorted(data.train.y.tolist())
    assert not np.array_equal(orders[0], orders[1])


def test_minibatches_gather_into_one_reused_buffer_with_matching_labels():
    raw = raw_dataset()
    data = make_data(raw, DataConfig(val_fraction=0.5), np.random.default_rng(0))
    batches = Minibatches(data.train, 100, np.random.default_rng(1))
    pointers = {x.__array_interface__["data"][0] for x, _ in batches.epoch()}
    assert pointers == {batches.x.__array_interface__["data"][0]}
    flat = raw.train_images.reshape(300, -1)
    for x, y in batches.epoch():
        for row, label in zip(x, y):
            (match,) = np.flatnonzero((flat == np.round(row * 255)).all(axis=1))
            assert raw.train_labels[match] == label and match in data.train.index
