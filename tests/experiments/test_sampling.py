"""The search's maths without training (experiments/sampling.py): sampling the space, narrowing it
round by round, and successive halving's rungs and promotions.
"""

from __future__ import annotations

import math

import numpy as np

from scratchrun.config.schema import is_config_key
from scratchrun.config.search import Dimension, Prune, parse_search
from scratchrun.experiments.sampling import best_trials, narrow, promote, rung_epochs, sample, successive_halving


def test_samples_respect_bounds_and_depend_only_on_seed_and_trial():
    space = parse_search({"space": {"optimizer.lr": {"log_uniform": [1e-6, 1e-2]},
                                    "model.dropout": {"uniform": [0.0, 0.5]},
                                    "optimizer.name": {"choice": ["sgd", "adam"]}}}, "s", is_config_key).space
    draws = [sample(space, 7, i) for i in range(500)]
    assert all(1e-6 <= d["optimizer.lr"] <= 1e-2 and 0 <= d["model.dropout"] <= 0.5 for d in draws)
    assert {d["optimizer.name"] for d in draws} == {"sgd", "adam"}
    assert [sample(space, 7, i) for i in reversed(range(500))][::-1] == draws  # order never matters
    assert sample(space, 8, 0) != draws[0]


def test_log_uniform_is_uniform_in_log_space():
    dim = (Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2),)
    logs = np.array([math.log10(sample(dim, 0, i)["optimizer.lr"]) for i in range(4000)])
    # uniform on [-6, -2]: each of the 4 decades holds a quarter (binomial std of a share ≈ 0.007)
    shares = np.histogram(logs, bins=4, range=(-6, -2))[0] / len(logs)
    assert np.all(np.abs(shares - 0.25) < 0.03), shares
    assert abs(logs.mean() + 4) < 0.06


def test_narrowing_keeps_the_span_of_the_best_trials():
    space = (Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2),
             Dimension("optimizer.name", "choice", choices=("sgd", "momentum", "adam")))
    trials = [{"trial": 0, "status": "completed", "optimizer.lr": 1e-3, "optimizer.name": "adam", "val_acc": 0.9},
              {"trial": 1, "status": "completed", "optimizer.lr": 5e-3, "optimizer.name": "sgd", "val_acc": 0.8},
              {"trial": 2, "status": "completed", "optimizer.lr": 1e-5, "optimizer.name": "momentum", "val_acc": 0.2},
              {"trial": 3, "status": "completed", "optimizer.lr": 1e-4, "optimizer.name": "adam",
               "val_acc": float("nan")},
              {"trial": 4, "status": "pruned", "optimizer.lr": 1e-2, "optimizer.name": "sgd", "val_acc": 0.95}]
    best = best_trials(trials, "val_acc", keep=2)
    assert [t["val_acc"] for t in best] == [0.9, 0.8]
    lr, name = narrow(space, best)
    assert (lr.low, lr.high) == (1e-3, 5e-3)
    assert name.choices == ("sgd", "adam")
    assert [t["val_acc"] for t in best_trials(trials, "val_acc", keep=10)] == [0.9, 0.8, 0.2]
    losses = [{"trial": 0, "status": "completed", "val_loss": 0.3},
              {"trial": 1, "status": "completed", "val_loss": 0.1}]
    assert best_trials(losses, "val_loss", keep=1) == [losses[1]]


def test_rungs_multiply_by_eta_up_to_the_budget():
    assert rung_epochs(50, Prune(5, 3)) == [5, 15, 45, 50]
    assert rung_epochs(4, Prune(1, 2)) == [1, 2, 4]
    assert rung_epochs(5, Prune(5, 3)) == [5]
    assert rung_epochs(20, None) == [20]


def test_successive_halving_keeps_the_best_third_at_each_rung():
    """A fake objective: at 1 epoch the higher trial numbers lead; at 3 epochs trial 6 overtakes 7 and 8."""
    calls = []

    def score(trials, epochs):
        calls.append((list(trials), epochs))
        if epochs == 1:
            return {t: (None if t == 2 else t / 10) for t in trials}  # trial 2 diverged: out, but not "pruned"
        return {t: (0.9 if t == 6 else t / 100) for t in trials}

    pruned_seen = []
    pruned = successive_halving(range(9), [1, 3, 9], 3, "val_acc", score, lambda t, e: pruned_seen.append((t, e)))
    assert calls == [(list(range(9)), 1), ([6, 7, 8], 3), ([6], 9)]
    assert pruned == {0: 1, 1: 1, 3: 1, 4: 1, 5: 1, 7: 3, 8: 3}
    assert pruned_seen == sorted(pruned.items(), key=lambda te: (te[1], te[0]))


def test_promotion_by_loss_keeps_the_lowest_and_at_least_one():
    assert promote({0: 0.5, 1: 0.2, 2: 0.9, 3: 0.1}, 2, "val_loss") == [1, 3]
    assert promote({0: 0.5, 1: float("nan")}, 3, "val_acc") == [0]
    assert promote({0: None}, 3, "val_acc") == []


def test_narrowing_after_pruning_ranks_trials_by_how_far_they_went():
    rows = [{"trial": 0, "status": "completed", "epochs": 9, "val_acc": 0.5},
            {"trial": 1, "status": "pruned", "epochs": 3, "val_acc": 0.4},
            {"trial": 2, "status": "pruned", "epochs": 1, "val_acc": 0.9},
            {"trial": 3, "status": "pruned", "epochs": 3, "val_acc": 0.45},
            {"trial": 4, "status": "diverged", "epochs": 2, "val_acc": 0.1}]
    assert [t["trial"] for t in best_trials(rows, "val_acc", 3, with_pruned=True)] == [0, 3, 1]
    assert [t["trial"] for t in best_trials(rows, "val_acc", 3)] == [0]  # the best trial is always a completed one
