"""`scratchrun config` and `scratchrun schema`: the resolved config with where each value came from, and a JSON
Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from scratchrun.cli.common import PANEL_SETUP, app, console, edge, out
from scratchrun.errors import ScratchrunError

SOURCES = {  # where a value comes from -> (its line's style, its tag's style) on a terminal
    "file": ("", "green"),
    "override": ("bold yellow", "bold yellow"),
    "default": ("dim", "dim"),
}

Overrides = Annotated[
    list[str] | None,
    typer.Argument(help="Dotted KEY=VALUE overrides parsed as YAML, as for train, e.g. optimizer.lr=0.01.",
                   show_default=False),
]


@app.command("config", rich_help_panel=PANEL_SETUP)
def show_config(
    config: Annotated[Path, typer.Argument(help="A YAML config file, or a shipped example's name (mnist, best-mlp, "
                                                "book-search).", show_default=False)],
    overrides: Overrides = None,
    as_yaml: Annotated[bool, typer.Option("--yaml", help="Print only the resolved config, as the run's config.yaml "
                                                          "would hold it.")] = False,
) -> None:
    """Show the fully resolved config, each value marked as set in the file, overridden, or a default."""
    from scratchrun.config.loader import config_from_yaml, dump_yaml, read_yaml, to_dict
    from scratchrun.config.overrides import apply_overrides

    searched = [o for o in overrides or [] if o.startswith("search.")]
    overrides = [o for o in overrides or [] if not o.startswith("search.")]
    if searched:  # accepted by `scratchrun search`, so not an error here; but they are not part of a run's config
        console.print(f"note: {', '.join(searched)} only change(s) the search: section, which `scratchrun search` "
                      "reads; shown below is the run config", soft_wrap=True)
    with edge():
        raw, lines = read_yaml(config)  # the same checks, and the same sentences, as train
        cfg = config_from_yaml(raw, lines, config, overrides)
        given = apply_overrides(raw, overrides)
    if as_yaml:
        typer.echo(dump_yaml(cfg), nl=False)
        return
    resolved = to_dict(cfg)
    override_keys = [o.partition("=")[0].strip() for o in overrides]
    _print_annotated(resolved, sources(given, override_keys, resolved), str(config), "search" in given)


@app.command("new", rich_help_panel=PANEL_SETUP)
def new(
    name: Annotated[str | None, typer.Argument(help="The run name (the file is NAME.yaml), or the file itself "
                                               "(my.yaml).", show_default=False)] = None,
    example: Annotated[str | None, typer.Option("--from", help="Copy a shipped example instead: mnist, best-mlp, "
                                                "book-search.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The file to write.",
                                                 show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a new config: every key at its default with what it means and allows, or a copy of an example."""
    from scratchrun.api import new_config

    with edge():
        written = new_config(name, example=example, output=output, force=force)
    what = f"a copy of the example {example}" if example else "every key at its default"
    command = "search" if "\nsearch:" in written.read_text(encoding="utf-8") else "train"
    out.print(f"wrote {written}: {what}; {command} with: scratchrun {command} {written}", soft_wrap=True)


@app.command("schema", rich_help_panel=PANEL_SETUP)
def show_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the schema to this file instead of "
                                                                        "printing it.", show_default=False)] = None,
) -> None:
    """Print the config file's JSON Schema (draft 2020-12), for completion and checking in an editor."""
    import json

    from scratchrun.config.json_schema import config_schema

    text = json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    with edge():
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            raise ScratchrunError(f"Cannot write the schema to {output}: {e.strerror or e}; give a file in a folder "
                                  "that exists.") from None
    console.print(f"wrote {output}; point a config at it with a first line `# yaml-language-server: $schema=PATH`",
                  soft_wrap=True)


def sources(given: dict, override_keys: list[str], resolved: dict) -> dict[str, str]:
    """Each dotted key of the resolved config -> file, override or default.

    `given` is the file's mapping with the overrides applied; a key it does not hold took its default
    (an optimizer's own keys included), and a key at or under an override's key came from the command line.
    """
    from scratchrun.records.reader import flatten

    found = {}
    for key, value in flatten(resolved).items():
        was = _lookup(given, key)
        if was is _MISSING or (was is None and value is not None):  # e.g. a null name becomes the file's name
            found[key] = "default"
        elif any(key == o or key.startswith(o + ".") for o in override_keys):
            found[key] = "override"
        else:
            found[key] = "file"
    if resolved["train"]["epochs"] is None and found["train.epochs"] == "default":
        found["train.epochs"] = found["train.iterations"]  # emptied by whatever set iterations
    return found


_MISSING = object()


def _lookup(given: Any, dotted: str) -> Any:
    node = given
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _print_annotated(resolved: dict, where: dict[str, str], path: str, has_search: bool) -> None:
    """YAML lines with a `# source` comment each: still valid YAML, styled only on a terminal."""
    from rich.text import Text

    rows: list[tuple[str, str | None]] = []
    for key, value in resolved.items():
        if isinstance(value, dict):
            rows.append((f"{key}:", None))
            rows += [(f"  {sub}: {_flow(v)}", where[f"{key}.{sub}"]) for sub, v in value.items()]
        else:
            rows.append((f"{key}: {_flow(value)}", where[key]))
    width = max(len(text) for text, _ in rows) + 2
    legend = Text().append("# where each value comes from: ", style="dim")
    for source, meaning in (("file", f"set in {path}"), ("override", "KEY=VALUE on the command line"),
                            ("default", "scratchrun's default")):
        legend.append(source, style=SOURCES[source][1])
        legend.append(f" = {meaning}; " if source != "default" else f" = {meaning}", style="dim")
    out.print(legend, soft_wrap=True)
    for text, source in rows:
        if source is None:
            out.print(Text(text), soft_wrap=True)
        else:
            line_style, tag_style = SOURCES[source]
            out.print(Text(text.ljust(width), style=line_style).append(f"# {source}", style=tag_style), soft_wrap=True)
    if has_search:
        out.print(Text(f"# and a search: section, which scratchrun search reads from {path}", style="dim"),
                  soft_wrap=True)


def _flow(value: Any) -> str:
    """A value as one line of YAML, as the file would hold it."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()
