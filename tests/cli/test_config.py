"""`scratchrun config` and `scratchrun schema`: where every value comes from, and the schema printed or written."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from scratchrun.cli import config as config_commands
from scratchrun.cli.app import app
from scratchrun.config.json_schema import config_schema
from scratchrun.config.loader import config_from_dict, dump_yaml, load_config, to_dict
from tests.config.test_json_schema import SPACE

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ----------------------------------------------------------------------------- scratchrun schema
def test_schema_prints_json_and_writes_it_to_a_file(tmp_path):
    printed = invoke("schema")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == config_schema()
    target = tmp_path / "scratchrun.schema.json"
    written = invoke("schema", "--output", target)
    assert written.exit_code == 0, written.output
    assert json.loads(target.read_text()) == config_schema() and written.stdout == ""


def test_schema_to_a_missing_folder_is_one_sentence(tmp_path):
    result = invoke("schema", "--output", tmp_path / "nowhere" / "s.json")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Cannot write the schema to") and "Traceback" not in result.output


# ----------------------------------------------------------------------------- scratchrun config
SMALL = "name: small\nmodel: {hidden: [16]}\noptimizer: {name: sgd}\ntrain: {epochs: 3}\n"
LINE = re.compile(r"^(\s*)(\w+): (.*?)\s+# (file|override|default)$")


def annotated(output: str) -> dict[str, tuple[str, str]]:
    """`section.key` -> (value as printed, source), from `scratchrun config`'s lines."""
    found, section = {}, ""
    for line in output.splitlines():
        if match := LINE.match(line):
            indent, key, value, source = match.groups()
            found[(section + "." if indent else "") + key] = (value, source)
        elif re.fullmatch(r"\w+:", line):
            section = line[:-1]
    return found


def test_config_marks_each_value_file_override_or_default(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = invoke("config", path, "optimizer.lr=0.05", "model.dropout=0.2")
    assert result.exit_code == 0, result.output
    lines = annotated(result.stdout)
    resolved = to_dict(load_config(path, ["optimizer.lr=0.05", "model.dropout=0.2"]))
    assert len(lines) == sum(len(v) if isinstance(v, dict) else 1 for v in resolved.values())  # every key, once
    assert lines["name"] == ("small", "file")
    assert lines["model.hidden"] == ("[16]", "file")
    assert lines["optimizer.name"] == ("sgd", "file")
    assert lines["train.epochs"] == ("3", "file")
    assert lines["optimizer.lr"] == ("0.05", "override")
    assert lines["model.dropout"] == ("0.2", "override")
    assert lines["seed"] == ("0", "default")
    assert lines["model.activation"] == ("relu", "default")
    assert lines["train.iterations"] == ("null", "default")
    assert lines["data.val_fraction"] == ("0.1", "default")
    assert "file = set in" in result.stdout.splitlines()[0]  # the legend
    assert "\x1b[" not in result.stdout  # plain text when piped
    # the annotated output is itself YAML: the same config
    assert config_from_dict(yaml.safe_load(result.stdout)) == load_config(path, ["optimizer.lr=0.05",
                                                                                 "model.dropout=0.2"])


def test_config_marks_defaults_of_the_optimizer_and_the_file_name(tmp_path):
    path = tmp_path / "tuned.yaml"
    path.write_text("optimizer: {name: adam, lr: 0.01}\n")
    lines = annotated(invoke("config", path, "train.iterations=40").stdout)
    assert lines["name"] == ("tuned", "default")  # no name: the file's
    assert lines["optimizer.lr"] == ("0.01", "file")
    assert lines["optimizer.beta1"] == ("0.9", "default")  # the optimizer's own default
    assert lines["train.iterations"] == ("40", "override")
    assert lines["train.epochs"] == ("null", "override")  # emptied by the override of iterations


def test_config_styles_sources_only_on_a_terminal(tmp_path, monkeypatch):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    buffer = io.StringIO()
    monkeypatch.setattr(config_commands, "out", Console(file=buffer, force_terminal=True, color_system="standard"))
    assert invoke("config", path, "optimizer.lr=0.05").exit_code == 0
    styled = buffer.getvalue()
    assert "\x1b[1;33m  lr: 0.05" in styled  # the override highlighted
    assert "\x1b[2m  activation: relu" in styled  # defaults dim


def test_config_yaml_is_the_runs_config_and_loads_back(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL + "search:\n" + SPACE)
    result = invoke("config", path, "optimizer.lr=0.05", "--yaml")
    assert result.exit_code == 0, result.output
    config = load_config(path, ["optimizer.lr=0.05"])
    assert result.stdout == dump_yaml(config)
    assert config_from_dict(yaml.safe_load(result.stdout)) == config


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["optimizr.lr=0.1"], "did you mean `optimizer`"),
        (["optimizer.lr=-1"], "optimizer.lr = `-1` is not allowed"),
        (["optimizer.momentum=0.9"], "does not apply to sgd"),
        (["lr"], "is malformed"),
    ],
)
def test_config_bad_override_is_one_sentence_and_exit_2(tmp_path, overrides, words):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = invoke("config", path, *overrides)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and words in result.stderr and result.stderr.count("\n") == 1


def test_config_of_a_missing_file_is_exit_2(tmp_path):
    result = invoke("config", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_new_writes_a_starter_that_trains_and_never_overwrites_without_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("new", "my.yaml")
    assert result.exit_code == 0 and result.stdout == ("wrote my.yaml: every key at its default; "
                                                       "train with: scratchrun train my.yaml\n")
    first = (tmp_path / "my.yaml").read_text(encoding="utf-8")
    assert "name: my\n" in first
    again = invoke("new", "my.yaml")
    assert again.exit_code == 2 and "my.yaml already exists; give --force" in again.stderr
    (tmp_path / "my.yaml").write_text("edited\n", encoding="utf-8")
    assert invoke("new", "my.yaml", "--force").exit_code == 0
    assert (tmp_path / "my.yaml").read_text(encoding="utf-8") == first
    assert invoke("config", "my.yaml").exit_code == 0


def test_new_from_an_example_names_the_file_and_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("new", "--from", "book-search").stdout.endswith("search with: scratchrun search book-search.yaml\n")
    assert invoke("new", "lr-hunt", "--from", "mnist").exit_code == 0
    assert "name: lr-hunt\n" in (tmp_path / "lr-hunt.yaml").read_text(encoding="utf-8")
    assert invoke("new", "x", "-o", tmp_path / "sub" / "x.yaml").exit_code == 2  # no such folder: one sentence
    (tmp_path / "scratchrun.schema.json").write_text("{}", encoding="utf-8")
    invoke("new", "with-schema")
    assert (tmp_path / "with-schema.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=scratchrun.schema.json\n")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_names_scratchrun_numpy_and_the_blas(flag):
    import numpy

    import scratchrun

    result = invoke(flag)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"scratchrun {scratchrun.__version__}"
    assert lines[1].startswith(f"NumPy {numpy.__version__}, BLAS: ") and "thread" in lines[1]
