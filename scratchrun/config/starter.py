"""The text of a new config (`scratchrun new`): every key at its default with its meaning and what it allows, drawn
from the one declaration of the keys (config/schema.py), or a copy of a shipped example.

Both are checked by the loader before they are returned, so a new config always loads.
"""

from __future__ import annotations

import re
from pathlib import Path

from scratchrun.config.examples import example_names, example_path
from scratchrun.config.loader import Config, config_from_yaml, parse_yaml_text, to_dict
from scratchrun.config.messages import flow
from scratchrun.config.schema import HYPERPARAMETERS, config_keys
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import hyperparameter_defaults

SCHEMA_LINE = "# yaml-language-server: $schema=scratchrun.schema.json"
_SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=.*\n", re.M)
_NAME_LINE = re.compile(r"^name: .*$", re.M)


def starter_text(name: str, schema_beside: bool = False) -> str:
    """Every key of a run config at its default, each under a comment with its meaning and what it allows; the
    optimizer's section holds the default optimizer's keys, and the other optimizers' keys as comments."""
    defaults = to_dict(Config())
    defaults["name"] = name
    optimizer = defaults["optimizer"]["name"]
    own = hyperparameter_defaults(optimizer)
    lines = [*([SCHEMA_LINE] if schema_beside else []),
             "# A scratchrun config: every key at its default, with what it means and what it allows.",
             "# Train with it: scratchrun train FILE   See it resolved: scratchrun config FILE",
             *([] if schema_beside else ["# Completion in an editor: `scratchrun schema -o scratchrun.schema.json` "
                                         "beside this file, then make this its first line:", "#   " + SCHEMA_LINE])]
    section = None
    for dotted, key in config_keys().items():
        top, _, leaf = dotted.rpartition(".")
        if top != section:
            section = top
            if top:
                lines += ["", f"{top}:"]
        indent = "  " if top else ""
        if top == "optimizer" and leaf in HYPERPARAMETERS and leaf not in own:
            users = _optimizers_taking(leaf)
            lines.append(f"{indent}# {key.help} (allowed: {key.rule.allowed}; for {', '.join(users)} only)")
            lines.append(f"{indent}# {leaf}: {flow(hyperparameter_defaults(users[0])[leaf])}")
            continue
        value = own[leaf] if top == "optimizer" and leaf in own else (defaults[top][leaf] if top else defaults[leaf])
        lines.append(f"{indent}# {key.help} (allowed: {key.rule.allowed})")
        lines.append(f"{indent}{leaf}: {flow(value)}")
    text = "\n".join(lines) + "\n"
    _check(text, f"the starter config for {name}")
    return text


def _optimizers_taking(key: str) -> list[str]:
    from scratchrun.nn.optimizers import OPTIMIZERS

    return [name for name in OPTIMIZERS if key in hyperparameter_defaults(name)]


def example_text(example: str, name: str | None = None, schema_beside: bool = False) -> str:
    """A shipped example's text; with `name`, its `name:` set to it; its schema comment kept only when there is a
    schema beside the new file."""
    path = example_path(example)
    if path is None:
        raise ConfigError(f"--from `{example}` is not a shipped example; examples: {', '.join(example_names())}.")
    text = _SCHEMA_COMMENT.sub(SCHEMA_LINE + "\n" if schema_beside else "", path.read_text(encoding="utf-8"))
    if name is not None:
        text = _NAME_LINE.sub(f"name: {flow(name)}", text, count=1) if _NAME_LINE.search(text) \
            else f"name: {flow(name)}\n" + text
    _check(text, f"the example {example} named {name}")
    return text


def _check(text: str, what: str) -> None:
    """The loader reads `text` as it will read the file: a name it refuses, say, is its sentence."""
    raw, lines = parse_yaml_text(text, what)
    raw.pop("search", None)  # book-search's section: `scratchrun search` reads it, a run's config does not
    config_from_yaml(raw, lines, Path(what))
