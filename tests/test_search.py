"""Random search without training: parsing the space, sampling it, and narrowing it round by round."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.errors import ConfigError
from scratchrun.schema import is_config_key
from scratchrun.search import Dimension, best_trials, narrow, parse_search, sample

BOOK = {"trials": 100, "space": {"optimizer.lr": {"log_uniform": [1.0e-6, 1.0e-2]},
                                 "model.weight_decay": {"log_uniform": [1.0e-8, 1.0e-4]}}}


def test_the_book_search_parses():
    search = parse_search(BOOK, "cfg.yaml", is_config_key)
    assert (search.trials, search.rounds, search.keep, search.metric, search.prune) == (100, 1, 10, "val_acc", None)
    assert search.space[0] == Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2)


@pytest.mark.parametrize("raw, fragment", [
    ({"space": {"optimizer.lrr": {"uniform": [0, 1]}}}, "`optimizer.lrr` is not a config key"),
    ({"space": {"optimizer.lr": {"log_uniform": [1e-2, 1e-6]}}}, "empty or inverted"),
    ({"space": {"optimizer.lr": {"log_uniform": [0, 1e-2]}}}, "needs low > 0"),
    ({"space": {"model.dropout": {"uniform": [0.1]}}}, "two finite numbers"),
    ({"space": {"optimizer.name": {"choice": []}}}, "non-empty list"),
    ({"space": {"optimizer.lr": {"normal": [0, 1]}}}, "must be one of"),
    ({"space": {}}, "at least one config key"),
    ({"metric": "test_acc", **BOOK}, "never a test metric"),
    ({"trials": 0, **{k: v for k, v in BOOK.items() if k != "trials"}}, "search.trials = `0`"),
    ({"tirals": 5, **BOOK}, "unknown key `search.tirals`"),
    ({"prune": {"min_epochs": 0, "eta": 3}, **BOOK}, "min_epochs"),
])
def test_bad_search_sections_are_named(raw, fragment):
    with pytest.raises(ConfigError, match="cfg.yaml") as info:
        parse_search(raw, "cfg.yaml", is_config_key)
    assert fragment in str(info.value)


def test_samples_respect_bounds_and_depend_only_on_seed_and_trial():
    space = parse_search({"space": {"optimizer.lr": {"log_uniform": [1e-6, 1e-2]}, "model.dropout": {"uniform": [0.0, 0.5]},
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
    space = (Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2), Dimension("optimizer.name", "choice", choices=("sgd", "momentum", "adam")))
    trials = [{"optimizer.lr": 1e-3, "optimizer.name": "adam", "val_acc": 0.9},
              {"optimizer.lr": 5e-3, "optimizer.name": "sgd", "val_acc": 0.8},
              {"optimizer.lr": 1e-5, "optimizer.name": "momentum", "val_acc": 0.2},
              {"optimizer.lr": 1e-4, "optimizer.name": "adam", "val_acc": float("nan")}]
    best = best_trials(trials, "val_acc", keep=2)
    assert [t["val_acc"] for t in best] == [0.9, 0.8]
    lr, name = narrow(space, best)
    assert (lr.low, lr.high) == (1e-3, 5e-3)
    assert name.choices == ("sgd", "adam")
    assert [t["val_acc"] for t in best_trials(trials, "val_acc", keep=10)] == [0.9, 0.8, 0.2]
    losses = [{"val_loss": 0.3}, {"val_loss": 0.1}]
    assert best_trials(losses, "val_loss", keep=1) == [{"val_loss": 0.1}]
