"""The run config: YAML and `key=value` overrides in, one frozen, validated `Config` out.

This is the only place that sees raw dicts. What each key accepts and its default are declared once, in
`config/schema.py`; validation, defaults, error messages and the saved config all walk those declarations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import yaml

from scratchrun.config.bounded_yaml import parse_bounded, read_config_text
from scratchrun.config.examples import config_path
from scratchrun.config.messages import did_you_mean, show
from scratchrun.config.overrides import apply_overrides
from scratchrun.config.rules import Key, declared, defaults
from scratchrun.config.schema import HYPERPARAMETERS, Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import hyperparameter_defaults

# the config's types are imported from here as well: the loader is how the rest of scratchrun meets the config
__all__ = ["Config", "DataConfig", "ModelConfig", "OptimizerConfig", "TrainConfig", "config_from_dict",
           "config_from_yaml", "dump_yaml", "load_config", "read_yaml", "to_dict"]


# ----------------------------------------------------------------------------- loading
def load_config(path: Path | str, overrides: Iterable[str] = (), name: str | None = None) -> Config:
    """Read a YAML config, apply `key=value` overrides, validate, and fill in every default."""
    path = Path(path)
    raw, lines = read_yaml(path)
    return config_from_yaml(raw, lines, path, overrides, name)


def read_yaml(path: Path) -> tuple[dict, dict[str, int]]:
    """A config file's mapping as YAML gives it, and the line of each dotted key; read and parsed once, in bounds.
    A path that does not exist but is a shipped example's name (`mnist`) reads that example."""
    path = config_path(Path(path))
    return parse_yaml_text(read_config_text(path), str(path))


def parse_yaml_text(text: str, source: str) -> tuple[dict, dict[str, int]]:
    """`read_yaml` of a config's text already in hand; `source` names it in errors."""
    root = _parse(text, source)
    return _mapping(root, source), _key_lines(root[1])


def config_from_yaml(raw: dict, lines: Mapping[str, int], path: Path, overrides: Iterable[str] = (),
                     name: str | None = None) -> Config:
    """The `Config` of a file's mapping (`read_yaml`) with `overrides` applied: errors point at a line or an
    override."""
    overrides = list(overrides)
    lines: dict[str, int | str] = dict(lines)
    for override in overrides:  # a value that came from the command line is named as such, not by a file line
        key = override.partition("=")[0].strip()
        lines.update({k: f"override `{override}`" for k in list(lines) if k == key or k.startswith(key + ".")})
        lines[key] = f"override `{override}`"
    merged = apply_overrides(raw, overrides)
    if name is not None:
        merged["name"] = name
    elif merged.get("name") is None:
        merged["name"] = path.stem
    return config_from_dict(merged, str(path), lines)


def _parse(text: str, source: str) -> tuple[Any, Any]:
    """The data and node graph of a config's text; a syntax error or a crossed bound becomes one sentence."""
    try:
        return parse_bounded(text, source)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{source}{where}: YAML syntax error: {problem}.") from None


def _mapping(parsed: tuple[Any, Any], source: str) -> dict:
    raw = parsed[0]
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys (name, seed, data, model, ...), not a "
                          f"{type(raw).__name__}.")
    return raw


def config_from_dict(raw: Mapping[str, Any], source: str = "<config>",
                     lines: Mapping[str, int] | None = None) -> Config:
    """Validate a raw mapping (as YAML gives it) and build the frozen `Config`; the one way in."""
    lines = lines or {}
    raw = {key: value for key, value in raw.items() if key != "search"}  # a search's own section: train ignores it
    where = lambda key: (f"{source}, {lines[key]}" if isinstance(lines[key], str) else f"{source}, line {lines[key]}") \
        if key in lines else source
    keys = declared(Config)
    _check_unknown(raw, keys, "", where)
    sections = {}
    for section, cls in keys.items():
        if isinstance(cls, Key) or cls is OptimizerConfig:  # the optimizer's keys depend on its name: see below
            continue
        given = _section(raw, section, where)
        _check_unknown(given, declared(cls), section + ".", where)
        sections[section] = cls(**_validate(given, cls, section + ".", where))
    top = _validate(raw, Config, "", where)
    given_train = _section(raw, "train", where)
    if given_train.get("epochs") is not None and given_train.get("iterations") is not None:
        raise ConfigError(f"{where('train.iterations')}: train.epochs and train.iterations are both set: set exactly "
                          "one of the two.")
    if given_train.get("iterations") is not None:
        sections["train"] = replace(sections["train"], epochs=None)
    elif sections["train"].epochs is None:
        raise ConfigError(f"{where('train.epochs')}: train.epochs and train.iterations are both null: set exactly one "
                          "of the two.")
    sections["optimizer"] = _optimizer(_section(raw, "optimizer", where), where)
    return Config(**top, **sections)


