"""The table of config keys in docs/config.md, written from the declarations (a test keeps the page equal to it)."""

from __future__ import annotations

from scratchrun.config.loader import Config, to_dict
from scratchrun.config.messages import flow
from scratchrun.config.rules import REQUIRED
from scratchrun.config.schema import HYPERPARAMETERS, config_keys, optimizer_defaults
from scratchrun.config.search import search_keys


def markdown_table() -> str:
    """Every key, the search: section's included, as a Markdown table: dotted key, default, allowed, meaning."""
    defaults = to_dict(Config())
    rows = []
    for dotted, key in config_keys().items():
        section, _, name = dotted.rpartition(".")
        if section == "optimizer" and name in HYPERPARAMETERS:
            default = optimizer_defaults(name)  # each optimizer's own
        else:
            default = f"`{flow(defaults[section][name] if section else defaults[name])}`"
        rows.append((f"`{dotted}`", default, key.rule.allowed, key.help))
    for dotted, (key, default) in search_keys().items():
        default = "required" if default is REQUIRED else f"`{flow(default)}`"
        rows.append((f"`search.{dotted}`", default, key.rule.allowed, key.help))
    lines = ["| key | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
