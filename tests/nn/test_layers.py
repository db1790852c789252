"""Layers: float64 central-difference gradient checks with a random upstream gradient, and each layer's properties."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_gradients_match, numeric_gradient

from scratchrun.nn.layers import ACTIVATIONS, Affine, BatchNorm, Dropout, Layer, ReLU, Sigmoid, Tanh


# ----------------------------------------------------------------------------- layers under test
def make_affine(rng: np.random.Generator, d_in: int, d_out: int) -> Affine:
    return Affine(rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out))


def make_batch_norm(rng: np.random.Generator, d_in: int, d_out: int) -> BatchNorm:
    bn = BatchNorm(d_in, dtype=np.float64)
    bn.params["gamma"][...] = rng.uniform(0.5, 2.0, d_in) * rng.choice([-1, 1], d_in)  # not 1
    bn.params["beta"][...] = rng.standard_normal(d_in)  # not 0
    return bn


DROPOUT_SEED = 1234


def make_dropout(rng: np.random.Generator, d_in: int, d_out: int) -> Dropout:
    return Dropout(0.3, np.random.default_rng(DROPOUT_SEED))


def random_input(rng: np.random.Generator, shape: tuple[int, int], away_from_zero: bool) -> np.ndarray:
    x = rng.standard_normal(shape)
    if away_from_zero:  # ReLU's kink: keep |x| > 1e-3 so that x ± h never crosses 0
        x = np.where(np.abs(x) < 1e-2, np.sign(x + 1e-12) * (1e-2 + np.abs(x)), x)
    return x


# name -> (factory(rng, d_in, d_out), output width is d_out?, keep x away from 0?)
LAYERS = {
    "Affine": (make_affine, True, False),
    "ReLU": (lambda rng, d_in, d_out: ReLU(), False, True),
    "Sigmoid": (lambda rng, d_in, d_out: Sigmoid(), False, False),
    "Tanh": (lambda rng, d_in, d_out: Tanh(), False, False),
    "BatchNorm": (make_batch_norm, False, False),
    "Dropout": (make_dropout, False, False),
}

# (batch, d_in, d_out, seed): several random shapes per layer; batches of 4 and 7 for BatchNorm.
SHAPES = [(4, 3, 5, 0), (7, 5, 2, 1), (4, 1, 1, 2), (7, 6, 4, 3), (10, 2, 3, 4)]


def forward(layer: Layer, x: np.ndarray, train: bool = True) -> np.ndarray:
    """A forward pass; a Dropout layer gets a freshly seeded rng first, so its mask is the same every call."""
    if isinstance(layer, Dropout):
        layer.rng = np.random.default_rng(DROPOUT_SEED)
    return layer.forward(x, train)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("batch, d_in, d_out, seed", SHAPES)
def test_gradients_match_central_differences(name, batch, d_in, d_out, seed):
    factory, changes_width, away_from_zero = LAYERS[name]
    rng = np.random.default_rng(seed)
    layer = factory(rng, d_in, d_out)
    x = random_input(rng, (batch, d_in), away_from_zero)
    G = rng.standard_normal((batch, d_out if changes_width else d_in))  # random upstream gradient

    def f() -> float:
        return float(np.sum(forward(layer, x) * G))

    out = forward(layer, x)
    assert out.shape == G.shape, f"{name}: output shape {out.shape}, expected {G.shape}"
    dx = layer.backward(G)
    analytic = {"x": dx.copy(), **{key: g.copy() for key, g in layer.grads.items()}}

    context = f"{name} (batch {batch}, d_in {d_in}, d_out {d_out}, seed {seed})"
    assert_gradients_match(analytic["x"], numeric_gradient(f, x), f"{context} dL/dx")
    for key, param in layer.params.items():
        assert_gradients_match(analytic[key], numeric_gradient(f, param), f"{context} dL/d{key}")


def test_every_activation_is_checked():
    checked = {type(factory(np.random.default_rng(0), 2, 2)) for factory, _, _ in LAYERS.values()}
    assert set(ACTIVATIONS.values()) <= checked


# ----------------------------------------------------------------------------- no mutation, dtypes
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", list(LAYERS))
def test_no_layer_mutates_its_input_or_upstream_gradient(name, train):
    factory, changes_width, away_from_zero = LAYERS[name]
    rng = np.random.default_rng(7)
    layer = factory(rng, 6, 3)
    x = random_input(rng, (5, 6), away_from_zero)
    x_before = x.copy()
    out = forward(layer, x, train)
    np.testing.assert_array_equal(x, x_before, err_msg=f"{name}.forward(train={train}) modified x")
    if not train:
        return  # backward follows a training forward pass
    dout = rng.standard_normal(out.shape)
    dout_before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(x, x_before, err_msg=f"{name}.backward modified the forward input x")
    np.testing.assert_array_equal(dout, dout_before, err_msg=f"{name}.backward modified dout")


@pytest.mark.parametrize("name", list(LAYERS))
def test_float32_stays_float32(name):
    factory, changes_width, away_from_zero = LAYERS[name]
    rng = np.random.default_rng(3)
    layer = factory(rng, 4, 3)
    for key in layer.params:  # the network trains in float32
        layer.params[key] = layer.params[key].astype(np.float32)
        layer.grads[key] = layer.grads[key].astype(np.float32)
    if isinstance(layer, BatchNorm):  # as BatchNorm(size, dtype=np.float32) builds them
        layer.running_mean = layer.running_mean.astype(np.float32)
        layer.running_var = layer.running_var.astype(np.float32)
    x = random_input(rng, (6, 4), away_from_zero).astype(np.float32)
    for train in (False, True):
        out = forward(layer, x, train)
        assert out.dtype == np.float32, f"{name}.forward(train={train}) returned {out.dtype} for float32 input"
    dx = layer.backward(np.ones_like(out))
    assert dx.dtype == np.float32, f"{name}.backward returned {dx.dtype} for float32 input"


# ----------------------------------------------------------------------------- BatchNorm
def test_batch_norm_starts_at_mean_0_variance_1():
    bn = BatchNorm(3, dtype=np.float64)
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var, np.ones(3))
    np.testing.assert_array_equal(bn.params["gamma"], np.ones(3))
    np.testing.assert_array_equal(bn.params["beta"], np.zeros(3))


@pytest.mark.parametrize("batch", [4, 7])
def test_batch_norm_train_mode_normalises_with_batch_statistics(batch):
    rng = np.random.default_rng(batch)
    bn = make_batch_norm(rng, 5, 5)
    x = rng.standard_normal((batch, 5)) * 3 + 2
    mean, var = x.mean(axis=0), ((x - x.mean(axis=0)) ** 2).mean(axis=0)  # biased variance
    expected = bn.params["gamma"] * (x - mean) / np.sqrt(var + 1e-5) + bn.params["beta"]
    np.testing.assert_allclose(bn.forward(x, train=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch", [4, 7])
def test_batch_norm_running_statistics_and_eval_mode(batch):
    rng = np.random.default_rng(10 + batch)
    bn = make_batch_norm(rng, 5, 5)
    x = rng.standard_normal((batch, 5)) * 3 + 2
    batch_mean = x.mean(axis=0)
    batch_var = ((x - batch_mean) ** 2).mean(axis=0)  # biased

    bn.forward(x, train=True)
    # running ← 0.9·running + 0.1·batch, from mean 0 and variance 1
    np.testing.assert_allclose(bn.running_mean, 0.9 * 0 + 0.1 * batch_mean, rtol=1e-14, atol=0, err_msg="running_mean")
    np.testing.assert_allclose(bn.running_var, 0.9 * 1 + 0.1 * batch_var, rtol=1e-14, atol=0, err_msg="running_var")

    x2 = rng.standard_normal((batch, 5)) - 1
    bn.forward(x2, train=True)
    mean2 = x2.mean(axis=0)
    var2 = ((x2 - mean2) ** 2).mean(axis=0)
    expected_mean = 0.9 * (0.1 * batch_mean) + 0.1 * mean2
    expected_var = 0.9 * (0.9 + 0.1 * batch_var) + 0.1 * var2
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=1e-13, err_msg="2nd running_mean")
    np.testing.assert_allclose(bn.running_var, expected_var, rtol=1e-13, err_msg="2nd running_var")

    running_mean, running_var = bn.running_mean.copy(), bn.running_var.copy()
    x_eval = rng.standard_normal((3, 5))  # any batch size, even 1, in eval mode
    expected = (x_eval - running_mean) / np.sqrt(running_var + 1e-5) * bn.params["gamma"] + bn.params["beta"]
    np.testing.assert_allclose(bn.forward(x_eval, train=False), expected, rtol=1e-12, atol=1e-12, err_msg="eval output")
    np.testing.assert_allclose(bn.forward(x_eval[:1], train=False), expected[:1], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, running_mean, err_msg="eval mode changed running_mean")
    np.testing.assert_array_equal(bn.running_var, running_var, err_msg="eval mode changed running_var")


# ----------------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_is_identity_in_eval_mode(dtype):
    x = np.random.default_rng(0).standard_normal((8, 5)).astype(dtype)
    out = Dropout(0.3, np.random.default_rng(0)).forward(x, train=False)
    np.testing.assert_array_equal(out, x)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.3, 0.5, 0.8])
def test_dropout_train_mode_scales_kept_values_and_drops_at_rate_p(p, dtype):
    x = np.random.default_rng(1).uniform(0.5, 2.0, (1000, 1000)).astype(dtype)  # never 0, so drops are visible
    layer = Dropout(p, np.random.default_rng(2))
    out = layer.forward(x, train=True)
    assert out.dtype == dtype, f"Dropout turned {np.dtype(dtype)} into {out.dtype}"

    kept = out != 0
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=rtol, err_msg="kept values must be x/(1−p)")

    n = x.size
    drop_rate = 1 - np.count_nonzero(kept) / n
    tolerance = 5 * np.sqrt(p * (1 - p) / n)  # five binomial standard deviations
    assert abs(drop_rate - p) < tolerance, f"drop rate {drop_rate:.5f}, expected {p} ± {tolerance:.5f}"

    dout = np.random.default_rng(3).standard_normal(x.shape).astype(dtype)
    dx = layer.backward(dout)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx[~kept], 0, err_msg="no gradient flows through a dropped unit")
    np.testing.assert_allclose(dx[kept], dout[kept] / (1 - p), rtol=rtol)


def test_dropout_draws_a_new_mask_each_call():
    x = np.ones((50, 50))
    layer = Dropout(0.5, np.random.default_rng(0))
    assert not np.array_equal(layer.forward(x, train=True), layer.forward(x, train=True))
