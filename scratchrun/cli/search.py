"""`scratchrun search`: rounds of random trials scored on the validation set, pruned, narrowed, resumable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli import common
from scratchrun.cli.common import (
    PANEL_SEARCH,
    DataDir,
    DryRun,
    Executor,
    Jobs,
    Overrides,
    RunsDir,
    Scheduler,
    app,
    console,
    edge,
    out,
)


@app.command(rich_help_panel=PANEL_SEARCH)
def search(
    config: Annotated[Path, typer.Argument(help="A config with a search: section: a file, or the shipped example "
                                                "book-search.", show_default=False)],
    overrides: Overrides = None,
    trials: Annotated[int | None, typer.Option(
        "--trials", min=1, show_default=False,
        help="Trials per round (default: the config's).")] = None,
    jobs: Jobs = 0,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", show_default=False,
        help="Continue the search in this folder: finished trials are kept.")] = None,
    final_test: Annotated[bool, typer.Option(
        "--final-test",
        help="Retrain the best config on training + validation data and score the test set, once.")] = False,
    max_failures: Annotated[int | None, typer.Option(
        "--max-failures", min=1, show_default=False,
        help="Stop the search once this many trials have diverged or failed.")] = None,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    dry_run: DryRun = False,
) -> None:
    """Random search (chapter 6.5): sample every range, train briefly, score on the validation set, narrow, repeat."""
    from scratchrun.api import search as run_search
    from scratchrun.cli.display.progress import DownloadBar
    from scratchrun.cli.display.search import LiveSearch

    observer = LiveSearch(console, executor, jobs or os.cpu_count() or 1)
    # SIGTERM stops it like Ctrl-C: recorded, resumable; Ctrl-C while the data loads leaves nothing
    with edge("before the search started; no search folder was made.", close=observer.close,
              resume=lambda e: f"{e}; finish it with: scratchrun search {config} --resume {e.folder}"):
        if dry_run:
            _dry_run(config, overrides or [], trials, resume, executor, scheduler, jobs or os.cpu_count() or 1)
            return
        outcome = run_search(config, overrides or [], trials=trials, jobs=jobs, executor=executor,
                             scheduler=scheduler, resume=resume, final_test=final_test, max_failures=max_failures,
                             runs_dir=runs_dir, data_dir=data_dir, observer=observer, reporter=DownloadBar(console),
                             command=common.command_line())
    best, metric = outcome.best, outcome.metric
    if best is not None:
        values = ", ".join(f"{k} = {_fmt(best[k])}" for k in outcome.keys)
        out.print(f"best: trial {best['trial']}, {metric} {best[metric]:.4f}: {values} ({outcome.counts})",
                  soft_wrap=True)
    else:
        common.say("no trial completed", "yellow", f"({outcome.counts}); see trials.csv")
    final = outcome.final_test
    if final is not None and final["test_acc"] is not None:
        out.print(f"final test (trained on {final['train_samples']} training + validation images, scored once): "
                  f"test_acc {final['test_acc']:.4f}, test_loss {final['test_loss']:.4f}", soft_wrap=True)
    out.print(str(outcome.folder), soft_wrap=True)
    if outcome.failed:  # the search went on without them, as it should; but it must not look like a success
        sentence = common.failures_sentence(len(outcome.failed), "trial", outcome.folder / outcome.failed[0]["run_dir"])
        common.say("error:", "red", f"{sentence} The other trials and the tables are complete.")
        raise typer.Exit(1)
    if final is not None and final["test_acc"] is None:  # it diverged or failed: the test set was not scored
        common.say("error:", "red", f"the final run ended {final['status']}, so the test set was not scored; see "
                   f"{outcome.folder / final['run_dir']}.")
        raise typer.Exit(common.EXIT_DIVERGED if final["status"] == "diverged" else 1)


def _dry_run(config: Path, overrides: list[str], trials: int | None, resume: Path | None, executor: str,
             scheduler: str | None, workers: int) -> None:
    """Round 1's trials with their values, and the search's estimated time (later rounds cost like the first)."""
    from rich.table import Table

    from scratchrun.cli.display.study import DRY_RUN_ROWS, print_dry_run_total
    from scratchrun.config.search import load_search
    from scratchrun.experiments.dry_run import estimate_search
    from scratchrun.experiments.executors import check_executor
    from scratchrun.experiments.search import plan_search
    from scratchrun.text import duration_text

    setup = load_search(config, overrides, trials)
    check_executor(executor, scheduler)
    run = plan_search(setup, resume)
    plan, estimate = run.plan, estimate_search(run, workers)
    table = Table(title=f"round 1 of {plan.rounds}: {plan.trials} trials (later rounds sample narrowed ranges)",
                  title_justify="left")
    for column in ("trial", *run.keys, "estimated"):
        table.add_column(column, justify="right")
    for trial in estimate.trials[:DRY_RUN_ROWS]:
        table.add_row(str(trial.trial), *(_fmt(v) for v in trial.values.values()),
                      duration_text(trial.estimate.seconds) + (" (finished)" if trial.finished else ""))
    out.print(table)
    rungs = f", rungs at {', '.join(map(str, run.rungs))} epochs" if plan.prune else ""
    print_dry_run_total(out, estimate.seconds, workers, plan.trials, "trial",
                        f"{plan.trials} trials × {plan.rounds} round(s){rungs}; ")


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
