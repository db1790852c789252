"""Chapter 6.2 without training: how each initial weight scale shapes the activations and the first gradients."""

from __future__ import annotations

import numpy as np

from scratchrun.config.loader import ModelConfig
from scratchrun.nn.initializers import INITIALIZERS
from scratchrun.nn.layers import ACTIVATIONS
from scratchrun.nn.model import MLP


def parse_init(text: str) -> tuple[str, float]:
    """`std:0.01` -> ("std", 0.01); `he` -> ("he", 0.01); raises ValueError on anything else."""
    name, _, value = text.partition(":")
    if name not in INITIALIZERS or (name == "std") != bool(value):
        raise ValueError(text)
    return name, float(value) if value else 0.01


def init_std(name: str, n_in: int, std: float) -> float:
    return INITIALIZERS[name](n_in, std)


def activation_layers(init: str, std: float, activation: str, rng: np.random.Generator,
                      n_samples: int = 1000, width: int = 100, depth: int = 5) -> list[np.ndarray]:
    """The activations of `depth` layers of `width` units (no biases) for Gaussian inputs, as in the book's 6.2.2."""
    x = rng.standard_normal((n_samples, width))
    layer = ACTIVATIONS[activation]()
    outputs = []
    for _ in range(depth):
        W = rng.standard_normal((width, width)) * init_std(init, width, std)
        x = layer.forward(x @ W, train=False)
        outputs.append(x)
    return outputs


def activation_stats(outputs: list[np.ndarray], activation: str) -> list[dict]:
    """Per layer: mean, std, the share of saturated activations (sigmoid, tanh) and of dead units (ReLU)."""
    rows = []
    for depth, a in enumerate(outputs, start=1):
        if activation == "sigmoid":
            saturated = float(np.mean((a < 0.01) | (a > 0.99)))
        elif activation == "tanh":
            saturated = float(np.mean(np.abs(a) > 0.99))
        else:
            saturated = None
        dead = float(np.mean(np.all(a == 0, axis=0))) if activation == "relu" else None  # zero for every input
        rows.append({"layer": depth, "mean": float(a.mean()), "std": float(a.std()), "saturated": saturated, "dead_units": dead})
    return rows


def gradient_norms(model_config: ModelConfig, x: np.ndarray, y: np.ndarray, seed: int) -> list[float]:
    """‖∂L/∂W‖ of each layer at initialisation, on one batch: a vanishing gradient is why a bad init stalls."""
    model = MLP(x.shape[1], int(y.max()) + 1, model_config, np.random.default_rng(seed), np.random.default_rng(seed))
    with np.errstate(over="ignore", invalid="ignore"):
        model.train_step(x, y)
    return [float(np.linalg.norm(model.grads[key])) for key in model.params if key.startswith("W")]
