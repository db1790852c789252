"""`scratchrun train`: one config, one run folder, a progress bar and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli import common
from scratchrun.cli.common import EXIT_DIVERGED, PANEL_TRAIN, DataDir, DryRun, RunsDir, app, console, edge, out


@app.command(rich_help_panel=PANEL_TRAIN)
def train(
    config: Annotated[Path, typer.Argument(help="A YAML config file, or a shipped example's name (mnist, best-mlp, "
                                                "book-search).", show_default=False)],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Dotted KEY=VALUE overrides parsed as YAML, e.g. optimizer.lr=0.01 "
                            "model.hidden=[256,256].", show_default=False),
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option(
        "--name", show_default=False,
        help="Run name (default: the config's name, else the file's name).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q",
        help="No progress bar or table; print only the run folder.")] = False,
    dry_run: DryRun = False,
) -> None:
    """Train the MLP a config describes on real MNIST and write runs/<time>_<name>/."""
    from scratchrun.api import train as train_run
    from scratchrun.cli.display.progress import DownloadBar, TrainingProgress, print_summary
    from scratchrun.config.loader import load_config

    # Ctrl-C while training is the run's own (recorded as interrupted); here: before it started, or a second one
    with edge("before the run started, or while its records were being written; a run folder made by then says "
              "how far it got."):
        cfg = load_config(config, overrides or [], name=name)
        if dry_run:
            _dry_run_train(cfg)
            return
        with TrainingProgress(console, disable=quiet) as progress:
            outcome = train_run(cfg, runs_dir=runs_dir, data_dir=data_dir, callbacks=[progress],
                                reporter=None if quiet else DownloadBar(console), command=common.command_line())
    if not quiet:
        print_summary(out, cfg, outcome)
    out.print(str(outcome.folder), soft_wrap=True)
    if outcome.status == "diverged":
        common.say("error:", "red", f"the run diverged: {outcome.summary.get('message')}; try a smaller optimizer.lr.")
        raise typer.Exit(EXIT_DIVERGED)
    if outcome.status == "interrupted":
        common.say("interrupted:", "yellow", f"{outcome.summary.get('message')}; everything measured so far is in the "
                   "run folder.")
        raise typer.Exit(common.interrupt_exit_code())


def _dry_run_train(cfg) -> None:
    """The resolved config and the time it would take, measured on this machine; nothing read or written."""
    from scratchrun.config.loader import dump_yaml
    from scratchrun.text import duration_text
    from scratchrun.training.estimate import run_estimate

    estimate = run_estimate(cfg, curves=True)
    out.print(dump_yaml(cfg), end="", soft_wrap=True)
    sizes = estimate.sizes
    out.print(f"dry run: would train on {sizes.train:,} images ({sizes.val:,} validation, {sizes.test:,} test), "
              f"{estimate.iterations:,} updates and {estimate.evaluations} evaluations; estimated "
              f"{duration_text(estimate.seconds)} on this machine ({estimate.train_samples_per_s:,.0f} training "
              "samples/s measured just now, one BLAS thread); nothing was written.", soft_wrap=True)
