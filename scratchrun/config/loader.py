"""The run config: YAML and `key=value` overrides in, one frozen, validated `Config` out.

This is the only place that sees raw dicts. Defaults live in the dataclasses below, allowed values in
`schema.SCHEMA`, so validation, defaults, error messages and the saved config all agree.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scratchrun.config.rules import HYPERPARAMETER_RULES, SCHEMA, Rule
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import hyperparameter_defaults


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "mnist"  # mnist | fashion-mnist
    val_fraction: float = 0.1  # share of the official training images held out for validation; 0 = none
    train_size: int | None = None  # null = every remaining training image
    test_size: int | None = None  # null = the whole official test set
    train_on_val: bool = False  # true = the validation images join the training images (a search's final run)


@dataclass(frozen=True)
class ModelConfig:
    hidden: tuple[int, ...] = (100, 100, 100, 100)  # units per hidden layer
    activation: str = "relu"  # relu | sigmoid | tanh
    init: str = "he"  # he | xavier | std
    init_std: float = 0.01  # the weights' std when init is std
    batch_norm: bool = False  # BatchNorm between each hidden Affine and its activation
    dropout: float = 0.0  # probability of dropping a hidden unit; 0 = off
    weight_decay: float = 0.0  # L2 strength λ on weight matrices; 0 = off


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "adam"  # sgd | momentum | nesterov | adagrad | rmsprop | adam
    params: Mapping[str, float] = field(default_factory=lambda: hyperparameter_defaults("adam"))  # lr and its own keys


@dataclass(frozen=True)
class TrainConfig:
    epochs: int | None = 10  # passes over the training set (exclusive with iterations)
    iterations: int | None = None  # minibatch updates (exclusive with epochs)
    batch_size: int = 100
    eval_every: int | None = None  # updates between evaluations; null = at the end of every epoch
    lr_schedule: str = "constant"  # constant | cosine (decays the optimizer's lr towards 0 over the run)


@dataclass(frozen=True)
class Config:
    name: str | None = None  # part of the run-folder name; null = the config file's name
    seed: int = 0  # split, init, batch order and dropout each draw from their own stream of it
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# ----------------------------------------------------------------------------- loading
def load_config(path: Path | str, overrides: Iterable[str] = (), name: str | None = None) -> Config:
    """Read a YAML config, apply `key=value` overrides, validate, and fill in every default."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(f"Config file {path} {what}: give the path of a YAML config such as configs/mnist.yaml.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Config file {path} cannot be read: {e}.") from None
    raw = parse_yaml(text, str(path))
    lines: dict[str, int | str] = dict(_key_lines(text))
    for override in overrides:  # a value that came from the command line is named as such, not by a file line
        key = override.partition("=")[0].strip()
        lines.update({k: f"override `{override}`" for k in list(lines) if k == key or k.startswith(key + ".")})
        lines[key] = f"override `{override}`"
    merged = apply_overrides(raw, overrides, str(path))
    if name is not None:
        merged["name"] = name
    elif merged.get("name") is None:
        merged["name"] = path.stem
    return config_from_dict(merged, str(path), lines)


