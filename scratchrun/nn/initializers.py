"""Initial weight scales of chapter 6.2: weights ~ N(0, std²) with a std that depends on the layer's fan-in."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def std_init(n_in: int, init_std: float) -> float:
    """The same fixed standard deviation for every layer (the book tries 1 and 0.01)."""
    return init_std


def xavier_init(n_in: int, init_std: float) -> float:
    """std = 1/√n_in, which keeps sigmoid and tanh activations spread (Glorot & Bengio 2010)."""
    return 1 / math.sqrt(n_in)


def he_init(n_in: int, init_std: float) -> float:
    """std = √(2/n_in), which keeps ReLU activations spread (He et al. 2015, arXiv:1502.01852)."""
    return math.sqrt(2 / n_in)


# The YAML name of each initializer, mapped to its std rule.
INITIALIZERS: dict[str, Callable[[int, float], float]] = {"std": std_init, "xavier": xavier_init, "he": he_init}


def init_weights(
    name: str, n_in: int, n_out: int, rng: np.random.Generator, init_std: float = 0.01, dtype=np.float32
) -> np.ndarray:
    """A (n_in, n_out) weight matrix drawn from N(0, std²) with the named rule's std."""
    std = INITIALIZERS[name](n_in, init_std)
    return (rng.standard_normal((n_in, n_out), dtype=np.float64) * std).astype(dtype)
