"""Hostile YAML costs little work and one sentence: size, nesting and expanded aliases are bounded, only regular
files are read, and a config is parsed once. The work is counted here (nodes composed, objects built, bytes read,
memory); the milliseconds are benchmarks/hostile_yaml.py's."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
import yaml
from file_reads import watch_files
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.config import loader
from scratchrun.config.bounded_yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES, _BoundedLoader, parse_bounded
from scratchrun.config.loader import load_config
from scratchrun.config.search import load_search
from scratchrun.errors import ConfigError

runner = CliRunner()
SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16, 16]}\n"
         "train: {epochs: 1, batch_size: 32}\n")


def billion_laughs(levels: int = 9) -> str:
    """The classic: 9 aliases of 9 aliases of ... of "lol", 10⁹ strings in a few hundred bytes."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def written_nodes(text: str) -> int:
    """The keys and values as written, an alias counting as one: what composing `text` costs when aliases are
    counted, not expanded."""
    kinds = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
    return sum(isinstance(event, kinds) for event in yaml.parse(text))


@pytest.fixture
def built(monkeypatch) -> dict[str, Counter]:
    """The nodes the bounded loader composes and the objects it constructs, by the source it names (a file's path,
    "Override `...`"): the work a hostile config costs, counted."""
    counts: dict[str, Counter] = {"composed": Counter(), "constructed": Counter()}
    compose, construct = _BoundedLoader.compose_node, _BoundedLoader.construct_object

    def compose_node(self, parent, index):
        counts["composed"][self._source] += 1
        return compose(self, parent, index)

    def construct_object(self, node, deep=False):
        counts["constructed"][self._source] += 1
        return construct(self, node, deep)

    monkeypatch.setattr(_BoundedLoader, "compose_node", compose_node)
    monkeypatch.setattr(_BoundedLoader, "construct_object", construct_object)
    return counts


def train(tmp_path: Path, text: str | None = None, *args: str, config: Path | None = None):
    """`scratchrun train` on a config file holding `text`; returns the result and its flat output."""
    if config is None:
        config = tmp_path / "cfg.yaml"
        config.write_text(text)
    result = runner.invoke(app, ["train", str(config), *args, "--runs-dir", str(tmp_path / "runs")])
    return result, " ".join(result.output.split())


