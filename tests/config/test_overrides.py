"""The one dotted-key setter: overrides, sweeps, studies and searches set keys by the same two rules."""

from __future__ import annotations

import pytest

from scratchrun.config.loader import config_from_dict, load_config, to_dict
from scratchrun.config.overrides import apply_overrides, parse_override, set_dotted
from scratchrun.errors import ConfigError
from scratchrun.experiments.specs import Variant, expand

ADAM = {"optimizer": {"name": "adam", "lr": 0.002, "beta1": 0.8}, "train": {"epochs": 3}}


def test_setting_one_of_epochs_and_iterations_clears_the_other():
    raw = {"train": {"epochs": 3, "batch_size": 10}}
    set_dotted(raw, "train.iterations", 50)
    assert raw == {"train": {"iterations": 50, "batch_size": 10}}
    set_dotted(raw, "train.epochs", 2)
    assert raw == {"train": {"epochs": 2, "batch_size": 10}}


def test_overrides_that_set_both_keep_both_and_the_loader_refuses(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {epochs: 3}\n")
    assert apply_overrides({}, ["train.epochs=2", "train.iterations=9"]) == {"train": {"epochs": 2, "iterations": 9}}
    with pytest.raises(ConfigError, match="both set"):
        load_config(path, ["train.epochs=2", "train.iterations=9"])


def test_switching_the_optimizer_drops_the_old_ones_own_keys_but_keeps_lr(tmp_path):
    raw = to_dict(config_from_dict(ADAM))
    set_dotted(raw, "optimizer.name", "momentum")
    assert raw["optimizer"] == {"name": "momentum", "lr": 0.002}
    path = tmp_path / "adam.yaml"
    path.write_text("optimizer: {name: adam, lr: 0.002, beta1: 0.8}\n")
    assert dict(load_config(path, ["optimizer.name=sgd"]).optimizer.params) == {"lr": 0.002}
    (spec,) = expand(to_dict(config_from_dict(ADAM)), [Variant("sgd", (("optimizer.name", "sgd"),))], [0])
    assert dict(spec.config.optimizer.params) == {"lr": 0.002}


def test_a_key_set_with_the_switch_is_kept_and_refused_if_the_new_optimizer_lacks_it(tmp_path):
    path = tmp_path / "adam.yaml"
    path.write_text("optimizer: {name: adam}\n")
    with pytest.raises(ConfigError, match="optimizer.momentum does not apply to sgd"):
        load_config(path, ["optimizer.momentum=0.9", "optimizer.name=sgd"])


def test_a_search_space_key_keeps_its_dots():
    raw = {"search": {"space": {"model.dropout": {"uniform": [0.0, 0.5]}}, "prune": None}}
    set_dotted(raw, *parse_override("search.space.optimizer.lr={log_uniform: [0.01, 0.1]}"))
    set_dotted(raw, *parse_override("search.prune.min_epochs=5"))
    assert raw == {"search": {"space": {"model.dropout": {"uniform": [0.0, 0.5]},
                                        "optimizer.lr": {"log_uniform": [0.01, 0.1]}},
                              "prune": {"min_epochs": 5}}}


@pytest.mark.parametrize("text, words", [
    ("lr", "write KEY=VALUE"),
    ("search.rounds", "write search.KEY=VALUE"),
    ("a..b=1", "malformed"),
    ("seed=[1", "not valid YAML"),
])
def test_a_bad_override_is_one_sentence(text, words):
    with pytest.raises(ConfigError) as info:
        parse_override(text)
    assert f"`{text}`" in str(info.value) and words in str(info.value)
