"""A study is a set of runs: variants of one base config, each repeated over seeds.

The expansion is a pure function from (base config, variants, seeds) to run configs, so what a study will
run can be checked without training anything. Variants of one seed share it: the same split, the same
initial weights wherever the init is the same, and the same minibatch order, which makes comparisons fair.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from scratchrun.config.bounded_yaml import parse_bounded
from scratchrun.config.loader import Config, config_from_dict
from scratchrun.config.overrides import set_dotted
from scratchrun.errors import ConfigError
from scratchrun.records.provenance import Provenance
from scratchrun.records.writer import safe_name

# the most runs one study, or trials one search, may hold: a larger plan is refused before any is built
MAX_RUNS = 10_000
_SEED_SUFFIX = re.compile(r"-seed\d+$")  # what run_name appends to the variant


@dataclass(frozen=True)
class Variant:
    """One arm of a study: a name that says what it varies, and the dotted keys it sets."""

    name: str
    overrides: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: which variant, which seed, and its fully resolved config.

    `stop_epochs` (successive halving) trains only that many epochs of the config, which stays unchanged.
    `provenance` (the command and git state the study was started from) is recorded in the run's summary.
    """

    index: int
    variant: str
    seed: int
    config: Config
    stop_epochs: int | None = None
    provenance: Provenance | None = None

    @property
    def folder_name(self) -> str:
        """The run's folder in the study's or search's folder (its name as a safe file name)."""
        return safe_name(self.config.name)


def check_size(count: int, unit: str, asked: str) -> None:
    """Refuse a study of more than MAX_RUNS runs, or a search of more trials, before one of them is built; `asked`
    names the options and values that make `count`, e.g. `--seeds 1000000000 × 1 variant(s)`."""
    if count > MAX_RUNS:
        kind = "search" if unit == "trials" else "study"
        raise ConfigError(f"{asked} makes {count:,} {unit}; allowed: at most {MAX_RUNS:,} {unit} in one {kind}.")


def expand(base: Mapping[str, Any], variants: Sequence[Variant], seeds: Sequence[int],
           source: str = "<study>") -> list[RunSpec]:
    """Every variant with every seed, variant by variant; each config validated like a file would be."""
    return [RunSpec(index, variant.name, seed, variant_config(base, variant, seed, source))
            for index, (variant, seed) in enumerate(itertools.product(variants, seeds))]


def variant_config(base: Mapping[str, Any], variant: Variant, seed: int, source: str = "<study>") -> Config:
    """The config of one run of a study: the base with the variant's keys, the seed, and the run's name."""
    raw = copy.deepcopy(dict(base))
    for key, value in variant.overrides:
        set_dotted(raw, key, value)
    raw["seed"] = seed
    raw["name"] = run_name(variant.name, seed)
    return config_from_dict(raw, f"{source} (variant {variant.name})")


def run_name(variant: str, seed: int) -> str:
    """A study run's name: `sgd-seed0`."""
    return f"{variant}-seed{seed}"


def run_folder_name(variant: str, seed: int) -> str:
    """The folder of a study's run, in the study's folder."""
    return safe_name(run_name(variant, seed))


def variant_of(name: str) -> str:
    """The variant part of a study run's name or folder name, run_name read back (`sgd-seed0` -> `sgd`); a name
    run_name did not write (a search's `trial-003`) comes back as it is."""
    return _SEED_SUFFIX.sub("", name)


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """`KEY=v1,v2,...` -> (key, values); values parse as a YAML flow list, so `model.hidden=[100,100],[50]` works."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not all(part.isidentifier() for part in key.split(".")):
        raise ConfigError(f"Sweep axis `{text}` is malformed: write KEY=V1,V2,... e.g. optimizer.name=sgd,adam.")
    try:  # within a config file's bounds: an alias bomb on the command line is refused too
        parsed = parse_bounded(f"[{values}]", f"Sweep axis `{key}`")[0]
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, list) or not parsed:
        raise ConfigError(f"Sweep axis `{text}`: the values are not a comma-separated list of YAML values.")
    return key, parsed


def grid(axes: Sequence[tuple[str, list[Any]]]) -> list[Variant]:
    """The full grid over the axes' values; a variant's name joins the values it varies, e.g. `sgd-128`.

    An axis with a single value is a plain setting shared by every variant, so it is left out of the names.
    """
    variants = []
    for values in itertools.product(*(values for _, values in axes)):
        varied = [short(value) for (_, options), value in zip(axes, values) if len(options) > 1]
        overrides = tuple((key, value) for (key, _), value in zip(axes, values))
        variants.append(Variant("-".join(varied) or "base", overrides))
    return variants


def short(value: Any) -> str:
    """A value as it reads in a variant name: `[100, 100]` -> `100x100`, `true` -> `true`."""
    if isinstance(value, list):
        return "x".join(short(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
