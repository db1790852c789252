"""The study commands (`sweep`, `compare-optimizers`, ...): parse the options, run the library's study, render it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import EXIT_SIGINT, PANEL_STUDIES, DataDir, DryRun, _fail, app, command_line, console, out
from scratchrun.errors import ConfigError, Interrupted, ScratchrunError

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder that receives the study folder.")]
Seeds = Annotated[int, typer.Option("--seeds", min=1, help="Repeat every variant with this many seeds (the config's seed, +1, ...).")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Runs in parallel, one process and one BLAS thread each; 0 = the number of cores.")]
Executor = Annotated[str, typer.Option("--executor", help="local (worker processes here) or dask (a Dask cluster).")]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="A Dask scheduler's address, e.g. tcp://host:8786 (default with --executor dask: "
                 "a LocalCluster of --jobs workers).", show_default=False),
]
StudyConfig = Annotated[
    Path | None, typer.Argument(help="Base config (default: the book's setting for this study).", show_default=False)
]
Overrides = Annotated[list[str] | None, typer.Argument(help="KEY=VALUE settings for the base config.", show_default=False)]
Resume = Annotated[
    Path | None,
    typer.Option("--resume", help="A study folder to finish: train only its runs that did not complete.", show_default=False),
]


def run_study_command(define: Callable, seeds: int, jobs: int, runs_dir: Path, data_dir: Path | None,
                      resume: Path | None, dry_run: bool, executor: str = "local", scheduler: str | None = None) -> None:
    """What every study command does once its options are parsed: `define()` the study, then run or plan it."""
    from scratchrun.experiments.study import plan_study, run_study

    observer = _LiveStudy()
    try:
        definition = define()
        if dry_run:
            plan = plan_study(definition, seeds, jobs, resume)
            print_dry_run(plan.kind, plan.todo, jobs)
            return
        outcome = run_study(definition, seeds=seeds, jobs=jobs, runs_dir=runs_dir, data_dir=data_dir, resume=resume,
                            executor=executor, scheduler=scheduler, observer=observer,
                            command=command_line())
    except Interrupted as e:
        observer.close()
        console.print(f"[yellow]interrupted:[/] {e}")
        raise typer.Exit(EXIT_SIGINT) from None
    except ScratchrunError as e:
        observer.close()
        _fail(e)
    observer.close()
    for note in outcome.notes:
        console.print(note, markup=False, highlight=False)
    _print_summary(outcome.kind, len(outcome.specs), outcome.summary)
    out.print(str(outcome.folder), soft_wrap=True)
    if outcome.failed:  # a bug, not a result: recorded with the others, but the study must not look like a success
        console.print(f"[red]error:[/] {len(outcome.failed)} run(s) failed with an internal error, e.g. "
                      f"{Path(outcome.failed[0].run_dir) / 'error.txt'}; the other runs and the tables are complete.",
                      soft_wrap=True)
        raise typer.Exit(1)


class _LiveStudy:
    """The study's live table in the terminal, fed by the library's StudyObserver calls."""

    wants_progress = True

    def __init__(self) -> None:
        self.display = None

    def started(self, plan) -> None:
        from scratchrun.cli.display.study import StudyDisplay
        from scratchrun.experiments.study import plan_summary

        console.print(plan_summary(plan))
        self.display = StudyDisplay(plan.specs, console, f"{plan.kind}: {len(plan.specs)} runs on {plan.workers} worker(s)")
        for result in plan.kept.values():
            self.display.finish(result)
        self.display.__enter__()

    def progress(self, event) -> None:
        self.display.update(event)

    def finished(self, result) -> None:
        self.display.finish(result)

    def close(self) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)
            self.display = None


def print_dry_run(kind: str, specs, jobs: int, evaluate_test: bool = True) -> None:
    """What a study or search would train, each run's estimated time, and the total with `jobs` workers."""
    from rich.table import Table

    from scratchrun.experiments.study import workers_for
    from scratchrun.training.estimate import duration, makespan, run_estimate

    workers = workers_for(jobs, len(specs))
    table = Table(title=f"{kind}: {len(specs)} run(s) would train on {workers} worker(s)", title_justify="left")
    for column in ("run", "seed", "train images", "updates", "estimated"):
        table.add_column(column, justify="left" if column == "run" else "right")
    seconds = []
    for spec in specs:
        estimate = run_estimate(spec.config, spec.stop_epochs, evaluate_test)
        seconds.append(estimate.seconds)
        table.add_row(spec.config.name or spec.variant, str(spec.seed), f"{estimate.sizes.train:,}",
                      f"{estimate.iterations:,}", duration(estimate.seconds))
    out.print(table)
    out.print(f"dry run: estimated {duration(makespan(seconds, workers))} on this machine with {workers} worker(s) "
              "(speed measured just now, one BLAS thread per run); nothing was written.", soft_wrap=True)


