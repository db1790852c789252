"""Softmax cross-entropy: value against the direct formula, numerical gradient, stability, the summed variant."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_gradients_match, numeric_gradient

from scratchrun.nn.losses import cross_entropy_sum, softmax_cross_entropy

CASES = [(1, 2, 0), (4, 3, 1), (7, 10, 2), (16, 5, 3)]  # (batch, classes, seed)


def direct_loss(logits: np.ndarray, y: np.ndarray) -> float:
    """−mean log(e^{z_y} / Σ_k e^{z_k}), written out naively (fine for small logits)."""
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(softmax[np.arange(len(y)), y])))


def batch(b: int, c: int, seed: int, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((b, c)) * scale, rng.integers(0, c, b)


@pytest.mark.parametrize("b, c, seed", CASES)
def test_value_matches_the_direct_formula(b, c, seed):
    logits, y = batch(b, c, seed)
    loss, _ = softmax_cross_entropy(logits, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(direct_loss(logits, y), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("b, c, seed", CASES)
def test_gradient_matches_central_differences(b, c, seed):
    logits, y = batch(b, c, seed)
    _, dlogits = softmax_cross_entropy(logits, y)
    numeric = numeric_gradient(lambda: softmax_cross_entropy(logits, y)[0], logits)
    assert_gradients_match(dlogits, numeric, f"softmax_cross_entropy (batch {b}, classes {c}, seed {seed}) dL/dlogits")
    # the closed form: (softmax − onehot(y)) / B; each row sums to 0
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(c)[y]
    np.testing.assert_allclose(dlogits, (softmax - onehot) / b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dlogits.sum(axis=1), 0, atol=1e-15)


def test_does_not_modify_the_logits():
    logits, y = batch(5, 4, 0)
    before = logits.copy()
    softmax_cross_entropy(logits, y)
    cross_entropy_sum(logits, y)
    np.testing.assert_array_equal(logits, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [3.0, 1e4])
@pytest.mark.parametrize("offset", [1e4, -1e4])
def test_large_logits_stay_finite(offset, spread, dtype):
    base, y = batch(6, 4, 1, scale=1.0)
    logits = (base * spread + offset).astype(dtype)  # every logit around ±1e4: exp would overflow or underflow
    loss, dlogits = softmax_cross_entropy(logits, y)
    assert np.isfinite(loss), f"loss is {loss} for logits {offset:g} ± {spread:g}"
    assert np.all(np.isfinite(dlogits)), f"gradient is not finite for logits {offset:g} ± {spread:g}"
    loss_sum, _ = cross_entropy_sum(logits, y)
    assert np.isfinite(loss_sum)
    assert loss_sum == pytest.approx(loss * len(y), rel=1e-5)
    # the reference in log space: log Σ_k e^{z_k} − z_y, with numpy's own stable logaddexp
    z = logits.astype(np.float64)
    expected = float(np.mean(np.logaddexp.reduce(z, axis=1) - z[np.arange(len(y)), y]))
    assert loss == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_confident_correct_prediction_has_near_zero_loss_and_wrong_one_the_margin():
    logits = np.array([[1e4, 0.0, 0.0], [0.0, 1e4, 0.0]])
    loss, _ = softmax_cross_entropy(logits, np.array([0, 1]))
    assert loss == pytest.approx(0.0, abs=1e-12)
    loss, _ = softmax_cross_entropy(logits, np.array([1, 0]))
    assert loss == pytest.approx(1e4, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("b, c, seed", CASES)
def test_cross_entropy_sum_agrees_with_the_mean(b, c, seed, dtype):
    logits, y = batch(b, c, seed)
    logits = logits.astype(dtype)
    mean, _ = softmax_cross_entropy(logits, y)
    loss_sum, correct = cross_entropy_sum(logits, y)
    assert isinstance(loss_sum, float) and isinstance(correct, int)
    rel = 1e-5 if dtype == np.float32 else 1e-12
    assert loss_sum == pytest.approx(mean * b, rel=rel), f"sum {loss_sum} != mean {mean} × batch {b}"
    assert correct == int(np.sum(np.argmax(logits, axis=1) == y))


def test_cross_entropy_sum_counts_correct_predictions():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 1.0, 5.0], [9.0, 0.0, 0.0]])
    assert cross_entropy_sum(logits, np.array([0, 1, 2, 0]))[1] == 4
    assert cross_entropy_sum(logits, np.array([1, 1, 0, 0]))[1] == 2
    assert cross_entropy_sum(logits, np.array([2, 0, 1, 1]))[1] == 0
