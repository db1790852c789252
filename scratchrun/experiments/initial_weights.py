"""Chapter 6.2 without training: how each initial weight scale shapes the activations and the first gradients."""

from __future__ import annotations

from pathlib import Path

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
        rows.append({"layer": depth, "mean": float(a.mean()), "std": float(a.std()), "saturated": saturated,
                     "dead_units": dead})
    return rows


def gradient_norms(model_config: ModelConfig, x: np.ndarray, y: np.ndarray, seed: int) -> list[float]:
    """‖∂L/∂W‖ of each layer at initialisation, on one batch: a vanishing gradient is why a bad init stalls."""
    model = MLP(x.shape[1], int(y.max()) + 1, model_config, np.random.default_rng(seed), np.random.default_rng(seed))
    with np.errstate(over="ignore", invalid="ignore"):
        model.train_step(x, y)
    return [float(np.linalg.norm(model.grads[key])) for key in model.params if key.startswith("W")]


def initial_weight_figures(folder: Path, base: dict, inits: dict[str, tuple[str, float]], activations: list[str],
                           data_dir: Path | None) -> list[str]:
    """init-study's figures before any training: the activation histograms (and activations.csv), the first gradients.

    Returns a line per init and activation with the statistics of the fifth layer, the book's figure 6-10 in words.
    """
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.experiments.study_folder import write_csv
    from scratchrun.plots.study import activation_histograms, gradient_figure

    seed = base["seed"]
    grid, rows = [], []
    for name, (init, std) in inits.items():
        for act in activations:
            outputs = activation_layers(init, std, act, np.random.default_rng(seed))
            grid.append((f"{name}\n{act}", outputs))
            rows += [{"init": name, "activation": act, **row} for row in activation_stats(outputs, act)]
    activation_histograms(folder / "activations.png", grid)
    write_csv(folder / "activations.csv", rows,
              ["init", "activation", "layer", "mean", "std", "saturated", "dead_units"])
    notes = []
    for row in rows:
        parts = [f"saturated {row['saturated']:.0%}" if row["saturated"] is not None else "",
                 f"dead units {row['dead_units']:.0%}" if row["dead_units"] is not None else ""]
        if row["layer"] == 5:
            notes.append(f"  {row['init']:>9} {row['activation']:>7} layer 5: mean {row['mean']:.3f}, std "
                         f"{row['std']:.3f} "
                         + " ".join(p for p in parts if p))
    first = config_from_dict(base)
    raw = load_raw(first.data.dataset, data_dir, allow_download=False)  # the study fetched it before its runs
    x = (raw.train_images[:128].reshape(128, -1) / np.float32(255)).astype(np.float32)
    y = raw.train_labels[:128].astype(np.intp)
    norms = {}
    for name, (init, std) in inits.items():
        model_config = config_from_dict({**base, "model": {**base["model"], "init": init, "init_std": std}}).model
        norms[name] = gradient_norms(model_config, x, y, seed)
    gradient_figure(folder / "gradients.png", norms, base["model"]["activation"])
    return notes
