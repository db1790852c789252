"""The chapter-6 studies as definitions: the book's settings, the variants each compares, and the figures it draws.

Each function validates its own options and returns a `StudyDefinition` for `run_study`; a new study is one
more function here (its option defaults in defaults.py), one command in cli/studies.py and one function in api.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scratchrun.errors import ConfigError
from scratchrun.experiments.defaults import (
    ALL_OPTIMIZERS,
    BOOK_ACTIVATIONS,
    BOOK_INITS,
    DEFAULT_DROPOUT,
    DEFAULT_SCALES,
    DEFAULT_WEIGHT_DECAY,
)
from scratchrun.experiments.specs import Variant, check_size
from scratchrun.experiments.study import StudyDefinition
from scratchrun.plots.spec import Figure, Panel, accuracy_grid, by_variant

# Each setting tracks (`train.track`) only the splits its figures draw along the way; every run's last evaluation
# scores both, so results.csv is the same as when every evaluation scored both (tests/experiments/golden/).
BOOK_OPTIMIZER_SETTING = {  # 784-100-100-100-100-10, ReLU, He init, batch 128, 2,000 updates on the full training set
    "name": "compare-optimizers",
    "data": {"dataset": "mnist", "val_fraction": 0.1},
    "model": {"hidden": [100, 100, 100, 100], "activation": "relu", "init": "he"},
    "train": {"iterations": 2000, "batch_size": 128, "eval_every": 200, "track": ["val"]},  # accuracy.png: validation
}
# The book's learning rates for the toy function; Nesterov and RMSProp are ours (the book does not draw them).
TOY_LR = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3, "adam": 0.3}
BOOK_OVERFIT_SETTING = {  # the first 300 training images, 784-(100x6)-10 ReLU, He init, SGD lr 0.01, batch 100
    "name": "overfit-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1, "train_size": 300},
    "model": {"hidden": [100] * 6, "activation": "relu", "init": "he"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"epochs": 200, "batch_size": 100},
}
BOOK_BN_SETTING = {  # the first 1,000 training images, 784-(100x5)-10 ReLU, SGD lr 0.01, batch 100, 20 epochs
    "name": "bn-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1, "train_size": 1000},
    "model": {"hidden": [100] * 5, "activation": "relu", "init": "std"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"epochs": 20, "batch_size": 100, "track": ["train"]},  # bn.png: training accuracy, as the book's
}
BOOK_INIT_SETTING = {  # 6.2.4: the 5-layer ReLU net, SGD lr 0.01, batch 128, 2,000 updates
    "name": "init-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1},
    "model": {"hidden": [100, 100, 100, 100], "activation": "relu"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"iterations": 2000, "batch_size": 128, "eval_every": 200, "track": ["val"]},  # its figures: the loss
}


def base_config(config: Path | str | Mapping | None, overrides: Sequence[str], defaults: Mapping) -> dict:
    """A study's base config as resolved data: a file or a mapping, else the book's setting; then the overrides."""
    from scratchrun.config.loader import config_from_dict, load_config, to_dict
    from scratchrun.config.overrides import apply_overrides

    if isinstance(config, Mapping):
        return to_dict(config_from_dict(apply_overrides(dict(config), overrides), "<config>"))
    if config is not None:
        return to_dict(load_config(config, overrides))
    return to_dict(config_from_dict(apply_overrides(dict(defaults), overrides), "<book setting>"))


def sweep(config: Path | str | Mapping, axes: Sequence[str] | Mapping[str, Sequence[Any]]) -> StudyDefinition:
    """The grid of every listed value of every swept key (`KEY=V1,V2` texts, or a mapping of key to values)."""
    from scratchrun.experiments.specs import grid, parse_axis

    base = base_config(config, (), {})
    parsed = [(key, list(values)) for key, values in axes.items()] if isinstance(axes, Mapping) \
        else [parse_axis(axis) for axis in axes]
    if empty := [key for key, values in parsed if not values]:
        raise ConfigError(f"Sweep axis `{empty[0]}` lists no values; allowed: one or more values to try.")
    check_size(math.prod(len(values) for _, values in parsed), "runs",
               "The sweep's grid of " + " × ".join(f"{len(values)} {key}" for key, values in parsed))
    variants = tuple(grid(parsed))
    names = [v.name for v in variants]
    figures = (by_variant("loss", "minibatch loss by variant", names),
               by_variant("val_acc", "validation accuracy by variant", names, "val_acc", "validation accuracy"))
    return StudyDefinition(f"sweep-{base['name']}", base, variants, figures)


def compare_optimizers(base: dict, optimizers: Sequence[str] | None = None,
                       lr: Mapping[str, float] | None = None) -> StudyDefinition:
    """6.1.8: the same network with each optimizer on the same minibatches; loss, accuracy and the toy paths."""
    from scratchrun.nn.optimizers import OPTIMIZERS

    names = list(optimizers or ALL_OPTIMIZERS)
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown or not names:
        raise ConfigError(f"--optimizers: `{', '.join(unknown) or ','.join(names)}` is not allowed; allowed: a "
                          f"comma-separated list of {', '.join(OPTIMIZERS)}.")
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"--optimizers: {', '.join(f'`{n}`' for n in repeated)} is given more than once; allowed: "
                          "each optimizer once (a study compares different optimizers; --seeds repeats runs).")
    rates = dict(lr or {})
    for name in rates:
        if name not in names:
            raise ConfigError(f"--lr `{name}={rates[name]}`: `{name}` is not one of the compared optimizers "
                              f"({', '.join(names)}).")
    variants = tuple(Variant(n, (("optimizer", {"name": n, **({"lr": rates[n]} if n in rates else {})}),))
                     for n in names)
    figures = (by_variant("loss", "minibatch loss by optimizer (same network, same minibatches)", names,
                          file="loss.png"),
               by_variant("val_acc", "validation accuracy by optimizer", names, "val_acc", "validation accuracy",
                          file="accuracy.png"))

    def side_figures(folder: Path, data_dir: Path | None) -> None:  # drawn while the runs train
        from scratchrun.plots.study import toy_paths

        toy_paths(folder / "paths.png", {n: OPTIMIZERS[n](lr=TOY_LR[n]) for n in names})

    return StudyDefinition("compare-optimizers", base, variants, figures, side_figures)


def overfit(base: dict, weight_decay: float = DEFAULT_WEIGHT_DECAY,
            dropout: float = DEFAULT_DROPOUT) -> StudyDefinition:
    """6.4: overfit a small training set, then narrow the train/validation gap with weight decay, dropout, or both."""
    variants = (
        Variant("none", (("model.weight_decay", 0.0), ("model.dropout", 0.0))),
        Variant("weight-decay", (("model.weight_decay", weight_decay), ("model.dropout", 0.0))),
        Variant("dropout", (("model.weight_decay", 0.0), ("model.dropout", dropout))),
        Variant("both", (("model.weight_decay", weight_decay), ("model.dropout", dropout))),
    )
    names = [v.name for v in variants]
    metrics = ("train_acc", "val_acc")
    figures = (accuracy_grid("overfit", "train (solid) and validation (dashed) accuracy per epoch",
                             [Panel(n, {n: n}) for n in names], metrics, cols=2, file="overfit.png"),
               Figure("gap", "the overfitting gap after the last epoch (training − validation accuracy)",
                      (Panel("", {n: n for n in names}),), metrics, xlabel="", ylabel="accuracy gap", gap=True))
    return StudyDefinition("overfit-study", base, variants, figures)


def batch_norm(base: dict, scales: int = DEFAULT_SCALES) -> StudyDefinition:
    """6.3.2: with and without batch norm at each initial weight scale: where does the plain net stop learning?"""
    import numpy as np

    if isinstance(scales, bool) or not isinstance(scales, int) or scales < 1:
        raise ConfigError(f"--scales {scales!r} is not allowed; allowed: an integer >= 1.")
    check_size(2 * scales, "runs", f"--scales {scales} (with and without batch norm at each)")
    stds = [float(f"{s:.3g}") for s in np.logspace(0, -4, scales)]
    variants, panels = [], []
    for std in stds:  # a panel per weight std: its two variants, with and without batch norm
        pair = [Variant(f"{name}-{std:g}", (("model.init", "std"), ("model.init_std", std), ("model.batch_norm", on)))
                for name, on in (("bn", True), ("plain", False))]
        variants += pair
        panels.append(Panel(f"weight std {std:g}", {pair[0].name: "batch norm", pair[1].name: "plain"}))
    figures = (accuracy_grid("bn", "training accuracy per epoch, with and without batch norm", panels, ("train_acc",),
                             cols=4, file="bn.png"),)
    return StudyDefinition("bn-study", base, tuple(variants), figures)


def initial_weights(base: dict, inits: Sequence[str] = BOOK_INITS,
                    activations: Sequence[str] = BOOK_ACTIVATIONS) -> StudyDefinition:
    """6.2: activation distributions and first gradients for each init, then MNIST training with each."""
    from scratchrun.experiments.initial_weights import parse_init
    from scratchrun.nn.layers import ACTIVATIONS

    try:
        parsed = {name: parse_init(name) for name in inits}
    except ValueError as e:
        raise ConfigError(f"--inits: `{e}` is not allowed; allowed: std:<positive number>, xavier, he.") from None
    if not inits or not activations or any(a not in ACTIVATIONS for a in activations):
        raise ConfigError(f"--activations `{','.join(activations)}` is not allowed; allowed: a comma-separated list of "
                          f"{', '.join(ACTIVATIONS)}.")
    variants = tuple(Variant(name, (("model.init", init), ("model.init_std", std)))
                     for name, (init, std) in parsed.items())
    names = list(parsed)
    figures = (by_variant("loss", f"minibatch loss by initial weights ({base['model']['activation']})", names,
                          file="loss.png"),
               by_variant("val_acc", "validation accuracy by initial weights", names, "val_acc",
                          "validation accuracy"))

    def side_figures(folder: Path, data_dir: Path | None) -> list[str]:  # drawn while the runs train: they need none
        from scratchrun.experiments.initial_weights import initial_weight_figures

        return initial_weight_figures(folder, base, parsed, list(activations), data_dir)

    return StudyDefinition("init-study", base, variants, figures, side_figures)


STUDIES = {  # kind -> (the book's setting, the function that builds its variants and figures)
    "compare-optimizers": (BOOK_OPTIMIZER_SETTING, compare_optimizers),
    "init-study": (BOOK_INIT_SETTING, initial_weights),
    "bn-study": (BOOK_BN_SETTING, batch_norm),
    "overfit-study": (BOOK_OVERFIT_SETTING, overfit),
}


def define_study(kind: str, config: Path | str | Mapping | None = None, overrides: Sequence[str] = (),
                 **options: Any) -> StudyDefinition:
    """A chapter-6 study by name, on the book's setting (or `config`) with `overrides`; `options` are its own."""
    if kind not in STUDIES:
        raise ConfigError(f"Study `{kind}` is not allowed; allowed: {', '.join(STUDIES)}.")
    defaults, build = STUDIES[kind]
    return build(base_config(config, overrides, defaults), **options)
