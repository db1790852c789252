"""A config's `search:` section (chapter 6.5's random search): how many trials and rounds, and a range per key.

`train` ignores the section. The maths that runs a search (sampling, successive halving, narrowing) is in
`scratchrun.experiments.sampling`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scratchrun.errors import ConfigError

KINDS = ("log_uniform", "uniform", "choice")
METRICS = {"val_acc": "max", "val_loss": "min"}  # always a validation metric: the test set is for the very end


@dataclass(frozen=True)
class Dimension:
    """One searched key: a range (`log_uniform`, `uniform`) or a list of values (`choice`)."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Prune:
    min_epochs: int
    eta: int


@dataclass(frozen=True)
class SearchConfig:
    trials: int = 20  # per round
    rounds: int = 1
    keep: int = 10
    metric: str = "val_acc"
    space: tuple[Dimension, ...] = ()
    prune: Prune | None = None


def parse_search(raw: Any, source: str, known_key) -> SearchConfig:
    """Validate a `search:` section; `known_key(dotted)` says whether a config key exists (the space may use any)."""
    where = f"{source}: search"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with trials, rounds, keep, metric, space and prune.")
    allowed = {"trials", "rounds", "keep", "metric", "space", "prune"}
    if unknown := sorted(set(raw) - allowed):
        raise ConfigError(f"{where}: unknown key `search.{unknown[0]}`; allowed: {', '.join(sorted(allowed))}.")
    counts = {}
    for key, default in (("trials", 20), ("rounds", 1), ("keep", 10)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{key} = `{value}` is not allowed; allowed: an integer >= 1.")
        counts[key] = value
    metric = raw.get("metric", "val_acc")
    if not isinstance(metric, str) or metric not in METRICS:
        raise ConfigError(f"{where}.metric = `{metric}` is not allowed; allowed: {', '.join(METRICS)} (never a test metric).")
    space = raw.get("space")
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(f"{where}.space must map at least one config key to a range, e.g. optimizer.lr: {{log_uniform: [1.0e-6, 1.0e-2]}}.")
    dims = tuple(_dimension(key, spec, where, known_key) for key, spec in space.items())
    return SearchConfig(metric=metric, space=dims, prune=_prune(raw.get("prune"), where), **counts)


def _dimension(key: Any, spec: Any, where: str, known_key) -> Dimension:
    at = f"{where}.space.{key}"
    if not isinstance(key, str) or not known_key(key):
        raise ConfigError(f"{at}: `{key}` is not a config key that can be searched.")
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise ConfigError(f"{at} must be one of {{log_uniform: [low, high]}}, {{uniform: [low, high]}}, {{choice: [a, b, ...]}}.")
    kind, values = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{at}: choice needs a non-empty list of values.")
        return Dimension(key, kind, choices=tuple(values))
    if (not isinstance(values, list) or len(values) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)):
        raise ConfigError(f"{at}: {kind} needs [low, high], two finite numbers.")
    low, high = float(values[0]), float(values[1])
    if not low < high:
        raise ConfigError(f"{at}: the range [{low:g}, {high:g}] is empty or inverted; allowed: low < high.")
    if kind == "log_uniform" and low <= 0:
        raise ConfigError(f"{at}: a log_uniform range needs low > 0 (got {low:g}).")
    return Dimension(key, kind, low, high)


def _prune(raw: Any, where: str) -> Prune | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"min_epochs", "eta"}:
        raise ConfigError(f"{where}.prune must be {{min_epochs: N, eta: M}}.")
    min_epochs, eta = raw.get("min_epochs", 1), raw.get("eta", 3)
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in (min_epochs, eta))
    if not (integers and min_epochs >= 1 and eta >= 2):
        raise ConfigError(f"{where}.prune: min_epochs must be an integer >= 1 and eta an integer >= 2.")
    return Prune(min_epochs, eta)
