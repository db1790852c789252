"""What --dry-run shows for a study or a search: its runs counted and timed without building each one.

Runs that differ only in settings that never change how long a run takes (training.estimate.TIMELESS: a seed, a
learning rate, an initial weight scale; dropout and weight decay only by being on) share one estimate, worked out
from one config; each other run's values of those settings are checked against their rules, as its own config
would check them. A study of 10,000 runs over two network shapes builds two configs, not 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scratchrun.training.estimate import ON_OFF, TIMELESS, RunEstimate, cost_signature, makespan, run_estimate


@dataclass(frozen=True)
class PlannedRun:
    """A run a study would train: its name, its seed and its estimate (shared by every run of its shape)."""

    name: str
    seed: int
    estimate: RunEstimate


@dataclass(frozen=True)
class StudyEstimate:
    """A study as a dry run sees it: how many runs it holds, those still to train in the order they would, the
    workers, and its wall time on them."""

    kind: str
    runs: int
    todo: list[PlannedRun]
    workers: int
    seconds: float


@dataclass(frozen=True)
class PlannedTrial:
    """A trial of a search's first round: its number, its sampled values, its full-budget estimate, and whether a
    resumed search has it already."""

    trial: int
    values: dict[str, Any]
    estimate: RunEstimate
    finished: bool


@dataclass(frozen=True)
class SearchEstimate:
    """A search as a dry run sees it: its first round's trials, and the whole search's wall time on `workers`
    (later rounds sample narrowed ranges and are costed like the first)."""

    trials: list[PlannedTrial]
    workers: int
    seconds: float


def estimate_study(definition, seeds: int = 1, jobs: int = 0, resume: Path | None = None) -> StudyEstimate:
    """The dry run of `run_study` with the same arguments: one config built per distinct shape, none per run."""
    from scratchrun.experiments.specs import run_name, variant_config
    from scratchrun.experiments.study import study_request, workers_for
    from scratchrun.experiments.study_folder import finished_results

    base, variants, seed_list = study_request(definition, seeds, jobs, resume)
    rules = _rules()
    for seed in seed_list:  # a resumed study's seeds come from its study.yaml
        _check(rules, [("seed", seed)], lambda: variant_config(base, variants[0], seed, definition.kind))
    shapes: dict[tuple, RunEstimate] = {}
    estimates = []
    for variant in variants:
        signature = cost_signature(variant.overrides)
        if signature not in shapes:
            shapes[signature] = run_estimate(variant_config(base, variant, seed_list[0], definition.kind))
        else:  # the same keys as the config that was built, and the same values but for those checked here
            _check(rules, variant.overrides, lambda: variant_config(base, variant, seed_list[0], definition.kind))
        estimates.append(shapes[signature])
    runs = [(variant.name, seed, estimate) for variant, estimate in zip(variants, estimates) for seed in seed_list]
    kept = finished_results(resume, [(i, v, s) for i, (v, s, _) in enumerate(runs)]) if resume is not None else {}
    todo = [PlannedRun(run_name(v, s), s, estimate) for i, (v, s, estimate) in enumerate(runs) if i not in kept]
    workers = workers_for(jobs, len(todo))
    seconds = makespan([r.estimate.seconds for r in todo], workers)
    return StudyEstimate(definition.kind, len(runs), todo, workers, seconds)


def estimate_search(run, workers: int) -> SearchEstimate:
    """The dry run of a search (`run`, a read-only SearchRun): its first round's trials sampled, one config built
    per distinct shape among them; every sampled value is valid, as each range's ends were checked (edge_configs)."""
    plan = run.plan
    shapes: dict[tuple, Any] = {}
    trials = []
    for trial in range(plan.trials):
        values = run.values(trial, plan.space)
        signature = cost_signature(values.items())
        if signature not in shapes:
            shapes[signature] = run.spec(trial, values).config
        trials.append((trial, values, signature))
    estimates: dict[tuple, RunEstimate] = {}

    def estimate(signature: tuple, stop: int | None) -> RunEstimate:
        if (signature, stop) not in estimates:
            estimates[signature, stop] = run_estimate(shapes[signature], stop, evaluate_test=False)
        return estimates[signature, stop]

    alive, seconds = trials, 0.0
    for epochs in run.rungs:  # successive halving: every rung retrains its trials from the start
        stop = None if epochs == run.rungs[-1] else epochs
        seconds += makespan([estimate(signature, stop).seconds for *_, signature in alive], workers)
        alive = alive[: max(1, len(alive) // plan.prune.eta)] if plan.prune else alive
    planned = [PlannedTrial(trial, values, estimate(signature, None), (trial, None) in run.journal)
               for trial, values, signature in trials]
    return SearchEstimate(planned, workers, seconds * plan.rounds)


def _rules() -> dict:
    from scratchrun.config.schema import config_keys

    return {key: spec.rule for key, spec in config_keys().items() if key in TIMELESS | ON_OFF}


def _check(rules: dict, settings: Iterable[tuple[str, Any]], build) -> None:
    """Each setting an estimate does not depend on, checked against its rule; on a value its rule refuses, `build()`
    the run's config, which raises the sentence a real study would."""
    if any(key in rules and rules[key].check(value) is None for key, value in settings):
        build()
