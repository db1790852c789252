"""A float64 central-difference gradient checker shared by the layer, loss and model tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

H = 1e-6  # central-difference step
TOLERANCE = 1e-6  # largest allowed relative error between analytic and numeric gradients


def numeric_gradient(f: Callable[[], float], a: np.ndarray, h: float = H) -> np.ndarray:
    """∂f/∂a by central differences, perturbing `a` in place one entry at a time (and restoring it)."""
    grad = np.zeros_like(a, dtype=np.float64)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + h
        f_plus = f()
        a[idx] = old - h
        f_minus = f()
        a[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a − n| / max(1e-8, max |a| + max |n|): one scale for the whole array, so tiny entries do not blow up."""
    scale = max(1e-8, float(np.max(np.abs(analytic), initial=0.0) + np.max(np.abs(numeric), initial=0.0)))
    return float(np.max(np.abs(analytic - numeric), initial=0.0)) / scale


def assert_gradients_match(
    analytic: np.ndarray, numeric: np.ndarray, what: str, tolerance: float = TOLERANCE, atol: float = 0.0
) -> None:
    """Fail with the worst entry, both values and the error when the gradients disagree.

    `atol` lets a gradient that is zero by construction (a bias feeding BatchNorm) pass against the numeric
    one's rounding noise, about ε·|f|/h ≈ 1e-10; it stays 0 (off) for the single-layer checks.
    """
    assert analytic.shape == numeric.shape, f"{what}: analytic shape {analytic.shape}, expected {numeric.shape}"
    error = relative_error(analytic, numeric)
    if error >= tolerance and np.max(np.abs(analytic - numeric), initial=0.0) > atol:
        worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), analytic.shape)
        pytest.fail(
            f"{what}: relative error {error:.3g} >= {tolerance:g}; worst entry {tuple(int(i) for i in worst)}: "
            f"analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g}"
        )