def _print_summary(kind: str, n_runs: int, summary: list[dict]) -> None:
    from rich.table import Table

    table = Table(title=f"{kind}: {n_runs} runs", title_justify="left")
    for column in ("variant", "runs", "train acc", "val acc", "test acc", "train − val"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in summary:
        train, val = row["train_acc_mean"], row["val_acc_mean"]
        gap = f"{train - val:.2%}" if train is not None and val is not None else "-"
        table.add_row(row["variant"], str(row["runs"]), *(_mean_std(row, m) for m in ("train_acc", "val_acc", "test_acc")), gap)
    out.print(table)


def _mean_std(row: dict, metric: str) -> str:
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if mean is None:
        return "-"
    return f"{mean:.2%}" if row["runs"] == 1 else f"{mean:.2%} ± {std:.2%}"


def _study(kind: str, config: Path | None, overrides: list[str] | None, **options) -> Callable:
    """A chapter-6 study's definition, made when called; a first argument with `=` that is no file was an override."""
    from scratchrun.experiments.presets import define_study

    if config is not None and "=" in str(config) and not config.exists():
        config, overrides = None, [str(config), *(overrides or [])]
    return lambda: define_study(kind, config, overrides or [], **options)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@app.command(rich_help_panel=PANEL_STUDIES)
def sweep(
    config: Annotated[Path, typer.Argument(help="Base YAML config.", show_default=False)],
    axes: Annotated[
        list[str] | None,
        typer.Argument(help="KEY=V1,V2,... per swept key (values parse as YAML); a single value just sets the key.", show_default=False),
    ] = None,
    seeds: Seeds = 1,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    resume: Resume = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    dry_run: DryRun = False,
) -> None:
    """Train the grid of every listed value of every swept key, and compare the variants in one study folder."""
    from scratchrun.experiments import presets

    run_study_command(lambda: presets.sweep(config, axes or []), seeds, jobs, runs_dir, data_dir, resume, dry_run,
                      executor, scheduler)


@app.command("compare-optimizers", rich_help_panel=PANEL_STUDIES)
def compare_optimizers(
    config: StudyConfig = None,
    overrides: Overrides = None,
    optimizers: Annotated[str, typer.Option("--optimizers", help="Comma-separated optimizer names.")] = "sgd,momentum,nesterov,adagrad,rmsprop,adam",
    lr: Annotated[list[str] | None, typer.Option("--lr", help="NAME=VALUE: a learning rate other than the optimizer's default.", show_default=False)] = None,
    seeds: Seeds = 1,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    resume: Resume = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    dry_run: DryRun = False,
) -> None:
    """Train the same network with each optimizer on the same minibatches; plot loss, accuracy and the toy paths."""
    rates = {}
    for item in lr or []:
        key, sep, value = item.partition("=")
        try:
            rates[key.strip()] = float(value)
        except ValueError:
            _fail(ConfigError(f"--lr `{item}` is malformed: write NAME=VALUE, e.g. --lr sgd=0.1."))
    define = _study("compare-optimizers", config, overrides, optimizers=_names(optimizers), lr=rates)
    run_study_command(define, seeds, jobs, runs_dir, data_dir, resume, dry_run, executor, scheduler)


@app.command("overfit-study", rich_help_panel=PANEL_STUDIES)
def overfit_study(
    config: StudyConfig = None,
    overrides: Overrides = None,
    weight_decay: Annotated[float, typer.Option("--weight-decay", min=0.0, help="λ of the weight-decay variants.")] = 0.1,
    dropout: Annotated[float, typer.Option("--dropout", min=0.0, max=0.99, help="p of the dropout variants.")] = 0.2,
    seeds: Seeds = 1,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    resume: Resume = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    dry_run: DryRun = False,
) -> None:
    """Overfit a small training set, then narrow the train/validation gap with weight decay, dropout, or both."""
    define = _study("overfit-study", config, overrides, weight_decay=weight_decay, dropout=dropout)
    run_study_command(define, seeds, jobs, runs_dir, data_dir, resume, dry_run, executor, scheduler)


@app.command("bn-study", rich_help_panel=PANEL_STUDIES)
def bn_study(
    config: StudyConfig = None,
    overrides: Overrides = None,
    scales: Annotated[int, typer.Option("--scales", min=1, help="Weight scales from 1 down to 1e-4, log-spaced.")] = 16,
    seeds: Seeds = 1,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    resume: Resume = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    dry_run: DryRun = False,
) -> None:
    """Train with and without batch norm at each initial weight scale: where does the plain net stop learning?"""
    define = _study("bn-study", config, overrides, scales=scales)
    run_study_command(define, seeds, jobs, runs_dir, data_dir, resume, dry_run, executor, scheduler)


@app.command("init-study", rich_help_panel=PANEL_STUDIES)
def init_study(
    config: StudyConfig = None,
    overrides: Overrides = None,
    inits: Annotated[str, typer.Option("--inits", help="Comma-separated inits: std:<value>, xavier, he.")] = "std:1,std:0.01,xavier,he",
    activations: Annotated[str, typer.Option("--activations", help="Activations for the distribution figure.")] = "sigmoid,tanh,relu",
    seeds: Seeds = 1,
    jobs: Jobs = 0,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    resume: Resume = None,
    executor: Executor = "local",
    scheduler: Scheduler = None,
    dry_run: DryRun = False,
) -> None:
    """Activation distributions and first gradients for each init, then MNIST training with each."""
    define = _study("init-study", config, overrides, inits=_names(inits), activations=_names(activations),
                    data_dir=data_dir)
    run_study_command(define, seeds, jobs, runs_dir, data_dir, resume, dry_run, executor, scheduler)
