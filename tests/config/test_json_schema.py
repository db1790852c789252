"""The JSON Schema agrees with the loader (config/json_schema.py): on every shipped, good and bad config,
and on random ones.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchrun.config.json_schema import config_schema
from scratchrun.config.loader import config_from_dict, load_config, to_dict
from scratchrun.config.schema import config_keys, is_config_key
from scratchrun.config.search import load_search, parse_search
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import OPTIMIZERS

REPO = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft202012Validator(config_schema())
DRAFT7 = jsonschema.Draft7Validator(config_schema())  # what yaml-language-server validates with
SPACE = "  space: {optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}}\n"
README_SEARCH = """search:
  trials: 100
  rounds: 1
  keep: 20
  metric: val_acc
  space:
    optimizer.lr:       {log_uniform: [1.0e-6, 1.0e-2]}
    model.weight_decay: {log_uniform: [1.0e-8, 1.0e-4]}
    optimizer.name:     {choice: [sgd, momentum, adam]}
  prune: {min_epochs: 5, eta: 3}
"""


def loader_error(path: Path) -> str | None:
    """What `train` (and, for a search: section, `search`) says about a config file; None when it is accepted."""
    try:
        load_config(path)
        if "search" in (yaml.safe_load(path.read_text()) or {}):
            load_search(path, [], None)  # parses the section and tries every range's ends on the config
    except ConfigError as e:
        return str(e)
    return None


def schema_errors(text: str, validator=VALIDATOR) -> list[str]:
    return [e.message for e in validator.iter_errors(yaml.safe_load(text))]


BAD = {
    "unknown key": "foo: 1\n",
    "typo'd key": "model: {hiden: [10]}\n",
    "typo'd section": "modle: {hidden: [10]}\n",
    "string for an integer": "train: {batch_size: big}\n",
    "fraction for an integer": "seed: 1.5\n",
    "boolean for a number": "optimizer: {lr: true}\n",
    "string for a flag": "model: {batch_norm: 'yes'}\n",
    "list for a section": "model: [10, 10]\n",
    "dropout of 1": "model: {dropout: 1.0}\n",
    "negative val_fraction": "data: {val_fraction: -0.1}\n",
    "lr of 0": "optimizer: {lr: 0}\n",
    "beta2 of 1": "optimizer: {beta2: 1}\n",
    "batch of 0": "train: {batch_size: 0}\n",
    "no hidden layer": "model: {hidden: []}\n",
    "a layer of 0 units": "model: {hidden: [10, 0]}\n",
    "blank name": "name: '  '\n",
    "bad activation": "model: {activation: rleu}\n",
    "bad optimizer": "optimizer: {name: adamw}\n",
    "null optimizer name": "optimizer: {name: null}\n",
    "bad dataset": "data: {dataset: cifar}\n",
    "bad schedule": "train: {lr_schedule: step}\n",
    "both epochs and iterations": "train: {epochs: 5, iterations: 100}\n",
    "neither epochs nor iterations": "train: {epochs: null}\n",
    "momentum for sgd": "optimizer: {name: sgd, momentum: 0.9}\n",
    "momentum for the default adam": "optimizer: {momentum: 0.9}\n",
    "unknown optimizer key": "optimizer: {name: adam, betaa1: 0.9}\n",
    "search: unknown key": "search:\n" + SPACE + "  round: 2\n",
    "search: a test metric": "search:\n" + SPACE + "  metric: test_acc\n",
    "search: no space": "search: {trials: 5}\n",
    "search: empty space": "search: {space: {}}\n",
    "search: not a config key": "search: {space: {model.depth: {choice: [1, 2]}}}\n",
    "search: log range from 0": "search: {space: {optimizer.lr: {log_uniform: [0, 0.1]}}}\n",
    "search: three ends": "search: {space: {optimizer.lr: {uniform: [0.1, 0.2, 0.3]}}}\n",
    "search: unknown kind": "search: {space: {optimizer.lr: {normal: [0.1, 0.2]}}}\n",
    "search: two kinds": "search: {space: {optimizer.lr: {uniform: [0.1, 0.2], choice: [0.1]}}}\n",
    "search: empty choice": "search: {space: {optimizer.lr: {choice: []}}}\n",
    "search: zero trials": "search:\n" + SPACE + "  trials: 0\n",
    "search: eta of 1": "search:\n" + SPACE + "  prune: {min_epochs: 1, eta: 1}\n",
    "search: unknown prune key": "search:\n" + SPACE + "  prune: {epochs: 1}\n",
    "search: a choice the key does not allow": "search: {space: {model.activation: {choice: [relu, rleu]}}}\n",
    "search: a range beyond the key's": "search: {space: {model.dropout: {uniform: [0.0, 1.5]}}}\n",
    "search: a range for an integer key": "search: {space: {train.batch_size: {uniform: [16, 128]}}}\n",
    "search: a key adam does not take": "search: {space: {optimizer.momentum: {uniform: [0.5, 0.99]}}}\n",
    "search: prune without an epoch budget": ("train: {iterations: 100}\nsearch:\n" + SPACE
                                              + "  prune: {min_epochs: 1, eta: 3}\n"),
    "search: prune while searching epochs": "search:\n  space: {train.epochs: {choice: [5, 10]}}\n"
    "  prune: {min_epochs: 1, eta: 3}\n",
}

GOOD = {
    "empty file": "",
    "empty sections": "data:\nmodel:\noptimizer:\ntrain:\n",
    "null name": "name: null\n",
    "iterations only": "train: {iterations: 100}\n",
    "null epochs and iterations": "train: {epochs: null, iterations: 100}\n",
    "sgd": "optimizer: {name: sgd, lr: 0.1}\n",
    "rmsprop": "optimizer: {name: rmsprop, decay_rate: 0.9, eps: 1.0e-6}\n",
    "integer lr": "optimizer: {lr: 1}\n",
    "everything set": "name: x\nseed: 3\ndata: {dataset: fashion-mnist, val_fraction: 0.0, train_size: 500,"
    " test_size: null,"
    " train_on_val: true}\nmodel: {hidden: [50], activation: tanh, init: std, init_std: 0.1, batch_norm: true,"
    " dropout: 0.5, weight_decay: 1.0e-4}\ntrain: {epochs: 2, batch_size: 10, eval_every: 5, lr_schedule: cosine}\n",
    "search over momentum": "optimizer: {name: momentum}\nsearch:\n"
    "  space: {optimizer.momentum: {uniform: [0.5, 0.99]}, optimizer.name: {choice: [sgd, momentum]}}\n",
    "search with every key": "search:\n  trials: 3\n  rounds: 2\n  keep: 1\n  metric: val_loss\n"
    "  space: {model.hidden: {choice: [[10], [20, 20]]}, data.train_size: {choice: [null, 100]}}\n"
    "  prune: {min_epochs: 1, eta: 2}\n",
    "search over epochs of an iterations config": "train: {iterations: 100}\n"
    "search: {space: {train.epochs: {choice: [3]}}}\n",
    "the README's search section": README_SEARCH,
}


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(config_schema())


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    assert schema_errors(path.read_text()) == []
    assert loader_error(path) is None


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_schema_and_loader_reject_the_same_bad_configs(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert schema_errors(text), "the schema accepts it"
    assert schema_errors(text, DRAFT7), "the schema read as draft-07 accepts it"
    assert loader_error(path) is not None, "the loader accepts it"


@pytest.mark.parametrize("text", GOOD.values(), ids=GOOD.keys())
def test_schema_and_loader_accept_the_same_good_configs(tmp_path, text):
    path = tmp_path / "good.yaml"
    path.write_text(text)
    assert schema_errors(text) == []
    assert schema_errors(text, DRAFT7) == []
    assert loader_error(path) is None


@pytest.mark.parametrize(
    "text",
    ["train: {epochs: 5.0}\n", "optimizer: {lr: .inf}\n", "search: {space: {optimizer.lr: {uniform: [0.2, 0.1]}}}\n"],
    ids=["whole float for an integer", "infinite lr", "inverted range"],
)
def test_what_json_schema_cannot_say_the_loader_still_refuses(tmp_path, text):
    path = tmp_path / "gap.yaml"
    path.write_text(text)
    assert schema_errors(text) == []  # documented in json_schema's docstring
    assert loader_error(path) is not None


KEYS = [*config_keys(), "data", "model", "optimizer", "train", "foo", "model.hiden", "optimizer.betaa1"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 12),
    st.sampled_from([0.5, -0.5, 1.0e-3, 1.5, 0.999]),  # no whole floats: 5.0 is an integer to JSON Schema only
    st.sampled_from(["relu", "tanh", "std", "sgd", "momentum", "adam", "mnist", "cosine", "x", "", " "]),
    st.sampled_from([[10], [], [0], [10, 20], [True], "10"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), min_size=1, max_size=4))
def test_schema_and_loader_agree_on_random_configs(pairs):
    raw: dict = {}
    for key, value in pairs:
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    try:
        config_from_dict(raw)
        loader = "accepts"
    except ConfigError as e:
        loader = f"rejects ({e})"
    schema = "accepts" if VALIDATOR.is_valid(raw) else f"rejects ({next(VALIDATOR.iter_errors(raw)).message})"
    assert (schema == "accepts") == (loader == "accepts"), f"{raw}: the schema {schema}, the loader {loader}"


def test_every_property_has_a_description_and_the_loaders_default():
    schema = config_schema()
    defaults = to_dict(config_from_dict({}))
    for section, node in schema["properties"].items():
        assert node["description"]
        if section == "search":
            continue
        assert node["default"] == defaults[section]
        for key, prop in node.get("properties", {}).items():
            assert prop["description"] and prop["description"].endswith("."), (section, key)
            assert "default" in prop, (section, key)
            if section != "optimizer" or key in defaults["optimizer"]:  # adam's keys: the default optimizer's defaults
                assert prop["default"] == defaults[section][key], (section, key)
    search = schema["properties"]["search"]["properties"]
    for key in ("trials", "rounds", "keep", "metric", "prune"):
        assert search[key]["description"] and "default" in search[key]
    plan = parse_search({"space": {"optimizer.lr": {"choice": [0.1]}}, "prune": {}}, "x", is_config_key)
    assert {key: search[key]["default"] for key in ("trials", "rounds", "keep", "metric")} == {
        "trials": plan.trials, "rounds": plan.rounds, "keep": plan.keep, "metric": plan.metric}
    assert {key: p["default"] for key, p in search["prune"]["properties"].items()} == {
        "min_epochs": plan.prune.min_epochs, "eta": plan.prune.eta}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizers_keys_and_defaults_come_from_its_constructor(name):
    branches = config_schema()["properties"]["optimizer"]["allOf"]
    [branch] = [b["then"] for b in branches if b["if"]["properties"]["name"]["const"] == name]
    params = dict(config_from_dict({"optimizer": {"name": name}}).optimizer.params)
    assert branch["propertyNames"]["enum"] == ["name", *params]
    assert {key: p["default"] for key, p in branch["properties"].items()} == params


def test_a_registered_dataset_is_in_the_schema(tiny):
    assert "tiny" in config_schema()["properties"]["data"]["properties"]["dataset"]["enum"]


def test_the_schema_shipped_with_the_examples_is_the_one_the_loader_would_generate():
    """The shipped examples point editors at the scratchrun.schema.json beside them: it must not fall behind the
    rules."""
    import json

    from scratchrun.config.examples import FOLDER as configs
    from scratchrun.config.json_schema import config_schema

    shipped = json.loads((configs / "scratchrun.schema.json").read_text(encoding="utf-8"))
    assert shipped == config_schema(), f"run: scratchrun schema --output {configs / 'scratchrun.schema.json'}"
    for config in configs.glob("*.yaml"):
        assert config.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=./scratchrun.schema.json\n")
