"""`scratchrun new`'s text: the starter config holds every key at its default (the loader and the JSON Schema both
accept it, and it resolves to exactly the defaults), and an example's copy is that example, renamed if asked."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from scratchrun.config.examples import FOLDER, config_path, example_names, example_path
from scratchrun.config.json_schema import config_schema
from scratchrun.config.loader import Config, load_config, to_dict
from scratchrun.config.schema import HYPERPARAMETERS, config_keys
from scratchrun.config.starter import SCHEMA_LINE, example_text, starter_text
from scratchrun.errors import ConfigError


def test_the_starter_resolves_to_exactly_the_defaults(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(starter_text("my"), encoding="utf-8")
    assert to_dict(load_config(path)) == {**to_dict(Config()), "name": "my"}
    jsonschema.Draft202012Validator(config_schema()).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_every_key_is_there_with_its_meaning_and_what_it_allows():
    text = starter_text("my")
    for dotted, key in config_keys().items():
        leaf = dotted.rpartition(".")[2]
        assert f"# {key.help} (allowed: {key.rule.allowed}" in text, dotted
        assert f"\n{'  ' if '.' in dotted else ''}{leaf}: " in text or f"# {leaf}: " in text, dotted
    assert "  # momentum: 0.9" in text and "  # decay_rate: 0.99" in text  # other optimizers' keys, commented
    assert set(HYPERPARAMETERS) <= {k.rpartition(".")[2] for k in config_keys()}


def test_the_schema_line_is_live_only_with_a_schema_beside():
    assert starter_text("my", schema_beside=True).startswith(SCHEMA_LINE + "\n")
    assert f"#   {SCHEMA_LINE}" in starter_text("my") and not starter_text("my").startswith(SCHEMA_LINE)


@pytest.mark.parametrize("example", ["mnist", "best-mlp", "book-search"])
def test_an_examples_copy_is_the_example_renamed(example):
    original = yaml.safe_load(example_path(example).read_text(encoding="utf-8"))
    assert yaml.safe_load(example_text(example)) == original
    assert yaml.safe_load(example_text(example, "mine")) == {**original, "name": "mine"}
    assert (SCHEMA_LINE not in example_text(example)
            and example_text(example, schema_beside=True).startswith(SCHEMA_LINE))


def test_an_unknown_example_or_a_refused_name_is_one_sentence():
    with pytest.raises(ConfigError,
                       match=r"--from `nope` is not a shipped example; examples: best-mlp, book-search, mnist"):
        example_text("nope")
    with pytest.raises(ConfigError, match="name"):
        starter_text("")


def test_a_shipped_example_is_found_by_name_where_no_such_file_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert example_names() == ["best-mlp", "book-search", "mnist"]
    assert config_path(tmp_path / "nope.yaml") == tmp_path / "nope.yaml"
    from pathlib import Path

    assert config_path(Path("mnist")) == FOLDER / "mnist.yaml" == config_path(Path("mnist.yaml"))
    assert load_config("mnist").name == "adam-he"
    (tmp_path / "mnist").write_text("name: mine\n", encoding="utf-8")
    assert load_config("mnist").name == "mine"  # a file of that name comes first
    assert config_path(Path("sub/mnist")) == Path("sub/mnist")  # a path is never an example's name
