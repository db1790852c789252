"""`scratchrun export tensorboard|optuna` and `scratchrun search-importance` (scratchrun/exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scratchrun.cli.common import PANEL_RUNS, PANEL_SEARCH, RunsDir, app, console, edge, out

export_app = typer.Typer(help="Write runs, studies and searches in the formats TensorBoard and Optuna read.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export", rich_help_panel=PANEL_RUNS)

Force = Annotated[bool, typer.Option("--force", help="Replace what an earlier export wrote there.")]
Search = Annotated[str, typer.Argument(help="A search folder: a path, or a name in --runs-dir.", show_default=False)]


@export_app.command("tensorboard")
def tensorboard(
    folders: Annotated[list[str] | None, typer.Argument(
        help="Runs, studies or searches (paths, or names in --runs-dir); default: every run in --runs-dir.",
        show_default=False, metavar="[RUN_OR_STUDY_OR_SEARCH]...")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The log folder to write the event files into.",
                                         show_default=False)] = ...,
    runs_dir: RunsDir = Path("runs"),
    force: Force = False,
) -> None:
    """An event file per run (every minibatch loss, every evaluation, the test metrics, an HParams session) for
    TensorBoard's Scalars and HParams views (pip install 'scratchrun\\[tensorboard]')."""
    from scratchrun.api import export_tensorboard

    with edge():
        with console.status("writing event files"):
            written = export_tensorboard(*(folders or []), output=output, runs_dir=runs_dir, force=force)
    out.print(f"wrote {written.runs} run(s) into {written.logdir}; open them with: tensorboard --logdir "
              f"{written.logdir}", soft_wrap=True)


@export_app.command("optuna")
def optuna(
    search: Search,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Optuna's journal file to write (default: "
                                                "study.log, unless --storage is given).", show_default=False)] = None,
    storage: Annotated[str | None, typer.Option("--storage", help="An Optuna storage URL instead, e.g. "
                                                "sqlite:///study.db.", show_default=False)] = None,
    runs_dir: RunsDir = Path("runs"),
    force: Force = False,
) -> None:
    """The search as an Optuna study: a trial per trial, its values, state, per-epoch scores and run folder, for
    optuna-dashboard and Optuna's analysis (pip install 'scratchrun\\[optuna]')."""
    from scratchrun.api import export_optuna

    if output is None and storage is None:
        output = Path("study.log")
    with edge():
        written = export_optuna(search, output, storage=storage, runs_dir=runs_dir, force=force)
    states = ", ".join(f"{n} {state}" for state, n in sorted(written.states.items(), key=lambda s: -s[1]))
    opener = f"optuna-dashboard {written.storage}"
    out.print(f"wrote study {written.study_name} ({states}) to {written.storage}; open it with: {opener}",
              soft_wrap=True)


@app.command("search-importance", rich_help_panel=PANEL_SEARCH)
def search_importance(search: Search, runs_dir: RunsDir = Path("runs")) -> None:
    """How much each searched key decides the search's metric: Optuna's PED-ANOVA over the completed trials
    (pip install 'scratchrun\\[optuna]')."""
    from scratchrun.api import search_importance as importance
    from scratchrun.exports.optuna_study import IMPORTANCE_EVALUATOR

    with edge():
        shares = importance(search, runs_dir=runs_dir)
    table = Table(title=f"importance of each searched key ({IMPORTANCE_EVALUATOR})", title_justify="left")
    table.add_column("key")
    table.add_column("importance", justify="right")
    table.add_column("")
    for key, share in shares.items():
        table.add_row(key, f"{share:.3f}", "█" * round(30 * share))
    out.print(table)
