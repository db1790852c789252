"""Every key of a run config, declared once: its type, default, rule and one-line help.

Each field below is a key, `key(default, rule, help)`; each section's docstring is its help. The optimizer's own
keys take their defaults from its constructor (`hyperparameter_defaults`) and their rule and help from
HYPERPARAMETERS. The loader, the overrides, `scratchrun schema` and the table in docs/config.md all walk these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scratchrun.config.rules import Key, boolean, choice, declared, integer, key, layer_sizes, number, run_name, subset
from scratchrun.nn.initializers import INITIALIZERS
from scratchrun.nn.layers import ACTIVATIONS
from scratchrun.nn.optimizers import OPTIMIZERS, hyperparameter_defaults
from scratchrun.nn.schedules import SCHEDULES


def _datasets():
    from scratchrun.data.registry import DATASETS  # late: data sits above config, and tests register datasets

    return DATASETS


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, and how its training images split into training and validation."""

    dataset: str = key("mnist", choice(_datasets), "the dataset to train, validate and test on")
    val_fraction: float = key(0.1, number(0, 1), "share of the official training images held out for validation; "
                                                 "0 = none")
    val_size: int | None = key(None, integer(0, nullable=True), "validation images held out, as a number (the book's "
                                                                "search: 100); null = val_fraction decides")
    train_size: int | None = key(None, integer(1, nullable=True), "training images used; null = every remaining "
                                                                  "one, 300 = the first 300 of them")
    test_size: int | None = key(None, integer(1, nullable=True), "test images scored; null = the whole official "
                                                                 "test set")
    train_on_val: bool = key(False, boolean(), "true = the validation images join the training images (a search's "
                                               "--final-test run)")


@dataclass(frozen=True)
class ModelConfig:
    """The MLP: hidden layers, activation, initial weights, batch norm, dropout and weight decay."""

    hidden: tuple[int, ...] = key((100, 100, 100, 100), layer_sizes(), "units per hidden layer")
    activation: str = key("relu", choice(lambda: ACTIVATIONS), "the hidden layers' nonlinearity")
    init: str = key("he", choice(lambda: INITIALIZERS), "the initial weights' std: he √(2/n_in), xavier 1/√n_in, "
                                                         "std init_std")
    init_std: float = key(0.01, number(0, low_open=True), "the weights' std when init is std")
    batch_norm: bool = key(False, boolean(), "BatchNorm between each hidden Affine and its activation")
    dropout: float = key(0.0, number(0, 1), "probability of dropping a hidden unit (inverted dropout); 0 = off")
    weight_decay: float = key(0.0, number(0), "λ: loss += λ/2·Σ‖W‖² over the weight matrices only; 0 = off")


@dataclass(frozen=True)
class OptimizerConfig:
    """The update rule (name) and its own hyperparameters; each optimizer takes only its own keys."""

    name: str = key("adam", choice(lambda: OPTIMIZERS), "the update rule")
    # its own keys, written flat in a file (optimizer.lr); declared in HYPERPARAMETERS
    params: Mapping[str, float] = field(default_factory=lambda: hyperparameter_defaults(OptimizerConfig.name))


# The optimizers' own keys: each optimizer's constructor says which it takes and their defaults.
HYPERPARAMETERS: dict[str, Key] = {
    "lr": Key(number(0, low_open=True), "learning rate"),
    "momentum": Key(number(0, 1), "μ, the share of the previous update kept in the next (momentum, nesterov)"),
    "beta1": Key(number(0, 1), "Adam's decay of its running mean of gradients"),
    "beta2": Key(number(0, 1), "Adam's decay of its running mean of squared gradients"),
    "decay_rate": Key(number(0, 1), "RMSProp's decay of its running mean of squared gradients"),
    "eps": Key(number(0, low_open=True), "ε added to the denominator so it never divides by zero"),
}


@dataclass(frozen=True)
class TrainConfig:
    """How long and in what minibatches to train: set exactly one of epochs and iterations."""

    epochs: int | None = key(10, integer(1, nullable=True), "passes over the training set (exclusive with "
                                                            "iterations)")
    iterations: int | None = key(None, integer(1, nullable=True), "minibatch updates (exclusive with epochs)")
    batch_size: int = key(100, integer(1), "images per minibatch update")
    eval_every: int | None = key(None, integer(1, nullable=True), "updates between evaluations; null = at the end "
                                                                  "of every epoch")
    track: tuple[str, ...] = key(("train", "val"), subset(("train", "val")), "splits scored at every evaluation; "
                                 "the last one scores both, so the run's final numbers are the same either way")
    lr_schedule: str = key("constant", choice(lambda: SCHEDULES), "constant, or cosine: lr·½(1 + cos(π·(t−1)/T)), "
                                                                  "full rate first, near 0 at the end")


@dataclass(frozen=True)
class Config:
    """One run: its name and seed, then the data, the model, the optimizer and the training."""

    name: str | None = key(None, run_name(), "part of the run-folder name; null = the config file's name")
    seed: int = key(0, integer(0), "split, init, batch order and dropout each draw from their own stream of it")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def config_keys() -> dict[str, Key]:
    """Every dotted key of a run config, each optimizer's own keys included: what a search may vary."""
    keys: dict[str, Key] = {}
    for name, item in declared(Config).items():
        if isinstance(item, Key):
            keys[name] = item
            continue
        keys.update({f"{name}.{sub}": sub_key for sub, sub_key in declared(item).items()})
        if item is OptimizerConfig:
            keys.update({f"optimizer.{sub}": sub_key for sub, sub_key in HYPERPARAMETERS.items()})
    return keys


def is_config_key(dotted: str) -> bool:
    """Whether `a.b` names a value of the config (any optimizer's own keys included)."""
    return dotted in config_keys()


def optimizer_defaults(hyperparameter: str) -> str:
    """Each optimizer's default for one of the optimizers' keys, e.g. `0.01 (sgd, momentum), 0.001 (adam)`."""
    by_value: dict[float, list[str]] = {}
    for name in OPTIMIZERS:
        own = hyperparameter_defaults(name)
        if hyperparameter in own:
            by_value.setdefault(own[hyperparameter], []).append(name)
    return ", ".join(f"{value:g} ({', '.join(names)})" for value, names in by_value.items())
