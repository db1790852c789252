"""The config file as a JSON Schema (draft 2020-12), derived from the declarations the loader validates with.

Types, ranges and choices come from each key's rule (`Rule.json`), descriptions from its help and its rule's
words, defaults from the dataclasses and, for the optimizers' own keys, from their constructors; so an editor
checks a config the way `scratchrun train` and `search` do. What JSON Schema cannot say (a range's low below
its high, a finite number, 5.0 not being an integer) is left to the loader. Only keywords that draft-07 reads
the same way are used: editors' YAML support (yaml-language-server) validates with draft-07.
"""

from __future__ import annotations

from typing import Any

from scratchrun.config.loader import Config, OptimizerConfig, to_dict
from scratchrun.config.rules import REQUIRED, Key, Rule, declared, defaults, section_help
from scratchrun.config.schema import HYPERPARAMETERS, config_keys, optimizer_defaults
from scratchrun.config.search import Prune, SearchConfig
from scratchrun.nn.optimizers import OPTIMIZERS, hyperparameter_defaults

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file (registries are read now, so a registered dataset is included)."""
    defaults = to_dict(Config())
    properties: dict[str, Any] = {}
    for name, item in declared(Config).items():
        if isinstance(item, Key):
            properties[name] = _property(item, defaults[name])
        elif item is OptimizerConfig:
            properties[name] = _optimizer_section(defaults[name])
        else:
            properties[name] = _section(name, item, defaults[name])
    properties["search"] = _search_section()
    return {
        "$schema": DRAFT,
        "title": "scratchrun config",
        "description": "A scratchrun run config (scratchrun train CONFIG), optionally with a search: section "
        "(scratchrun search CONFIG).",
        "type": ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
        "allOf": _search_conditions(),
    }


# ----------------------------------------------------------------------------- the run config
def _property(key: Key, default: Any, help: str | None = None) -> dict[str, Any]:
    """One key: its description, its default, and its rule as JSON Schema."""
    return {"description": _describe(key, help), "default": default, **_value(key.rule)}


def _describe(key: Key, help: str | None = None) -> str:
    """`help. Allowed: ...`: what an editor shows on hover."""
    return f"{help or key.help}. Allowed: {key.rule.allowed}."


def _value(rule: Rule) -> dict[str, Any]:
    """The rule's JSON Schema, with null added when the rule allows it."""
    schema = rule.json()
    if not rule.nullable:
        return schema
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _section(name: str, cls: type, defaults: dict) -> dict[str, Any]:
    schema = {
        "description": section_help(cls),
        "default": defaults,
        "type": ["object", "null"],  # `model:` with nothing under it means every default
        "properties": {name: _property(key, defaults[name]) for name, key in declared(cls).items()},
        "additionalProperties": False,
    }
    if name == "train":
        schema["allOf"] = [
            {"not": {"type": "object", "required": ["epochs", "iterations"],
                     "properties": {"epochs": {"not": {"type": "null"}}, "iterations": {"not": {"type": "null"}}}}},
            {"if": {"required": ["epochs"], "properties": {"epochs": {"type": "null"}}},
             "then": {"required": ["iterations"], "properties": {"iterations": {"not": {"type": "null"}}}}},
        ]
    return schema


def _optimizer_section(defaults: dict) -> dict[str, Any]:
    """Every optimizer key with its range, and per optimizer (if/then on the name) the keys it takes."""
    takes = {name: hyperparameter_defaults(name) for name in OPTIMIZERS}
    properties = {"name": _property(declared(OptimizerConfig)["name"], OptimizerConfig.name)}
    for key, declared_key in HYPERPARAMETERS.items():
        per_optimizer = [own[key] for own in takes.values() if key in own]
        default = takes[OptimizerConfig.name].get(key, next(iter(per_optimizer), None))
        properties[key] = _property(declared_key, default, f"{declared_key.help}; default {optimizer_defaults(key)}")
    branches = [
        {"if": _names_optimizer(name),
         "then": {"propertyNames": {"enum": ["name", *own]},
                  "properties": {key: {"default": value} for key, value in own.items()}}}
        for name, own in takes.items()
    ]
    return {
        "description": section_help(OptimizerConfig),
        "default": defaults,
        "type": ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
        "allOf": branches,
    }


