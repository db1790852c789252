"""The config file as a JSON Schema (draft 2020-12), derived from the rules the loader validates with.

Types, ranges and choices come from `schema.SCHEMA` (each rule's `json`), the optimizers' own keys and their
defaults from their constructors, the other defaults from the dataclasses in config.py and the descriptions
from the comments beside them, so an editor checks a config the way `scratchrun train` and `search` do.
What JSON Schema cannot say (a range's low below its high, a finite number, 5.0 not being an integer) is
left to the loader. Only keywords that draft-07 reads the same way are used: editors' YAML support
(yaml-language-server) validates with draft-07.
"""

from __future__ import annotations

import inspect
import io
import re
import tokenize
from typing import Any

from scratchrun.config.loader import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig, to_dict
from scratchrun.config.rules import HYPERPARAMETER_RULES, SCHEMA, Rule
from scratchrun.config.search import METRICS, SearchConfig
from scratchrun.nn.optimizers import OPTIMIZERS, hyperparameter_defaults

DRAFT = "https://json-schema.org/draft/2020-12/schema"

SECTIONS = {"": Config, "data": DataConfig, "model": ModelConfig, "train": TrainConfig}  # their comments describe
SECTION_HELP = {
    "data": "Which dataset, and how its training images split into training and validation.",
    "model": "The MLP: hidden layers, activation, initial weights, batch norm, dropout and weight decay.",
    "optimizer": "The update rule (name) and its own hyperparameters; each optimizer takes only its own keys.",
    "train": "How long and in what minibatches to train: set exactly one of epochs and iterations.",
}
HYPERPARAMETER_HELP = {
    "lr": "learning rate",
    "momentum": "μ, the share of the previous update kept in the next (momentum, nesterov)",
    "beta1": "Adam's decay of its running mean of gradients",
    "beta2": "Adam's decay of its running mean of squared gradients",
    "decay_rate": "RMSProp's decay of its running mean of squared gradients",
    "eps": "ε added to the denominator so it never divides by zero",
}
SEARCH_HELP = {
    "trials": "trials per round",
    "rounds": "rounds; after each one, every range narrows to the span of the best `keep` trials",
    "keep": "how many of the best trials set the next round's ranges",
    "metric": "the validation metric that ranks trials (never a test metric)",
    "space": "each searched config key and how to sample it",
    "prune": "successive halving: all trials train min_epochs, the best 1/eta go on to min_epochs·eta, and so on "
    "up to train.epochs; null = off",
    "min_epochs": "epochs every trial trains before the first cut",
    "eta": "each rung keeps the best 1/eta of its trials",
}
PRUNE_DEFAULTS = {"min_epochs": 1, "eta": 3}  # what search.parse_search fills in; a test checks that they agree


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file (registries are read now, so a registered dataset is included)."""
    defaults = to_dict(Config())
    comments = {section: _field_comments(cls) for section, cls in SECTIONS.items()}
    properties: dict[str, Any] = {}
    for key, rule in SCHEMA.items():
        if isinstance(rule, Rule):
            properties[key] = _property(rule, defaults[key], comments[""].get(key))
        elif key == "optimizer":
            properties[key] = _optimizer_section(defaults[key])
        else:
            properties[key] = _section(key, rule, defaults[key], comments[key])
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


def config_keys() -> dict[str, Rule]:
    """Every dotted config key and its rule, each optimizer's own keys included: what a search may vary."""
    keys = {}
    for key, rule in SCHEMA.items():
        if isinstance(rule, Rule):
            keys[key] = rule
        else:
            keys.update({f"{key}.{sub}": sub_rule for sub, sub_rule in rule.items()})
    keys.update({f"optimizer.{key}": rule for key, rule in HYPERPARAMETER_RULES.items()})
    return keys


# ----------------------------------------------------------------------------- the run config
def _property(rule: Rule, default: Any, comment: str | None) -> dict[str, Any]:
    schema = _value(rule)
    if comment and set(comment.split(" | ")) <= set(schema.get("enum", ())):
        comment = None  # `relu | sigmoid | tanh` says no more than the allowed values
    return {"description": _describe(comment, rule.allowed), "default": default, **schema}


