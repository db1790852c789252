"""Random search of chapter 6.5, the maths that needs no training: sampling, ranking, successive halving, narrowing.

Trial i's values depend only on the search seed and i, never on how many workers run or which finishes first.
After a round, every range narrows to the span of the best `keep` trials. Within a round, successive halving
(`prune:`) may stop the weaker trials early: all train `min_epochs`, the best 1/eta go on to `min_epochs·eta`,
and so on up to the full budget. What a search may declare is in `scratchrun.config.search`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from scratchrun.config.search import METRICS, Dimension, Prune
from scratchrun.numbers import is_finite


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
    scored = [t for t in trials if t.get("status") in allowed and is_finite(t.get(metric))]
    sign = -1 if METRICS[metric] == "max" else 1
    return sorted(scored, key=lambda t: (t["status"] != "completed", -(t.get("epochs") or 0), sign * t[metric],
                                         t["trial"]))[:keep]


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
    scored = [(trial, score) for trial, score in scores.items() if is_finite(score)]
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
            if trial not in promoted and is_finite(scores.get(trial)):
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
