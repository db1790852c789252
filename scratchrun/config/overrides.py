"""`KEY=VALUE` overrides, and the one dotted-key setter that overrides, sweeps, studies and searches all use.

Two rules hold wherever a key is set. Setting train.epochs clears train.iterations and the other way round, so an
override of one replaces the other from the file. Switching optimizer.name drops the old optimizer's own keys
(lr stays; the new one's defaults fill in the rest). Keys set together in one batch of overrides never clear each
other: `train.epochs=5 train.iterations=100` keeps both, and the loader says both are set.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from typing import Any

import yaml

from scratchrun.config.bounded_yaml import parse_bounded
from scratchrun.config.messages import did_you_mean
from scratchrun.config.rules import Key, declared
from scratchrun.config.schema import Config
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import OPTIMIZERS, hyperparameter_defaults

EXCLUSIVE = {"train.epochs": "train.iterations", "train.iterations": "train.epochs"}


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """A copy of the run config `raw` with each `KEY=VALUE` set; each key is checked before it is set."""
    overrides = list(overrides)
    merged = copy.deepcopy(raw)
    batch = {override.partition("=")[0].strip() for override in overrides}
    for override in overrides:
        key, value = parse_override(override)
        check_key(key, f"override `{override}`")
        set_dotted(merged, key, value, keep=batch - {key})
    return merged


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b=VALUE` -> ("a.b", VALUE parsed as YAML)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not all(part.isidentifier() for part in key.split(".")):
        example = ("search.KEY=VALUE, e.g. search.rounds=3" if key.startswith("search.")
                   else "KEY=VALUE with a dotted key, e.g. optimizer.lr=0.01")
        raise ConfigError(f"Override `{text}` is malformed: write {example}.")
    return key, parse_yaml_value(value, text)


def parse_yaml_value(text: str, override: str) -> Any:
    """A value from the command line, parsed as YAML within the same bounds as a config file."""
    try:
        shown = override if len(override) <= 80 else override[:77] + "..."  # a sentence, not a copy of the bomb
        return parse_bounded(text, f"Override `{shown}`")[0] if text.strip() else None
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ConfigError(f"Override `{override}`: the value is not valid YAML ({problem}).") from None


def set_dotted(raw: dict, key: str, value: Any, keep: Collection[str] = ()) -> None:
    """Set `a.b.c` in nested dicts, clearing what the new value makes stale unless `keep` names it."""
    *parents, last = split_key(key)
    node = raw
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value
    other = EXCLUSIVE.get(key)
    if other is not None and other not in keep:  # exactly one of the pair
        node.pop(other.rpartition(".")[2], None)
    if key == "optimizer.name" and isinstance(value, str) and value in OPTIMIZERS:  # a list is refused later
        allowed = {"name", *hyperparameter_defaults(value)}
        for stale in [k for k in node if k not in allowed and f"optimizer.{k}" not in keep]:
            del node[stale]


def split_key(key: str) -> list[str]:
    """`a.b.c` -> [a, b, c]; under search.space the rest is one config key, dots and all."""
    if key.startswith("search.space."):
        return ["search", "space", key.removeprefix("search.space.")]
    return key.split(".")


def check_key(key: str, where: str) -> None:
    """Refuse a run config key that is not declared, with the same hint as for a file."""
    parts = key.split(".")
    node: Key | type = Config
    for depth, part in enumerate(parts):
        parent = ".".join(parts[:depth])
        if isinstance(node, Key):
            raise ConfigError(f"{where}: `{parent}` is a single value, not a section with keys.")
        keys = declared(node)
        if part not in keys:
            if parent == "optimizer":
                return  # the optimizer's own keys depend on its name: checked with the rest of the config
            hint = did_you_mean(part, list(keys), parent + "." if parent else "")
            raise ConfigError(f"{where}: unknown key `{key}`{hint}.")
        node = keys[part]
