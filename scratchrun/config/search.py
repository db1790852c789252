"""A config's `search:` section (chapter 6.5's random search): each key declared once, then parsed and checked.

`train` ignores the section. It says how many trials, how many rounds, which validation metric ranks them, a range
per searched key and, optionally, successive halving (`prune:`). `load_search` reads it with its overrides and
tries both ends of every range on the config, so no trial can fail on a bad value. The maths that runs a search
is in `scratchrun.experiments.sampling`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from scratchrun.config.loader import Config, config_from_dict, config_from_yaml, read_yaml, to_dict
from scratchrun.config.messages import show
from scratchrun.config.overrides import parse_override, set_dotted
from scratchrun.config.rules import REQUIRED, Key, Rule, declared, defaults, integer, key
from scratchrun.config.schema import is_config_key
from scratchrun.errors import ConfigError
from scratchrun.numbers import is_finite

KINDS = ("log_uniform", "uniform", "choice")
METRICS = {"val_acc": "max", "val_loss": "min"}  # always a validation metric: the test set is for the very end
SPACE = Rule(
    "any config key, with one of {log_uniform: [low, high]}, {uniform: [low, high]}, {choice: [a, b, ...]}",
    lambda v: v if isinstance(v, Mapping) and v else None,
)


@dataclass(frozen=True)
class Dimension:
    """One searched key: a range (`log_uniform`, `uniform`) or a list of values (`choice`)."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Prune:
    """Successive halving's schedule: where the first cut falls, and what share each cut keeps."""

    min_epochs: int = key(1, integer(1), "epochs every trial trains before the first cut")
    eta: int = key(3, integer(2), "each rung keeps the best 1/eta of its trials")


PRUNE = Rule(
    "{min_epochs: N, eta: M} or null",
    lambda v: v if isinstance(v, Mapping) and set(v) <= set(declared(Prune)) else None,
    nullable=True,
)
METRIC = Rule(
    lambda: ", ".join(METRICS) + " (never a test metric)",
    lambda v: v if isinstance(v, str) and v in METRICS else None,
    json=lambda: {"enum": list(METRICS)},
)


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Random search (scratchrun search CONFIG); scratchrun train ignores this section."""

    trials: int = key(20, integer(1), "trials per round")
    rounds: int = key(1, integer(1), "rounds; after each one, every range narrows to the span of the best `keep` "
                                     "trials")
    keep: int = key(10, integer(1), "how many of the best trials set the next round's ranges")
    metric: str = key("val_acc", METRIC, "the validation metric that ranks trials")
    space: tuple[Dimension, ...] = key(REQUIRED, SPACE, "each searched config key and how to sample it")
    prune: Prune | None = key(None, PRUNE, "successive halving: all trials train min_epochs, the best 1/eta go on to "
                                           "min_epochs·eta, and so on up to train.epochs (which must be fixed); "
                                           "null = off")


def search_keys() -> dict[str, tuple[Key, Any]]:
    """Every key of the search: section, prune's own included, with its default (`REQUIRED`: none)."""
    keys = {}
    for cls, prefix in ((SearchConfig, ""), (Prune, "prune.")):
        keys.update({prefix + name: (declared(cls)[name], default) for name, default in defaults(cls).items()})
    return keys


def parse_search(raw: Any, source: str, known_key: Callable[[str], bool] = is_config_key) -> SearchConfig:
    """Validate a `search:` section; `known_key(dotted)` says whether a config key exists (the space may use any)."""
    where = f"{source}: search"
    names = list(declared(SearchConfig))
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with {', '.join(names[:-1])} and {names[-1]}.")
    if unknown := sorted(set(raw) - set(names)):
        raise ConfigError(f"{where}: unknown key `search.{unknown[0]}`; allowed: {', '.join(sorted(names))}.")
    values = _values(raw, SearchConfig, where)
    values["space"] = tuple(_dimension(key, spec, where, known_key) for key, spec in values["space"].items())
    values["prune"] = None if values["prune"] is None else Prune(**_values(values["prune"], Prune, where + ".prune"))
    return SearchConfig(**values)


def _values(raw: Mapping, cls: type, where: str) -> dict[str, Any]:
    """Each key `cls` declares, from `raw` or its default, checked against its rule."""
    values = {}
    for name, default in defaults(cls).items():
        value, rule = raw.get(name, default), declared(cls)[name].rule
        values[name] = None if value is None else rule.check(value)
        if values[name] is None and not (value is None and rule.nullable):
            if name == "space":  # the one refusal better said with an example
                raise ConfigError(f"{where}.space must map at least one config key to a range, e.g. optimizer.lr: "
                                  "{log_uniform: [1.0e-6, 1.0e-2]}.")
            raise ConfigError(f"{where}.{name} = {show(value)} is not allowed; allowed: {rule.allowed}.")
    return values