def to_dict(config: Config) -> dict:
    """The fully resolved config as plain YAML-ready data: `config_from_dict(to_dict(c)) == c`."""
    out = asdict(config)
    out["model"]["hidden"] = list(config.model.hidden)
    out["train"]["track"] = list(config.train.track)
    params = out["optimizer"].pop("params")
    out["optimizer"].update(params)
    return out


def dump_yaml(config: Config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=None)


# ----------------------------------------------------------------------------- helpers
def _optimizer(given: dict, where) -> OptimizerConfig:
    """The named optimizer and its own keys: the ones its constructor takes, with its defaults."""
    name = given.get("name", OptimizerConfig.name)
    rule = declared(OptimizerConfig)["name"].rule
    if rule.check(name) is None:
        raise _bad("optimizer.name", name, rule.allowed, where)
    own = hyperparameter_defaults(name)
    for key in given:
        if key != "name" and key not in own:
            if key in HYPERPARAMETERS:
                raise ConfigError(
                    f"{where('optimizer.' + key)}: optimizer.{key} does not apply to {name}, which takes "
                    f"{', '.join(own)}."
                )
            raise ConfigError(
                f"{where('optimizer.' + key)}: unknown key optimizer.{key}{did_you_mean(key, ['name', *own])}; "
                f"{name} takes {', '.join(own)}."
            )
    params = {}
    for key, default in own.items():
        value = given.get(key, default)
        rule = HYPERPARAMETERS[key].rule
        checked = rule.check(value)
        if checked is None:
            raise _bad(f"optimizer.{key}", value, rule.allowed, where)
        params[key] = checked
    return OptimizerConfig(name=name, params=params)


def _validate(given: Mapping, cls: type, prefix: str, where) -> dict:
    """Each key `cls` declares: its checked value from `given`, or its default."""
    out = {}
    for key, default in defaults(cls).items():
        if key not in given:
            out[key] = default
            continue
        value, rule = given[key], declared(cls)[key].rule
        if value is None and rule.nullable:
            out[key] = None
            continue
        checked = rule.check(value)
        if checked is None:
            raise _bad(prefix + key, value, rule.allowed, where)
        out[key] = checked
    return out


def _section(raw: Mapping, section: str, where) -> dict:
    value = raw.get(section)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where(section)}: `{section}` must be a mapping of keys, not {show(value)}.")
    return value


def _check_unknown(given: Mapping, keys: Mapping[str, Any], prefix: str, where) -> None:
    for key in given:
        if key not in keys:
            raise ConfigError(
                f"{where(prefix + str(key))}: unknown key `{prefix}{key}`{did_you_mean(str(key), list(keys), prefix)}; "
                f"allowed: {', '.join(prefix + k for k in keys)}."
            )


def _bad(key: str, value: Any, allowed: str, where) -> ConfigError:
    return ConfigError(f"{where(key)}: {key} = {show(value)} is not allowed; allowed: {allowed}.")


def _key_lines(root) -> dict[str, int]:
    """Map each dotted key of a YAML mapping's node graph to its 1-based line, so errors can point at it."""
    lines: dict[str, int] = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                dotted = prefix + str(key_node.value)
                lines[dotted] = key_node.start_mark.line + 1
                walk(value_node, dotted + ".")

    walk(root, "")
    return lines
