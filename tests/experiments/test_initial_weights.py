"""The activation statistics of the init study (experiments/initial_weights.py)."""

from __future__ import annotations


def test_activation_statistics_match_the_book():
    import numpy as np

    from scratchrun.experiments.initial_weights import activation_layers, activation_stats

    saturated = activation_stats(activation_layers("std", 1.0, "sigmoid", np.random.default_rng(0)), "sigmoid")
    assert saturated[-1]["saturated"] > 0.3  # std 1 with sigmoid piles up at 0 and 1
    bunched = activation_stats(activation_layers("std", 0.01, "sigmoid", np.random.default_rng(0)), "sigmoid")
    assert abs(bunched[-1]["mean"] - 0.5) < 0.01 and bunched[-1]["std"] < 0.05  # every unit says the same thing
    xavier = activation_stats(activation_layers("xavier", 0.01, "tanh", np.random.default_rng(0)), "tanh")
    assert xavier[-1]["std"] > 0.2 and xavier[-1]["saturated"] < 0.05
