"""Learning-rate schedules and how the trainer applies them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.config.loader import TrainConfig, config_from_dict
from scratchrun.data.splits import Data, Split
from scratchrun.nn.schedules import SCHEDULES, cosine
from scratchrun.training.run import build
from scratchrun.training.trainer import train


def test_cosine_starts_at_the_full_rate_and_falls_to_near_zero():
    total = 10
    factors = [cosine(t, total) for t in range(1, total + 1)]
    assert factors[0] == 1.0
    assert all(a > b for a, b in zip(factors, factors[1:]))
    assert factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 9 / 10)))
    assert cosine(6, 10) == pytest.approx(0.5)
    assert SCHEDULES["constant"](7, 10) == 1.0


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_the_trainer_sets_the_scheduled_rate_before_each_update(schedule):
    rng = np.random.default_rng(0)
    split = Split(rng.random((40, 6), dtype=np.float32), rng.integers(0, 3, 40))  # float images are used as they are
    data = Data(train=split, val=None, test=split, n_features=6, n_classes=3, dataset="toy")
    config = config_from_dict({"model": {"hidden": [4]}, "optimizer": {"name": "sgd", "lr": 0.5},
                               "train": {"iterations": 8, "batch_size": 10, "lr_schedule": schedule}})
    model, optimizer, batch_rng = build(config, data)
    seen = []
    original = optimizer.update
    optimizer.update = lambda params, grads: (seen.append(optimizer.lr), original(params, grads))
    train(model, optimizer, data, config.train, batch_rng)
    assert seen == pytest.approx([0.5 * SCHEDULES[schedule](t, 8) for t in range(1, 9)])
    assert optimizer.lr == 0.5  # restored after training


def test_unknown_schedule_is_a_config_error():
    from scratchrun.errors import ConfigError

    with pytest.raises(ConfigError, match="constant, cosine"):
        config_from_dict({"train": {"lr_schedule": "linear"}})
    assert TrainConfig().lr_schedule == "constant"
