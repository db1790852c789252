"""Every config key's rule: its type, its allowed values, and the words an error uses to say what is allowed.

The loader validates with these rules; they are the single source for what a config may contain
(the optimizer's own keys come from its constructor, their ranges from HYPERPARAMETER_RULES).
`scratchrun schema` turns them into a JSON Schema through each rule's `json`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from scratchrun.nn.initializers import INITIALIZERS
from scratchrun.nn.layers import ACTIVATIONS
from scratchrun.nn.optimizers import OPTIMIZERS
from scratchrun.nn.schedules import SCHEDULES


@dataclass(frozen=True)
class Rule:
    """What a key accepts: a checker returning the value (normalised) or None when it is not allowed."""

    describe: str | Callable[[], str]  # the words shown after "allowed:" (a callable reads a registry late)
    check: Callable[[Any], Any]
    nullable: bool = False
    json: Callable[[], dict[str, Any]] = dict  # the same rule as JSON Schema, null aside (`scratchrun schema`)

    @property
    def allowed(self) -> str:
        return self.describe() if callable(self.describe) else self.describe


def _number(low: float, high: float | None = None, low_open: bool = False, high_open: bool = True) -> Rule:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        if (v <= low if low_open else v < low) or (high is not None and (v >= high if high_open else v > high)):
            return None
        return float(v)

    low_text = f"> {low:g}" if low_open else f">= {low:g}"
    high_text = "" if high is None else (f" and < {high:g}" if high_open else f" and <= {high:g}")

    def json():
        bounds = {"exclusiveMinimum" if low_open else "minimum": low}
        if high is not None:
            bounds["exclusiveMaximum" if high_open else "maximum"] = high
        return {"type": "number", **bounds}

    return Rule(f"a number {low_text}{high_text}", check, json=json)


def _integer(low: int, nullable: bool = False) -> Rule:
    def check(v):
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= low else None

    text = f"an integer >= {low}" + (" or null" if nullable else "")
    return Rule(text, check, nullable, json=lambda: {"type": "integer", "minimum": low})


def _choice(registry: Callable[[], Iterable[str]]) -> Rule:
    # the registry is read at each use, not at import: tests may register a dataset
    return Rule(
        lambda: "one of " + ", ".join(registry()),
        lambda v: v if isinstance(v, str) and v in registry() else None,
        json=lambda: {"enum": list(registry())},
    )


def _boolean() -> Rule:
    return Rule("true or false", lambda v: v if isinstance(v, bool) else None, json=lambda: {"type": "boolean"})


def _hidden(v):
    if isinstance(v, list) and v and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v):
        return tuple(v)
    return None


def _datasets():
    from scratchrun.data.registry import DATASETS

    return DATASETS


def _name(v):
    return v if isinstance(v, str) and v.strip() else None


SCHEMA: dict[str, Any] = {
    "name": Rule("a non-empty string or null", _name, nullable=True, json=lambda: {"type": "string", "pattern": r"\S"}),
    "seed": _integer(0),
    "data": {
        "dataset": _choice(_datasets),
        "val_fraction": _number(0, 1),
        "train_size": _integer(1, nullable=True),
        "test_size": _integer(1, nullable=True),
        "train_on_val": _boolean(),
    },
    "model": {
        "hidden": Rule(
            "a non-empty list of positive integers, e.g. [100, 100]",
            _hidden,
            json=lambda: {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
        ),
        "activation": _choice(lambda: ACTIVATIONS),
        "init": _choice(lambda: INITIALIZERS),
        "init_std": _number(0, low_open=True),
        "batch_norm": _boolean(),
        "dropout": _number(0, 1),
        "weight_decay": _number(0),
    },
    "optimizer": {"name": _choice(lambda: OPTIMIZERS)},  # plus the named optimizer's own keys
    "train": {
        "epochs": _integer(1, nullable=True),
        "iterations": _integer(1, nullable=True),
        "batch_size": _integer(1),
        "eval_every": _integer(1, nullable=True),
        "lr_schedule": _choice(lambda: SCHEDULES),
    },
}

# The optimizers' own keys: the allowed range of each.
HYPERPARAMETER_RULES: dict[str, Rule] = {
    "lr": _number(0, low_open=True),
    "momentum": _number(0, 1),
    "beta1": _number(0, 1),
    "beta2": _number(0, 1),
    "decay_rate": _number(0, 1),
    "eps": _number(0, low_open=True),
}


def is_config_key(dotted: str) -> bool:
    """Whether `a.b` names a value of the config (any optimizer's own keys included): what a search may vary."""
    parts = dotted.split(".")
    if len(parts) == 2 and parts[0] == "optimizer" and parts[1] in HYPERPARAMETER_RULES:
        return True
    node: Any = SCHEMA
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, Rule)
