"""`scratchrun tag` and `scratchrun note`: what a person adds to a run, beside its record (records/annotations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import PANEL_RUNS, RunsDir, app, edge, out
from scratchrun.cli.inspect import RunArg


@app.command(rich_help_panel=PANEL_RUNS)
def tag(
    run: RunArg,
    tags: Annotated[list[str], typer.Argument(help="Tags to add: a letter or digit, then letters, digits or . _ : + -.",
                                              show_default=False)],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Tag a run (kept in its tags.json, never in summary.json); `runs --where tag=T` lists the runs that have T."""
    from scratchrun.records.annotations import tag as change_tags
    from scratchrun.records.index import resolve

    with edge():
        folder = resolve(run, runs_dir, runs_only=True)
        kept = change_tags(folder, remove=tags) if remove else change_tags(folder, add=tags)
    out.print(f"{folder}: {', '.join(kept) if kept else 'no tags'}", soft_wrap=True)


@app.command(rich_help_panel=PANEL_RUNS)
def note(
    run: RunArg,
    text: Annotated[str, typer.Argument(help="The note (replaces the run's note; \"\" removes it).",
                                        show_default=False)],
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Write a note on a run (kept in its note.md, shown by `show`)."""
    from scratchrun.records.annotations import set_note
    from scratchrun.records.index import resolve

    with edge():
        folder = resolve(run, runs_dir, runs_only=True)
        kept = set_note(folder, text)
    out.print(f"{folder}: {'note saved' if kept else 'note removed'}", soft_wrap=True)