def _dimension(key: Any, spec: Any, where: str, known_key) -> Dimension:
    at = f"{where}.space.{key}"
    if not isinstance(key, str) or not known_key(key):
        raise ConfigError(f"{at}: `{key}` is not a config key that can be searched.")
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise ConfigError(f"{at} must be one of {{log_uniform: [low, high]}}, {{uniform: [low, high]}}, {{choice: [a, "
                          "b, ...]}.")
    kind, values = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{at}: choice needs a non-empty list of values.")
        return Dimension(key, kind, choices=tuple(values))
    if (not isinstance(values, list) or len(values) != 2
            or not all(is_finite(v) for v in values)):
        raise ConfigError(f"{at}: {kind} needs [low, high], two finite numbers.")
    low, high = float(values[0]), float(values[1])
    if not low < high:
        raise ConfigError(f"{at}: the range [{low:g}, {high:g}] is empty or inverted; allowed: low < high.")
    if kind == "log_uniform" and low <= 0:
        raise ConfigError(f"{at}: a log_uniform range needs low > 0 (got {low:g}).")
    return Dimension(key, kind, low, high)


@dataclass(frozen=True)
class SearchSetup:
    """A search as asked, built once by `load_search` and handed whole to the run, the dry run and the resume check."""

    plan: SearchConfig
    base_config: Config
    base: dict[str, Any]  # the base config as data: each trial sets its values on a copy; search.yaml saves it
    source: str  # the config file, named in every message about a trial
    edges: tuple[Config, ...]  # the base config at each range's ends, all valid: sized before any trial runs

    @property
    def saved(self) -> dict[str, Any]:
        """What search.yaml saves and a resume compares: the effective search section and the base config."""
        return {"search": search_section_data(self.plan), "base": self.base}


def load_search(config: Path, overrides: Sequence[str], trials: int | None) -> SearchSetup:
    """The validated search plan and its base config; every range's ends are tried on the config.

    `search.KEY=VALUE` overrides set the section (`search.space.optimizer.lr=...` names one range), the others the
    base config; `trials` (--trials) replaces the section's.
    """
    searched = [o for o in overrides if o.startswith("search.")]
    raw, lines = read_yaml(config)  # read and parsed once, for the base config and the section
    base_config = config_from_yaml(raw, lines, config, [o for o in overrides if not o.startswith("search.")])
    if "search" not in raw:
        raise ConfigError(f"{config} has no search: section; add one (`scratchrun new --from book-search` writes an "
                          "example of one).")
    for override in searched:
        set_dotted(raw, *parse_override(override))
    plan = parse_search(raw["search"], str(config) + (" with overrides" if searched else ""))
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise ConfigError(f"--trials {trials!r} is not allowed; allowed: an integer >= 1 (trials per round).")
    plan = replace(plan, trials=trials if trials is not None else plan.trials)
    base = to_dict(base_config)
    if plan.prune is not None:
        varied = {dim.key for dim in plan.space}
        if base_config.train.epochs is None or varied & {"train.epochs", "train.iterations"}:
            raise ConfigError(f"{config}: search.prune needs a fixed train.epochs budget (not train.iterations, and "
                              "not searched); set train.epochs or remove prune.")
    return SearchSetup(plan, base_config, base, str(config), tuple(edge_configs(plan, base, str(config))))


def edge_configs(plan: SearchConfig, base: dict, source: str) -> list[Config]:
    """The base config with each range's ends (or each choice) set in turn; each must be valid, so every sample is."""
    configs = []
    for dim in plan.space:
        for value in dim.choices if dim.kind == "choice" else (dim.low, dim.high):
            trial = copy.deepcopy(base)
            set_dotted(trial, dim.key, value)
            try:
                configs.append(config_from_dict(trial, f"{source} (search.space.{dim.key} = {value!r})"))
            except ConfigError as e:
                raise ConfigError(f"{e} (a value search.space.{dim.key} can take)") from None
    return configs


def search_section_data(plan: SearchConfig) -> dict:
    """The effective search: section (--trials applied) as data: what search.yaml saves and a resume compares."""
    data = {name: getattr(plan, name) for name in declared(SearchConfig)}
    data["space"] = {dim.key: {"choice": list(dim.choices)} if dim.kind == "choice" else {dim.kind: [dim.low, dim.high]}
                     for dim in plan.space}
    data["prune"] = None if plan.prune is None else asdict(plan.prune)
    return data
