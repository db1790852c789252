"""The dry run of a study or search (experiments/dry_run.py): what building every run would estimate, from one config
per shape; every run's values still checked as its own config would check them."""

from __future__ import annotations

import pytest

from scratchrun import api
from scratchrun.errors import ConfigError
from scratchrun.experiments.dry_run import estimate_study
from scratchrun.experiments.presets import define_study, sweep
from scratchrun.experiments.specs import Variant
from scratchrun.experiments.study import StudyDefinition, plan_study
from scratchrun.training import estimate

BASE = {"name": "dry", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]},
        "optimizer": {"name": "sgd"}, "train": {"epochs": 2, "batch_size": 32}}


@pytest.fixture
def timed(monkeypatch):
    """Each network shape timed at a speed of its own (its width), without timing anything."""
    monkeypatch.setattr(estimate, "_speeds", {})
    monkeypatch.setattr(estimate, "_measure", lambda config, sizes: (1e-6 * sum(config.model.hidden), 1e-7))


def reference(definition, seeds: int, jobs: int) -> tuple[list[tuple[str, float]], float]:
    """What the dry run used to do: build every run, estimate each one."""
    plan = plan_study(definition, seeds, jobs)
    seconds = [estimate.run_estimate(spec.config).seconds for spec in plan.todo]
    return ([(spec.config.name, s) for spec, s in zip(plan.todo, seconds)],
            estimate.makespan(seconds, plan.workers))


@pytest.mark.parametrize("definition", [
    lambda: sweep(BASE, {"model.hidden": [[8], [32, 32]], "optimizer.lr": [0.1, 0.01], "model.dropout": [0.0, 0.5]}),
    lambda: define_study("bn-study", BASE, scales=3),
    lambda: define_study("compare-optimizers", BASE, optimizers=["sgd", "adam"], lr={"sgd": 0.5}),
])
def test_the_estimate_is_what_estimating_every_run_gives(tiny, timed, definition):
    runs, seconds = reference(definition(), seeds=3, jobs=2)
    planned = estimate_study(definition(), seeds=3, jobs=2)
    assert [(run.name, run.estimate.seconds) for run in planned.todo] == runs
    assert planned.seconds == pytest.approx(seconds) and planned.runs == len(runs)


@pytest.mark.parametrize("definition, words", [
    (lambda: sweep(BASE, {"optimizer.lr": [0.1, -1]}), "optimizer.lr = `-1` is not allowed"),
    (lambda: sweep(BASE, {"model.dropout": [0.1, 1.5]}), "model.dropout = `1.5` is not allowed"),
    (lambda: sweep(BASE, {"model.init_std": [0.1, "big"]}), "model.init_std = `big` is not allowed"),
    (lambda: sweep(BASE, {"optimizer.name": ["sgd", "adam"], "optimizer.momentum": [0.9]}),
     "optimizer.momentum does not apply to sgd"),
    (lambda: StudyDefinition("odd", BASE, (Variant("plain", ()), Variant("more", (("optimizer.momentum", 0.9),)))),
     "optimizer.momentum does not apply to sgd"),  # a valid value, on a key the first variant does not set
])
def test_a_run_whose_config_is_not_built_is_still_refused_as_the_real_study_refuses_it(tiny, timed, definition, words):
    with pytest.raises(ConfigError) as real:
        plan_study(definition())
    with pytest.raises(ConfigError) as dry:
        estimate_study(definition())
    assert str(dry.value) == str(real.value) and words in str(dry.value)


def test_a_resumed_study_estimates_only_the_runs_it_would_train(tiny, timed, tmp_path):
    args = {"overrides": ["data.dataset=tiny", "train.iterations=4"], "optimizers": ["sgd", "adam"], "jobs": 1}
    done = api.compare_optimizers(runs_dir=tmp_path / "runs", seeds=2, **args)
    (done.folder / "adam-seed1" / "summary.json").write_text('{"status": "interrupted"}')
    definition = define_study("compare-optimizers", None, args["overrides"], optimizers=["sgd", "adam"])
    planned = estimate_study(definition, seeds=2, resume=done.folder)
    assert planned.runs == 4 and [run.name for run in planned.todo] == ["adam-seed1"]


SEARCH = """name: dry
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
optimizer: {name: sgd}
train: {epochs: 4, batch_size: 32}
search:
  trials: 12
  rounds: 2
  space:
    optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}
    model.hidden: {choice: [[8], [16], [8, 8]]}
  prune: {min_epochs: 1, eta: 2}
"""


def test_the_search_estimate_is_what_estimating_every_trial_gives(tiny, timed, tmp_path):
    from scratchrun.config.search import load_search
    from scratchrun.experiments.dry_run import estimate_search
    from scratchrun.experiments.search import plan_search

    (tmp_path / "search.yaml").write_text(SEARCH)
    run = plan_search(load_search(tmp_path / "search.yaml", [], None))
    specs = [run.spec(t, run.values(t, run.plan.space)) for t in range(run.plan.trials)]
    alive, seconds = specs, 0.0
    for epochs in run.rungs:  # what the dry run did before: every trial built, estimated at every rung
        stop = None if epochs == run.rungs[-1] else epochs
        seconds += estimate.makespan([estimate.run_estimate(s.config, stop, evaluate_test=False).seconds
                                      for s in alive], 2)
        alive = alive[: max(1, len(alive) // 2)]
    planned = estimate_search(run, 2)
    assert planned.seconds == pytest.approx(seconds * 2) and len(run.rungs) == 3
    assert [(t.trial, t.estimate) for t in planned.trials] == \
        [(s.index, estimate.run_estimate(s.config, evaluate_test=False)) for s in specs]
