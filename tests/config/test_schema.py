"""The declarations: every key has a rule, a one-line help and a default that its own rule allows."""

from __future__ import annotations

from scratchrun.config.loader import Config, to_dict
from scratchrun.config.rules import REQUIRED, declared, section_help
from scratchrun.config.schema import HYPERPARAMETERS, DataConfig, ModelConfig, OptimizerConfig, TrainConfig, config_keys
from scratchrun.config.search import SearchConfig, search_keys
from scratchrun.nn.optimizers import OPTIMIZERS, hyperparameter_defaults


def test_every_run_config_default_is_allowed_by_its_own_rule():
    defaults = to_dict(Config())
    for dotted, key in config_keys().items():
        section, _, name = dotted.rpartition(".")
        if section == "optimizer" and name in HYPERPARAMETERS:
            values = [own[name] for own in map(hyperparameter_defaults, OPTIMIZERS) if name in own]
        else:
            values = [defaults[section][name] if section else defaults[name]]
        assert values, dotted
        for value in values:
            assert (value is None and key.rule.nullable) or key.rule.check(value) is not None, (dotted, value)


def test_every_search_default_is_allowed_by_its_own_rule():
    for dotted, (key, default) in search_keys().items():
        assert default is REQUIRED or (default is None and key.rule.nullable) or key.rule.check(default) is not None


def test_every_key_and_section_has_one_line_of_help():
    keys = [key for key in config_keys().values()] + [key for key, _ in search_keys().values()]
    assert all(key.help and "\n" not in key.help and not key.help.endswith(".") for key in keys)
    for cls in (DataConfig, ModelConfig, OptimizerConfig, TrainConfig, SearchConfig):
        assert section_help(cls).endswith("."), cls


def test_each_optimizers_own_keys_are_declared_once():
    assert set(declared(OptimizerConfig)) == {"name"}
    for name in OPTIMIZERS:
        assert set(hyperparameter_defaults(name)) <= set(HYPERPARAMETERS), name