def _names_optimizer(name: str) -> dict[str, Any]:
    """Matches an optimizer section that means `name` (no name at all means the default optimizer)."""
    if name == OptimizerConfig.name:
        return {"properties": {"name": {"const": name}}}
    return {"type": "object", "required": ["name"], "properties": {"name": {"const": name}}}


# ----------------------------------------------------------------------------- the search: section
def _search_section() -> dict[str, Any]:
    properties = {}
    for name, key in declared(SearchConfig).items():
        if name == "space":  # a mapping from any config key to how to sample it
            properties[name] = {
                "description": _describe(key), "type": "object", "minProperties": 1,
                "properties": {dotted: _dimension(dotted, searched.rule) for dotted, searched in config_keys().items()},
                "additionalProperties": False,
            }
        elif name == "prune":  # null, or a mapping of Prune's keys
            properties[name] = {
                "description": _describe(key), "default": None, "type": ["object", "null"],
                "properties": _properties(Prune), "additionalProperties": False,
            }
        else:
            properties[name] = _property(key, defaults(SearchConfig)[name])
    return {
        "description": section_help(SearchConfig),
        "type": "object",
        "properties": properties,
        "required": [name for name, default in defaults(SearchConfig).items() if default is REQUIRED],
        "additionalProperties": False,
    }


def _properties(cls: type) -> dict[str, Any]:
    return {name: _property(key, defaults(cls)[name]) for name, key in declared(cls).items()}


def _dimension(key: str, rule: Rule) -> dict[str, Any]:
    """One searched key: every choice must be a value the key allows; only a number key takes a range."""
    kinds: dict[str, Any] = {
        "choice": {"description": f"Values to pick from; each one allowed for {key}: {rule.allowed}.",
                   "type": "array", "minItems": 1, "items": _value(rule)},
    }
    number = rule.json()
    if number.get("type") == "number":  # a range's ends are floats: an integer key cannot take one
        ends = {"type": "array", "minItems": 2, "maxItems": 2}
        kinds["uniform"] = {"description": f"[low, high], sampled uniformly; both ends {rule.allowed}.",
                            **ends, "items": number}
        # both ends > 0 is the same as low > 0 once low < high, and needs no `prefixItems` (which draft-07 lacks)
        kinds["log_uniform"] = {"description": f"[low, high] with low > 0, sampled uniformly in log space; both "
                                f"ends {rule.allowed}.", **ends, "items": {"allOf": [number, {"exclusiveMinimum": 0}]}}
    return {"description": f"How to sample {key}: one of {', '.join(kinds)}.", "type": "object",
            "minProperties": 1, "maxProperties": 1, "properties": kinds, "additionalProperties": False}


def _search_conditions() -> list[dict[str, Any]]:
    """What the search checks against the rest of the config before its first trial."""
    conditions = []
    hyperparameters = [f"optimizer.{key}" for key in HYPERPARAMETERS]
    for name in OPTIMIZERS:  # each range is tried on the config as written: its optimizer must take the key
        own = hyperparameter_defaults(name)
        foreign = [key for key in hyperparameters if key.removeprefix("optimizer.") not in own]
        if foreign:
            condition = {"properties": {"optimizer": _names_optimizer(name)}}
            if name != OptimizerConfig.name:
                condition["required"] = ["optimizer"]
            conditions.append({"if": condition, "then": _space_without(foreign)})
    pruned = {"required": ["search"], "properties": {"search": {"required": ["prune"],
                                                                "properties": {"prune": {"type": "object"}}}}}
    fixed_epochs = _space_without(["train.epochs", "train.iterations"])
    fixed_epochs["properties"]["train"] = {"properties": {"iterations": {"type": "null"}}}
    conditions.append({"if": pruned, "then": fixed_epochs})  # successive halving needs a fixed epoch budget
    return conditions


def _space_without(keys: list[str]) -> dict[str, Any]:
    return {"properties": {"search": {"properties": {"space": {"propertyNames": {"not": {"enum": keys}}}}}}}
