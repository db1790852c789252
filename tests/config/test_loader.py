"""The config loader: defaults, overrides, round trips, and one clear error for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrun.config.loader import Config, config_from_dict, dump_yaml, load_config, to_dict
from scratchrun.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str, overrides=()) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


def test_empty_config_gets_every_documented_default(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.name == "cfg"  # the file's name when the config has none
    assert config.seed == 0
    assert (config.data.dataset, config.data.val_fraction, config.data.train_size, config.data.test_size) == (
        "mnist", 0.1, None, None)
    assert config.model.hidden == (100, 100, 100, 100)
    assert (config.model.activation, config.model.init, config.model.init_std) == ("relu", "he", 0.01)
    assert (config.model.batch_norm, config.model.dropout, config.model.weight_decay) == (False, 0.0, 0.0)
    assert config.optimizer.name == "adam"
    assert dict(config.optimizer.params) == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert (config.train.epochs, config.train.iterations, config.train.batch_size) == (10, None, 100)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sgd", {"lr": 0.01}),
        ("momentum", {"lr": 0.01, "momentum": 0.9}),
        ("nesterov", {"lr": 0.01, "momentum": 0.9}),
        ("adagrad", {"lr": 0.01, "eps": 1e-7}),
        ("rmsprop", {"lr": 0.01, "decay_rate": 0.99, "eps": 1e-7}),
        ("adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ],
)
def test_an_optimizer_name_alone_brings_its_own_defaults(name, expected):
    assert dict(config_from_dict({"optimizer": {"name": name}}).optimizer.params) == expected


def test_shipped_configs_load():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        assert isinstance(load_config(path), Config), path


def test_overrides_parse_as_yaml_and_win_over_the_file(tmp_path):
    path = write(tmp_path, "optimizer: {name: adam, lr: 0.001}\nmodel: {hidden: [10]}\n")
    config = load_config(path, ["optimizer.lr=0.01", "model.hidden=[256,256]", "model.batch_norm=true", "seed=7"])
    assert config.optimizer.params["lr"] == 0.01
    assert config.model.hidden == (256, 256)
    assert config.model.batch_norm is True
    assert config.seed == 7


def test_iterations_override_replaces_epochs_from_the_file(tmp_path):
    config = load_config(write(tmp_path, "train: {epochs: 3}\n"), ["train.iterations=50"])
    assert (config.train.epochs, config.train.iterations) == (None, 50)
    config = load_config(write(tmp_path, "train: {iterations: 50}\n"), ["train.epochs=2"])
    assert (config.train.epochs, config.train.iterations) == (2, None)


def test_name_option_beats_config_name(tmp_path):
    path = write(tmp_path, "name: from-file\n")
    assert load_config(path).name == "from-file"
    assert load_config(path, name="from-cli").name == "from-cli"


def test_resolved_config_round_trips_through_yaml(tmp_path):
    config = load_config(REPO / "configs" / "mnist.yaml",
                         ["optimizer.name=rmsprop", "optimizer.lr=0.002", "train.iterations=30"])
    again = load_config(write(tmp_path, dump_yaml(config), "saved.yaml"))
    assert again == config
    assert config_from_dict(to_dict(config)) == config


# ---------------------------------------------------------------------------------------------- bad input
def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_yaml_syntax_error_gives_file_and_line(tmp_path):
    message = error_of(tmp_path, "seed: 1\nmodel:\n  hidden: [100, 100\n  activation: relu\n")
    assert "cfg.yaml, line" in message and "YAML syntax error" in message


def test_top_level_must_be_a_mapping(tmp_path):
    assert "must be a mapping" in error_of(tmp_path, "- 1\n- 2\n")


@pytest.mark.parametrize(
    "text, key, hint",
    [
        ("sed: 1\n", "sed", "seed"),
        ("model:\n  activaton: relu\n", "model.activaton", "model.activation"),
        ("train:\n  epoch: 3\n", "train.epoch", "train.epochs"),
        ("optimizer:\n  name: adam\n  betta1: 0.9\n", "optimizer.betta1", "beta1"),
    ],
)
def test_unknown_key_names_it_with_a_did_you_mean(tmp_path, text, key, hint):
    message = error_of(tmp_path, text)
    assert key in message and f"did you mean `{hint}" in message and "cfg.yaml" in message


def test_unknown_key_error_gives_the_line(tmp_path):
    assert "line 3" in error_of(tmp_path, "seed: 1\nmodel:\n  activaton: relu\n")


@pytest.mark.parametrize(
    "text, key, value, allowed",
    [
        ("optimizer: {lr: 0}\n", "optimizer.lr", "0", "> 0"),
        ("optimizer: {lr: -0.1}\n", "optimizer.lr", "-0.1", "> 0"),
        ("optimizer: {lr: fast}\n", "optimizer.lr", "fast", "a number"),
        ("model: {dropout: 1.0}\n", "model.dropout", "1.0", "< 1"),
        ("model: {dropout: -0.1}\n", "model.dropout", "-0.1", ">= 0"),
        ("train: {batch_size: 0}\n", "train.batch_size", "0", ">= 1"),
        ("train: {batch_size: 12.5}\n", "train.batch_size", "12.5", "an integer"),
        ("model: {hidden: []}\n", "model.hidden", "[]", "non-empty list"),
        ("model: {hidden: [100, 0]}\n", "model.hidden", "[100, 0]", "positive integers"),
        ("data: {val_fraction: 1.0}\n", "data.val_fraction", "1.0", "< 1"),
        ("data: {val_fraction: -0.2}\n", "data.val_fraction", "-0.2", ">= 0"),
        ("seed: true\n", "seed", "true", "an integer"),
        ("model: {batch_norm: 'yes'}\n", "model.batch_norm", "'yes'", "true or false"),
        ("optimizer: {name: adamw}\n", "optimizer.name", "adamw", "sgd, momentum, nesterov, adagrad, rmsprop, adam"),
        ("model: {activation: rleu}\n", "model.activation", "rleu", "relu, sigmoid, tanh"),
        ("model: {init: kaiming}\n", "model.init", "kaiming", "std, xavier, he"),
        ("data: {dataset: cifar10}\n", "data.dataset", "cifar10", "mnist, fashion-mnist"),
        ("optimizer: {name: adam, beta2: 1.0}\n", "optimizer.beta2", "1.0", "< 1"),
    ],
)
def test_bad_values_name_key_value_and_what_is_allowed(tmp_path, text, key, value, allowed):
    message = error_of(tmp_path, text)
    assert "cfg.yaml" in message
    assert f"{key} = `{value}`" in message
    assert allowed in message


def test_section_must_be_a_mapping(tmp_path):
    assert "`model` must be a mapping" in error_of(tmp_path, "model: 5\n")


def test_epochs_and_iterations_are_exclusive(tmp_path):
    assert "exactly one" in error_of(tmp_path, "train: {epochs: 2, iterations: 10}\n")
    assert "exactly one" in error_of(tmp_path, "train: {epochs: null}\n")


def test_a_key_of_another_optimizer_is_named_as_such(tmp_path):
    message = error_of(tmp_path, "optimizer: {name: sgd, beta1: 0.9}\n")
    assert "optimizer.beta1 does not apply to sgd" in message and "takes lr" in message


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("optimizer.lr", "malformed"),
        ("=3", "malformed"),
        ("model..hidden=3", "malformed"),
        ("model.hiden=[10]", "did you mean `model.hidden`"),
        ("modle.hidden=[10]", "did you mean `model`"),
        ("model.hidden.x=1", "not a section"),
        ("optimizer.lr=[1", "not valid YAML"),
    ],
)
def test_malformed_overrides(tmp_path, override, fragment):
    message = error_of(tmp_path, "", [override])
    assert fragment in message and override in message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_override_text_gives_a_config_or_a_config_error(text):
    try:
        config = load_config(REPO / "configs" / "mnist.yaml", [text])
    except ConfigError as e:
        assert str(e).strip()
    else:
        assert isinstance(config, Config)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-12, max_value=1e3, allow_nan=False))
def test_any_positive_lr_is_kept_exactly(lr):
    config = config_from_dict({"optimizer": {"name": "sgd", "lr": lr}})
    assert config.optimizer.params["lr"] == lr
    assert yaml.safe_load(dump_yaml(config))["optimizer"]["lr"] == lr


def test_a_search_section_is_ignored_by_the_run_config(tmp_path):
    path = write(tmp_path, "seed: 2\nsearch:\n  trials: 5\n  space: {optimizer.lr: {log_uniform: [1.0e-6, 1.0e-2]}}\n")
    config = load_config(path)
    assert config.seed == 2 and "search" not in to_dict(config)


def test_a_bad_value_from_an_override_names_the_override_not_the_file_line(tmp_path):
    from scratchrun.config.loader import load_config

    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hidden: [10]\n  dropout: 0.1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ["model.hidden=[0]"])
    assert "override `model.hidden=[0]`" in str(info.value) and "line 2" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["model.dropout=2"])
    assert "override `model.dropout=2`" in str(info.value)
    path.write_text("model:\n  hidden: [0]\n")
    with pytest.raises(ConfigError, match="line 2"):  # from the file: its line
        load_config(path)
