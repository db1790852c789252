"""The search: section of a config, parsed and checked (config/search.py)."""

from __future__ import annotations

import pytest

from scratchrun.config.schema import is_config_key
from scratchrun.config.search import Dimension, parse_search
from scratchrun.errors import ConfigError

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
    ({"prune": {"min_epochs": True, "eta": 3}, **BOOK}, "min_epochs"),
    ({"metric": [10], **BOOK}, "search.metric"),
])
def test_bad_search_sections_are_named(raw, fragment):
    with pytest.raises(ConfigError, match="cfg.yaml") as info:
        parse_search(raw, "cfg.yaml", is_config_key)
    assert fragment in str(info.value)