def assert_refused(result, output: str, tmp_path: Path, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert output.startswith("error:") and "Traceback" not in output
    for fragment in fragments:
        assert fragment in output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ----------------------------------------------------------------------------- hostile files
def test_a_billion_laughs_file_is_refused_without_being_expanded(tiny, tmp_path, built):
    result, output = train(tmp_path, billion_laughs())
    assert_refused(result, output, tmp_path, "cfg.yaml, line", f"more than {MAX_NODES:,} keys and values once its "
                   "aliases (*name) are expanded")
    source = str(tmp_path / "cfg.yaml")
    assert 0 < built["composed"][source] <= written_nodes(billion_laughs()) == 100  # its 10⁹ strings never composed
    assert built["constructed"][source] == 0  # refused before any Python object was built, so none is walked
    tracemalloc.start()  # and nothing grows: the aliases are counted, never walked
    with pytest.raises(ConfigError):
        load_config(tmp_path / "cfg.yaml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000


def test_a_10000_deep_flow_mapping_is_refused_at_the_depth_limit_without_a_recursion_error(tiny, tmp_path, built):
    result, output = train(tmp_path, "{a: " * 10_000 + "1" + "}" * 10_000)
    assert_refused(result, output, tmp_path, f"the YAML nests deeper than {MAX_DEPTH} levels", "line 1, column")
    assert "RecursionError" not in output
    composed = built["composed"][str(tmp_path / "cfg.yaml")]
    assert 0 < composed <= 2 * MAX_DEPTH + 1  # a key and a mapping a level, up to the one refused; not 20,001
    assert built["constructed"][str(tmp_path / "cfg.yaml")] == 0


def test_an_alias_inside_what_it_names_is_refused(tiny, tmp_path):
    result, output = train(tmp_path, SMALL + "extra: &loop {again: *loop}\n")
    assert_refused(result, output, tmp_path, "line 5", "the alias *loop is inside the node it names")


def test_a_2_mb_config_is_refused_by_its_size_before_it_is_parsed(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "parse_bounded", lambda *a: pytest.fail("a 2 MB file must not be parsed"))
    result, output = train(tmp_path, SMALL + "# " + "x" * 2_000_000 + "\n")
    assert_refused(result, output, tmp_path, "Config file", "cfg.yaml is 2 MB, over the 1 MB a config may be")


def test_a_config_of_exactly_the_limit_loads_and_one_byte_more_does_not(tiny, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(SMALL + "#" * (MAX_BYTES - len(SMALL) - 1) + "\n")
    assert path.stat().st_size == MAX_BYTES
    assert load_config(path).model.hidden == (16, 16)
    path.write_text(SMALL + "#" * (MAX_BYTES - len(SMALL)) + "\n")
    with pytest.raises(ConfigError, match="over the 1 MB"):
        load_config(path)


@pytest.mark.parametrize("special, words", [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_a_device_is_refused_by_its_own_sentence_and_never_read(tiny, tmp_path, monkeypatch, special, words):
    if not os.path.exists(special):
        pytest.skip(f"no {special} here")
    seen = watch_files(monkeypatch)
    result, output = train(tmp_path, config=Path(special))
    assert_refused(result, output, tmp_path, f"Config file {special} is {words}, not a regular file")
    assert "does not exist" not in output
    assert seen.opens[Path(special)] == 1 and seen.bytes[Path(special)] == 0  # looked at, never read


def test_a_fifo_is_refused_without_blocking_on_it(tmp_path):
    """Opening a FIFO to read blocks until a writer comes: the command must answer at once (a subprocess, so a
    regression fails by its timeout instead of hanging the suite)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "cfg.yaml"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "scratchrun", "train", str(fifo),
                           "--runs-dir", str(tmp_path / "runs")],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert " ".join(done.stderr.split()).startswith(f"error: Config file {fifo} is a named pipe (FIFO), "
                                                    "not a regular file")
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()
    assert fifo.exists()  # untouched


def test_the_config_command_refuses_a_device_too(tmp_path):
    result = runner.invoke(app, ["config", "/dev/zero"])
    assert result.exit_code == 2 and "Config file /dev/zero is a character device" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("seed: " + "1" * 5000 + "\n", ["line 1, column 7", "the int `1111", "cannot be read"]),
        ("seed: 2001-13-45\n", ["line 1, column 7",
                                "the timestamp `2001-13-45` cannot be read (month must be in 1..12)"]),
    ],
)
def test_a_value_python_cannot_build_is_a_sentence_with_its_line(tiny, tmp_path, text, fragments):
    result, output = train(tmp_path, text)
    assert_refused(result, output, tmp_path, *fragments)


def test_a_file_that_is_not_utf8_is_named(tiny, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result, output = train(tmp_path, config=path)
    assert_refused(result, output, tmp_path, "cfg.yaml is not UTF-8 text (byte 9 is 0xe9)")


# ----------------------------------------------------------------------------- overrides: the same bounds
@pytest.mark.parametrize(
    "override, fragment",
    [
        ("model.hidden=" + billion_laughs().replace("\n", ", ").rstrip(", ").join("{}"),
         "keys and values once its aliases"),
        ("model.hidden=" + "[" * 40 + "1" + "]" * 40, f"nests deeper than {MAX_DEPTH} levels"),
        ("model.hidden=&a [*a]", "the alias *a is inside the node it names"),
    ],
)
def test_overrides_are_held_to_the_same_bounds(tiny, tmp_path, built, override, fragment):
    result, output = train(tmp_path, SMALL, override)
    assert_refused(result, output, tmp_path, "Override `model.hidden=", fragment)
    (source,) = [source for source in built["composed"] if source.startswith("Override")]
    assert 0 < built["composed"][source] <= written_nodes(override.partition("=")[2])  # no alias expanded
    assert built["constructed"][source] == 0


def test_a_sweep_axis_is_held_to_the_same_bounds(tiny, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(SMALL)
    axis = "model.hidden=&a [1, 1], [" + ", ".join(["*a"] * 20_000) + "]"
    result = runner.invoke(app, ["sweep", str(config), axis, "--runs-dir", str(tmp_path / "runs")])
    output = " ".join(result.output.split())
    assert_refused(result, output, tmp_path, "Sweep axis `model.hidden`", "keys and values once its aliases")


# ----------------------------------------------------------------------------- the bounds, exactly
def test_nesting_of_exactly_the_limit_parses_and_one_level_more_does_not():
    assert parse_bounded("[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH, "t")[0] is not None
    with pytest.raises(ConfigError, match=rf"^t, line 1, column {MAX_DEPTH + 1}: the YAML nests deeper"):
        parse_bounded("[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1), "t")


def test_nodes_are_counted_with_every_alias_expanded():
    # a list of n scalars is n + 1 nodes
    assert len(parse_bounded("[" + ", ".join(["1"] * (MAX_NODES - 1)) + "]", "t")[0]) == MAX_NODES - 1
    with pytest.raises(ConfigError, match="more than 10,000 keys and values"):
        parse_bounded("[" + ", ".join(["1"] * MAX_NODES) + "]", "t")
    # `&a [1 x 99]` is 100 nodes; 99 aliases to it and the outer list make 100 + 99·100 + 1 = 10,001
    shared = "&a [" + ", ".join(["1"] * 99) + "]"
    with pytest.raises(ConfigError, match="more than 10,000"):
        parse_bounded(f"[{shared}, " + ", ".join(["*a"] * 99) + "]", "t")
    data, _ = parse_bounded(f"[{shared}, " + ", ".join(["*a"] * 98) + "]", "t")
    assert len(data) == 99 and data[1] is data[0]  # aliases share, as with yaml.safe_load


def test_a_syntax_error_is_pyyamls_for_the_caller_to_word():
    with pytest.raises(yaml.YAMLError):
        parse_bounded("a: [1", "t")


def test_the_bounded_loader_reads_what_safe_load_reads():
    text = "a: 1\nb: [1.5, true, null, x]\nc: &c {d: 2001-01-02}\ne: *c\nf: !!binary aGk=\n<<: {g: 1}\n"
    assert parse_bounded(text, "t")[0] == yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        parse_bounded("a: !!python/object/apply:os.system [echo]\n", "t")


# ----------------------------------------------------------------------------- parsed once
def test_a_config_file_is_read_and_parsed_once(tiny, tmp_path, monkeypatch):
    calls = []
    real = loader.parse_bounded
    monkeypatch.setattr(loader, "parse_bounded", lambda text, source: calls.append(source) or real(text, source))
    path = tmp_path / "search.yaml"
    path.write_text(SMALL + "search: {trials: 2, space: {optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}}}\n")
    assert load_config(path, ["train.epochs=2"]).train.epochs == 2
    assert calls == [str(path)]
    calls.clear()
    setup = load_search(path, ["train.epochs=2", "search.trials=3"], None)
    assert (setup.plan.trials, setup.base_config.train.epochs) == (3, 2)
    assert calls == [str(path)]


@pytest.mark.parametrize("written, value", [("1e-3", 0.001), ("5E+2", 500.0), ("-2e5", -200000.0), ("1.0e-3", 0.001),
                                            ('"1e-3"', "1e-3"), ("1e3x", "1e3x"), ("10", 10)])
def test_an_exponent_without_a_dot_is_a_number_as_people_write_it(written, value):
    data, _ = parse_bounded(f"lr: {written}\n", "cfg.yaml")
    assert data == {"lr": value} and type(data["lr"]) is type(value)
