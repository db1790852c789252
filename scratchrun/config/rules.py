"""What a config key accepts (its `Rule`), and `key()`, which declares a dataclass field as a config key.

A key is declared once, on its field: `seed: int = key(0, integer(0), "help")`. The loader validates with the
rule, `scratchrun schema` turns the rule into JSON Schema (`Rule.json`), and the table in docs/config.md and every
"allowed: ..." in an error use the rule's words, so none of them can drift from another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

from scratchrun.numbers import is_finite


@dataclass(frozen=True)
class Rule:
    """What a key accepts: a checker returning the value (normalised) or None when it is not allowed."""

    describe: str | Callable[[], str]  # the words shown after "allowed:" (a callable reads a registry late)
    check: Callable[[Any], Any]
    nullable: bool = False
    json: Callable[[], dict[str, Any]] = dict  # the same rule as JSON Schema, null aside (`scratchrun schema`)

    @property
    def allowed(self) -> str:
        return self.describe() if callable(self.describe) else self.describe


@dataclass(frozen=True)
class Key:
    """A declared key: what it accepts and what it means (one line, no final full stop)."""

    rule: Rule
    help: str


REQUIRED: Any = MISSING  # the default of a key that must be given


def key(default: Any, rule: Rule, help: str) -> Any:
    """A dataclass field that is a config key: its default, its rule and its help, in one place."""
    return field(default=default, metadata={"key": Key(rule, help)})


def declared(cls: type) -> dict[str, Key | type]:
    """A section's keys in order: name -> its `Key`, or the dataclass of a subsection (`data`, `model`, ...)."""
    out: dict[str, Key | type] = {}
    for f in fields(cls):
        if "key" in f.metadata:
            out[f.name] = f.metadata["key"]
        elif is_dataclass(f.default_factory):
            out[f.name] = f.default_factory
    return out


def defaults(cls: type) -> dict[str, Any]:
    """Each declared key's default (`REQUIRED` when it has none)."""
    return {f.name: f.default for f in fields(cls) if "key" in f.metadata}


def section_help(cls: type) -> str:
    """A section's help: the first line of its dataclass's docstring."""
    return (cls.__doc__ or "").strip().splitlines()[0]


# ----------------------------------------------------------------------------- the kinds of rule
def number(low: float, high: float | None = None, low_open: bool = False, high_open: bool = True) -> Rule:
    def check(v):
        if not is_finite(v):
            return None
        if (v <= low if low_open else v < low) or (high is not None and (v >= high if high_open else v > high)):
            return None
        return float(v)

    low_text = f"> {low:g}" if low_open else f">= {low:g}"
    high_text = "" if high is None else (f" and < {high:g}" if high_open else f" and <= {high:g}")

    def json():
        bounds = {"exclusiveMinimum" if low_open else "minimum": low}
        if high is not None:
            bounds["exclusiveMaximum" if high_open else "maximum"] = high
        return {"type": "number", **bounds}

    return Rule(f"a number {low_text}{high_text}", check, json=json)


def integer(low: int, nullable: bool = False) -> Rule:
    def check(v):
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= low else None

    text = f"an integer >= {low}" + (" or null" if nullable else "")
    return Rule(text, check, nullable, json=lambda: {"type": "integer", "minimum": low})


def choice(registry: Callable[[], Iterable[str]]) -> Rule:
    # the registry is read at each use, not at import: tests may register a dataset
    return Rule(
        lambda: "one of " + ", ".join(registry()),
        lambda v: v if isinstance(v, str) and v in registry() else None,
        json=lambda: {"enum": list(registry())},
    )


def boolean() -> Rule:
    return Rule("true or false", lambda v: v if isinstance(v, bool) else None, json=lambda: {"type": "boolean"})


def layer_sizes() -> Rule:
    def check(v):
        if isinstance(v, list) and v and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v):
            return tuple(v)
        return None

    return Rule(
        "a non-empty list of positive integers, e.g. [100, 100]",
        check,
        json=lambda: {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
    )


def subset(options: tuple[str, ...]) -> Rule:
    def check(v):
        if isinstance(v, list) and all(isinstance(s, str) and s in options for s in v) and len(set(v)) == len(v):
            return tuple(s for s in options if s in v)  # one order, whatever the file's
        return None

    return Rule(
        f"a list of distinct items of {', '.join(options)} (may be empty), e.g. [{options[-1]}]",
        check,
        json=lambda: {"type": "array", "items": {"enum": list(options)}, "uniqueItems": True},
    )


def run_name() -> Rule:
    return Rule(
        "a non-empty string or null",
        lambda v: v if isinstance(v, str) and v.strip() else None,
        nullable=True,
        json=lambda: {"type": "string", "pattern": r"\S"},
    )
