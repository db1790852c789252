"""`scratchrun rm`, `restore` and `gc`: runs, studies and searches moved into `<runs>/.trash/`, back, or deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import PANEL_RUNS, RunsDir, app, console, edge, out
from scratchrun.errors import ConfigError


@app.command(rich_help_panel=PANEL_RUNS)
def rm(
    runs: Annotated[list[str] | None, typer.Argument(help="Runs, studies or searches (folders or names in --runs-dir).",
                                                     show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only folders whose runs all have this status.",
                                               show_default=False)] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Only folders started longer ago than this: "
                                                   "30m, 12h, 7d, 2w.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be moved; move nothing.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Move runs, studies or searches into RUNS_DIR/.trash (a run still training is never moved); `restore` brings
    one back unchanged, `gc` deletes the trash."""
    from scratchrun.records import trash

    with edge():
        if not runs and status is None and older_than is None:
            raise ConfigError("Name the runs to remove, or select them with --status or --older-than; nothing was "
                              "removed.")
        age = trash.parse_age(older_than) if older_than is not None else None
        chosen, running = trash.select(runs_dir, runs or (), status, age)
        if running:
            console.print(f"kept {len(running)} still training: {', '.join(e.name for e in running)}",
                          soft_wrap=True)
        for entry in chosen:
            out.print(f"{'would move' if dry_run else 'moving'} {entry.path} ({trash.size(entry.path) / 2**20:.1f} MB)",
                      soft_wrap=True)
        if dry_run or not chosen:
            console.print(f"{len(chosen)} folder(s) {'would be moved' if dry_run else 'moved'}; nothing was changed.")
            if running and not chosen:
                raise typer.Exit(1)
            return
        moved = trash.remove(runs_dir, chosen)
    console.print(f"{len(moved)} folder(s) moved to {runs_dir / trash.TRASH}: `scratchrun restore NAME` brings one "
                  "back, `scratchrun gc` deletes them for good.", soft_wrap=True)


@app.command(rich_help_panel=PANEL_RUNS)
def restore(
    names: Annotated[list[str] | None, typer.Argument(
        show_default=False,
        help="Trash items (as listed without a NAME) or the names of the folders removed; none: list the "
             "trash.")] = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Move removed runs, studies or searches back out of RUNS_DIR/.trash, unchanged; without NAME, list the trash."""
    from scratchrun.records import trash

    with edge():
        if not names:
            listed = trash.items(runs_dir)
            for item in listed:
                name = "" if item.name == item.id else f" ({item.name})"
                problem = f"  cannot be restored: {item.problem}" if item.problem else ""
                out.print(f"{item.id}{name}  removed {item.removed or '?'}  {trash.size(item.folder) / 2**20:.1f} MB"
                          f"{problem}", soft_wrap=True)
            console.print(f"{len(listed)} item(s) in {runs_dir / trash.TRASH}")
            return
        restored = trash.restore(runs_dir, names)
    for path in restored:
        out.print(f"restored {path}", soft_wrap=True)


@app.command(rich_help_panel=PANEL_RUNS)
def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Delete everything in RUNS_DIR/.trash for good."""
    from scratchrun.records import trash

    with edge():
        everything = trash.items(runs_dir)
        listed = [item for item in everything if not item.problem]
        for item in everything:
            if item.problem:
                console.print(f"left {item.folder}: {item.problem}; scratchrun deletes only what it put there",
                              soft_wrap=True)
        total = sum(trash.size(item.folder) for item in listed)
        if dry_run:
            for item in listed:
                out.print(f"would delete {item.id}", soft_wrap=True)
            console.print(f"{len(listed)} item(s), {total / 2**20:.1f} MB would be deleted; nothing was changed.")
            return
        deleted = trash.empty(runs_dir)
    console.print(f"deleted {deleted} item(s), {total / 2**20:.1f} MB, from {runs_dir / trash.TRASH}")