def parse_yaml(text: str, source: str) -> dict:
    """`yaml.safe_load`, with a syntax error turned into one sentence that gives the line."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{source}{where}: YAML syntax error: {problem}.") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys (name, seed, data, model, ...), not a {type(raw).__name__}.")
    return raw


def apply_overrides(raw: dict, overrides: Iterable[str], source: str) -> dict:
    """Return a copy of `raw` with each dotted `key=value` set; values parse as YAML."""
    merged = _deep_copy(raw)
    for override in overrides:
        key, sep, text = override.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(p.isidentifier() for p in parts):
            raise ConfigError(
                f"Override `{override}` is malformed: write KEY=VALUE with a dotted key, e.g. optimizer.lr=0.01."
            )
        value = parse_yaml_value(text, override)
        _check_path(parts, f"override `{override}`")
        node = merged
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
        # an override of one of the exclusive pair replaces the other one set in the file
        if parts[0] == "train" and len(parts) == 2 and parts[1] in ("epochs", "iterations"):
            other = "iterations" if parts[1] == "epochs" else "epochs"
            if not any(o.partition("=")[0].strip() == f"train.{other}" for o in overrides):
                node.pop(other, None)
    return merged


def parse_yaml_value(text: str, override: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ConfigError(f"Override `{override}`: the value is not valid YAML ({problem}).") from None


def config_from_dict(raw: Mapping[str, Any], source: str = "<config>", lines: Mapping[str, int] | None = None) -> Config:
    """Validate a raw mapping (as YAML gives it) and build the frozen `Config`; the one way in."""
    lines = lines or {}
    raw = {key: value for key, value in raw.items() if key != "search"}  # a search's own section: train ignores it
    where = lambda key: (f"{source}, {lines[key]}" if isinstance(lines[key], str) else f"{source}, line {lines[key]}") \
        if key in lines else source
    _check_unknown(raw, SCHEMA, "", where)
    sections = {}
    for section, cls in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
        given = _section(raw, section, where)
        _check_unknown(given, SCHEMA[section], section + ".", where)
        sections[section] = cls(**_validate(given, SCHEMA[section], section + ".", where, cls()))
    top = _validate(raw, {k: v for k, v in SCHEMA.items() if isinstance(v, Rule)}, "", where, Config())
    train = sections["train"]
    given_train = _section(raw, "train", where)
    if given_train.get("epochs") is not None and given_train.get("iterations") is not None:
        raise ConfigError(f"{where('train.iterations')}: train.epochs and train.iterations are both set: set exactly one of the two.")
    if given_train.get("iterations") is not None:
        train = TrainConfig(**{**asdict(train), "epochs": None})
    elif train.epochs is None:
        raise ConfigError(f"{where('train.epochs')}: train.epochs and train.iterations are both null: set exactly one of the two.")
    optimizer = _optimizer(_section(raw, "optimizer", where), where)
    return Config(
        name=top["name"], seed=top["seed"], data=sections["data"], model=sections["model"], optimizer=optimizer, train=train
    )


def to_dict(config: Config) -> dict:
    """The fully resolved config as plain YAML-ready data: `config_from_dict(to_dict(c)) == c`."""
    out = asdict(config)
    out["model"]["hidden"] = list(config.model.hidden)
    params = out["optimizer"].pop("params")
    out["optimizer"].update(params)
    return out


def dump_yaml(config: Config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=None)


# ----------------------------------------------------------------------------- helpers
def _optimizer(given: dict, where) -> OptimizerConfig:
    name = given.get("name", OptimizerConfig.name)
    rule = SCHEMA["optimizer"]["name"]
    if rule.check(name) is None:
        raise _bad("optimizer.name", name, rule.allowed, where)
    defaults = hyperparameter_defaults(name)
    for key in given:
        if key != "name" and key not in defaults:
            known = [k for k in HYPERPARAMETER_RULES if k not in defaults]
            if key in known:
                raise ConfigError(
                    f"{where('optimizer.' + key)}: optimizer.{key} does not apply to {name}, which takes {', '.join(defaults)}."
                )
            raise ConfigError(
                f"{where('optimizer.' + key)}: unknown key optimizer.{key}{_did_you_mean(key, ['name', *defaults])}; "
                f"{name} takes {', '.join(defaults)}."
            )
    params = {}
    for key, default in defaults.items():
        value = given.get(key, default)
        checked = HYPERPARAMETER_RULES[key].check(value)
        if checked is None:
            raise _bad(f"optimizer.{key}", value, HYPERPARAMETER_RULES[key].allowed, where)
        params[key] = checked
    return OptimizerConfig(name=name, params=params)


def _validate(given: Mapping, rules: Mapping[str, Any], prefix: str, where, defaults) -> dict:
    out = {}
    for key, rule in rules.items():
        if not isinstance(rule, Rule):
            continue
        if key not in given:
            out[key] = getattr(defaults, key)
            continue
        value = given[key]
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
        raise ConfigError(f"{where(section)}: `{section}` must be a mapping of keys, not {_show(value)}.")
    return value


def _check_unknown(given: Mapping, rules: Mapping[str, Any], prefix: str, where) -> None:
    if prefix == "optimizer.":
        return
    for key in given:
        if key not in rules:
            raise ConfigError(
                f"{where(prefix + str(key))}: unknown key `{prefix}{key}`{_did_you_mean(str(key), list(rules), prefix)}; "
                f"allowed: {', '.join(prefix + k for k in rules)}."
            )


def _check_path(parts: list[str], source: str) -> None:
    """Reject an override's key before it is set, with the same hint as for a file."""
    rules: Any = SCHEMA
    for depth, part in enumerate(parts):
        parent = ".".join(parts[:depth])
        if not isinstance(rules, dict):
            raise ConfigError(f"{source}: `{parent}` is a single value, not a section with keys.")
        if part not in rules:
            if parent == "optimizer":
                return  # the optimizer's own keys depend on its name: checked with the rest of the config
            hint = _did_you_mean(part, list(rules), parent + "." if parent else "")
            raise ConfigError(f"{source}: unknown key `{'.'.join(parts)}`{hint}.")
        rules = rules[part]


def _did_you_mean(key: str, options: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return f" (did you mean `{prefix}{close[0]}`?)" if close else ""


def _bad(key: str, value: Any, allowed: str, where) -> ConfigError:
    return ConfigError(f"{where(key)}: {key} = {_show(value)} is not allowed; allowed: {allowed}.")


def _show(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}...`"


def _deep_copy(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _deep_copy(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_deep_copy(v) for v in raw]
    return raw


def _key_lines(text: str) -> dict[str, int]:
    """Map each dotted key of a YAML mapping to its 1-based line, so errors can point at it."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                dotted = prefix + str(key_node.value)
                lines[dotted] = key_node.start_mark.line + 1
                walk(value_node, dotted + ".")

    walk(root, "")
    return lines
