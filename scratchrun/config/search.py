"""Random search of chapter 6.5, the parts that need no training: the search space, sampling, and narrowing.

A config's `search:` section (ignored by `train`) declares how many trials, how many rounds, and a range per
key. Trial i's values depend only on the search seed and i, never on how many workers run or which finishes
first. After a round, every range narrows to the span of the best `keep` trials. Within a round, successive
halving (`prune:`) may stop the weaker trials early: all train `min_epochs`, the best 1/eta go on to
`min_epochs·eta`, and so on up to the full budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

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


def sample(space: Sequence[Dimension], seed: int, trial: int) -> dict[str, Any]:
    """Trial `trial`'s values: drawn from a generator seeded by (seed, trial) alone."""
    rng = np.random.default_rng([seed, trial])
    values = {}
    for dim in space:
        if dim.kind == "choice":
            values[dim.key] = dim.choices[int(rng.integers(len(dim.choices)))]
        elif dim.kind == "uniform":
            values[dim.key] = float(rng.uniform(dim.low, dim.high))
        else:  # log_uniform: uniform in log10 space, as chapter 6.5 samples lr = 10^U(-6, -2)
            values[dim.key] = float(10 ** rng.uniform(math.log10(dim.low), math.log10(dim.high)))
    return values


def best_trials(trials: Sequence[dict], metric: str, keep: int, with_pruned: bool = False) -> list[dict]:
    """The `keep` best completed trials by the validation metric (ties: the lower trial number).

    Diverged and failed trials never count, nor, by default, pruned ones: a score after fewer epochs is not
    comparable. `with_pruned` ranks them after the completed ones, those that went further first, as
    successive halving did; narrowing uses that, since a pruned round may complete fewer than `keep` trials.
    """
    allowed = ("completed", "pruned") if with_pruned else ("completed",)
    scored = [t for t in trials if t.get("status") in allowed and _finite(t.get(metric))]
    sign = -1 if METRICS[metric] == "max" else 1
    return sorted(scored, key=lambda t: (t["status"] != "completed", -(t.get("epochs") or 0), sign * t[metric],
                                         t["trial"]))[:keep]


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def rung_epochs(epochs: int, prune: Prune | None) -> list[int]:
    """The epochs at which successive halving ranks the trials: min_epochs·eta^k below the budget, then the budget."""
    if prune is None:
        return [epochs]
    rungs, at = [], prune.min_epochs
    while at < epochs:
        rungs.append(at)
        at *= prune.eta
    return [*rungs, epochs]


def promote(scores: Mapping[int, float | None], eta: int, metric: str) -> list[int]:
    """The trials that go on to the next rung: the best len(scores) // eta (at least one) with a finite score."""
    scored = [(trial, score) for trial, score in scores.items() if _finite(score)]
    sign = -1 if METRICS[metric] == "max" else 1
    ranked = sorted(scored, key=lambda ts: (sign * ts[1], ts[0]))
    return sorted(trial for trial, _ in ranked[: max(1, len(scores) // eta)])


def successive_halving(
    trials: Sequence[int],
    rungs: Sequence[int],
    eta: int,
    metric: str,
    score: Callable[[list[int], int], Mapping[int, float | None]],
    on_prune: Callable[[int, int], None] = lambda trial, epochs: None,
) -> dict[int, int]:
    """Train rung by rung, keeping the best 1/eta each time; returns {pruned trial: the epoch it stopped at}.

    `score(trials, epochs)` trains those trials for that many epochs and returns each one's validation
    score (None when it diverged or failed: such a trial is out, but not "pruned").
    """
    alive, pruned = list(trials), {}
    for number, epochs in enumerate(rungs):
        scores = score(alive, epochs)
        if number == len(rungs) - 1 or not alive:
            break
        promoted = promote({trial: scores.get(trial) for trial in alive}, eta, metric)
        for trial in alive:
            if trial not in promoted and _finite(scores.get(trial)):
                pruned[trial] = epochs
                on_prune(trial, epochs)
        alive = promoted
    return pruned


def narrow(space: Sequence[Dimension], best: Sequence[Mapping[str, Any]]) -> tuple[Dimension, ...]:
    """Each range shrinks to the span of the best trials' values (choices to the values they used)."""
    if not best:
        return tuple(space)
    narrowed = []
    for dim in space:
        values = [t[dim.key] for t in best]
        if dim.kind == "choice":
            narrowed.append(replace(dim, choices=tuple(c for c in dim.choices if c in values)))
        else:
            low, high = min(values), max(values)
            if low == high:  # one best trial: keep a sliver around it rather than an empty range
                low, high = (low / 1.01, high * 1.01) if dim.kind == "log_uniform" else (low - 1e-12, high + 1e-12)
            narrowed.append(replace(dim, low=low, high=high))
    return tuple(narrowed)


def trial_seed(seed: int, trial: int) -> int:
    """The run seed of trial `trial`: like its values, a function of the search seed and the trial number only."""
    return int(np.random.SeedSequence([seed, trial, 1]).generate_state(1)[0])


def describe(space: Sequence[Dimension]) -> dict[str, str]:
    """Each range as text, for ranges.csv and the terminal: `[1e-06, 0.01] log` or `{sgd, adam}`."""
    out = {}
    for dim in space:
        if dim.kind == "choice":
            out[dim.key] = "{" + ", ".join(map(str, dim.choices)) + "}"
        else:
            out[dim.key] = f"[{dim.low:.3g}, {dim.high:.3g}]" + (" log" if dim.kind == "log_uniform" else "")
    return out