def _describe(comment: str | None, allowed: str) -> str:
    """`comment. Allowed: ...`: what an editor shows on hover."""
    return f"{comment}. Allowed: {allowed}." if comment else f"Allowed: {allowed}."


def _value(rule: Rule) -> dict[str, Any]:
    """The rule's JSON Schema, with null added when the rule allows it."""
    schema = rule.json()
    if not rule.nullable:
        return schema
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _section(name: str, rules: dict[str, Rule], defaults: dict, comments: dict[str, str]) -> dict[str, Any]:
    schema = {
        "description": SECTION_HELP[name],
        "default": defaults,
        "type": ["object", "null"],  # `model:` with nothing under it means every default
        "properties": {key: _property(rule, defaults[key], comments.get(key)) for key, rule in rules.items()},
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
    properties = {"name": _property(SCHEMA["optimizer"]["name"], OptimizerConfig.name, "the update rule")}
    for key, rule in HYPERPARAMETER_RULES.items():
        per_optimizer = {name: own[key] for name, own in takes.items() if key in own}
        default = per_optimizer.get(OptimizerConfig.name, next(iter(per_optimizer.values()), None))
        by_value: dict[float, list[str]] = {}
        for name, value in per_optimizer.items():
            by_value.setdefault(value, []).append(name)
        where = ", ".join(f"{value:g} ({', '.join(names)})" for value, names in by_value.items())
        properties[key] = _property(rule, default, f"{HYPERPARAMETER_HELP.get(key, key)}; default {where}")
    branches = [
        {"if": _names_optimizer(name),
         "then": {"propertyNames": {"enum": ["name", *own]},
                  "properties": {key: {"default": value} for key, value in own.items()}}}
        for name, own in takes.items()
    ]
    return {
        "description": SECTION_HELP["optimizer"],
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


def _field_comments(cls: type) -> dict[str, str]:
    """Each dataclass field's trailing comment: config.py documents every key there, once."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):  # no source shipped: descriptions fall back to the allowed values
        return {}
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        field = re.match(r"\s*(\w+)\s*:", token.line)
        if token.type == tokenize.COMMENT and field:
            comments[field.group(1)] = token.string.lstrip("#").strip()
    return comments


# ----------------------------------------------------------------------------- the search: section
def _search_section() -> dict[str, Any]:
    defaults = SearchConfig()
    counts = {
        key: {"description": _describe(SEARCH_HELP[key], "an integer >= 1"), "default": getattr(defaults, key),
              "type": "integer", "minimum": 1}
        for key in ("trials", "rounds", "keep")
    }
    prune = {
        key: {"description": _describe(SEARCH_HELP[key], f"an integer >= {low}"), "default": PRUNE_DEFAULTS[key],
              "type": "integer", "minimum": low}
        for key, low in (("min_epochs", 1), ("eta", 2))
    }
    return {
        "description": "Random search (scratchrun search CONFIG); scratchrun train ignores this section.",
        "type": "object",
        "properties": {
            **counts,
            "metric": {"description": _describe(SEARCH_HELP["metric"], "one of " + ", ".join(METRICS)),
                       "default": defaults.metric, "enum": list(METRICS)},
            "space": {"description": _describe(SEARCH_HELP["space"], "any config key, with one of "
                                               "{log_uniform: [low, high]}, {uniform: [low, high]}, {choice: [a, b, ...]}"),
                      "type": "object", "minProperties": 1,
                      "properties": {key: _dimension(key, rule) for key, rule in config_keys().items()},
                      "additionalProperties": False},
            "prune": {"description": _describe(SEARCH_HELP["prune"], "{min_epochs: N, eta: M} or null"),
                      "default": None, "type": ["object", "null"], "properties": prune, "additionalProperties": False},
        },
        "required": ["space"],
        "additionalProperties": False,
    }


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
    hyperparameters = [f"optimizer.{key}" for key in HYPERPARAMETER_RULES]
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
