"""What --dry-run estimates: the split sizes, the updates, the makespan over workers (training/estimate.py)."""

from __future__ import annotations

import pytest

from scratchrun.config.loader import config_from_dict
from scratchrun.config.overrides import set_dotted
from scratchrun.training.estimate import (
    SHARED_SLOWDOWN,
    STUDY_FILES_S,
    WORKER_START_S,
    makespan,
    run_estimate,
    split_sizes,
)


def test_split_sizes_and_updates_follow_the_config(tiny):
    cfg = config_from_dict({"data": {"dataset": "tiny", "val_fraction": 0.2, "train_size": 100},
                            "train": {"epochs": 3, "batch_size": 32}})
    sizes = split_sizes(cfg)
    assert (sizes.train, sizes.val, sizes.test, sizes.features) == (100, 60, 60, 784)
    estimate = run_estimate(cfg)
    assert (estimate.iterations, estimate.evaluations) == (3 * 4, 4) and estimate.seconds > 0
    assert run_estimate(cfg, stop_epochs=1).iterations == 4
    both = config_from_dict({"data": {"dataset": "tiny", "val_fraction": 0.2, "train_on_val": True}})
    assert (split_sizes(both).train, split_sizes(both).val) == (300, 0)


def test_makespan_hands_runs_to_the_first_free_worker():
    assert makespan([3.0, 1.0, 1.0, 1.0], 1) == pytest.approx(6.0 + STUDY_FILES_S)
    # 3 s on one worker, the three 1 s runs on the other; plus the workers' start-up and the study's files
    assert makespan([3.0, 1.0, 1.0, 1.0], 2) == pytest.approx(3.0 * SHARED_SLOWDOWN + WORKER_START_S + STUDY_FILES_S)


def test_tracking_fewer_splits_estimates_fewer_evaluated_images(tiny):
    every = run_estimate(config_from_dict({"data": {"dataset": "tiny", "val_fraction": 0.2}, "train": {"epochs": 5}}))
    fewer = run_estimate(config_from_dict({"data": {"dataset": "tiny", "val_fraction": 0.2},
                                           "train": {"epochs": 5, "track": ["train"]}}))
    assert fewer.seconds < every.seconds


def test_runs_that_differ_only_in_timeless_settings_share_one_signature_and_one_measurement(tiny, monkeypatch):
    from scratchrun.training import estimate

    measured = []
    monkeypatch.setattr(estimate, "_speeds", {})
    monkeypatch.setattr(estimate, "_measure", lambda config, sizes: measured.append(config) or (1e-6, 1e-7))
    one = {"seed": 0, "optimizer.lr": 0.1, "model.init": "std", "model.init_std": 0.01, "model.dropout": 0.1,
           "model.weight_decay": 1e-4}
    other = {"seed": 7, "optimizer.lr": 0.5, "model.init": "he", "model.init_std": 0.3, "model.dropout": 0.3,
             "model.weight_decay": 1e-2}
    off = {**one, "model.dropout": 0.0}  # dropout off computes less: a shape of its own

    def config(settings):
        raw = {"data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]}, "optimizer": {"name": "sgd"},
               "train": {"epochs": 2}}
        for key, value in settings.items():
            set_dotted(raw, key, value)
        return config_from_dict(raw)

    assert estimate.cost_signature(one.items()) == estimate.cost_signature(other.items())
    assert run_estimate(config(one)) == run_estimate(config(other)) and len(measured) == 1
    assert estimate.cost_signature(off.items()) != estimate.cost_signature(one.items())
    run_estimate(config(off))
    assert len(measured) == 2
