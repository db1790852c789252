"""The study commands: `sweep` and the four chapter-6 studies, each a plain Typer function.

Each parses its own options and the ones every study shares, calls the API function of its name (`api.study` or
`api.sweep`; the defaults come from experiments/defaults.py) or, with --dry-run, plans the definition that function
runs (experiments/presets.py) with `estimate_study`, and renders the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import (
    PANEL_STUDIES,
    DataDir,
    DryRun,
    Executor,
    Jobs,
    Overrides,
    Resume,
    RunsDir,
    Scheduler,
    Seeds,
    StudyConfig,
    app,
    command_line,
    console,
    edge,
    failures_sentence,
    out,
    say,
)
from scratchrun.errors import ConfigError
from scratchrun.experiments import defaults


@dataclass(frozen=True)
class StudyOptions:
    """The options every study command takes after its own."""

    seeds: int
    jobs: int
    runs_dir: Path
    data_dir: Path | None
    resume: Path | None
    executor: str
    scheduler: str | None
    dry_run: bool


def run_study_command(define: Callable, run: Callable, args: tuple, own: dict, options: StudyOptions) -> None:
    """What every study command does once its options are parsed: `run(*args, **own)` it (the API function), or
    with --dry-run plan what `define(*args, **own)` gives (the definition that function runs), then render."""
    from scratchrun.cli.display.progress import DownloadBar
    from scratchrun.cli.display.study import LiveStudy, print_dry_run, print_summary
    from scratchrun.experiments.dry_run import estimate_study

    observer = LiveStudy(console)
    # SIGTERM stops it like Ctrl-C: the tables are written and it resumes; Ctrl-C while the data loads leaves nothing
    with edge("before the study started; no study folder was made.", close=observer.close):
        if options.dry_run:
            print_dry_run(out, estimate_study(define(*args, **own), options.seeds, options.jobs, options.resume))
            return
        study = run(*args, seeds=options.seeds, jobs=options.jobs, runs_dir=options.runs_dir,
                    data_dir=options.data_dir, resume=options.resume, executor=options.executor,
                    scheduler=options.scheduler, observer=observer, reporter=DownloadBar(console),
                    command=command_line(), **own)
    for note in study.notes:
        console.print(note, highlight=False)
    print_summary(out, study.kind, len(study.results), study.summary)
    out.print(str(study.folder), soft_wrap=True)
    if study.failed:  # not a result: recorded with the others, but the study must not look like a success
        sentence = failures_sentence(len(study.failed), "run", study.folder / study.failed[0]["run_dir"])
        say("error:", "red", f"{sentence} The other runs and the tables are complete.")
        raise typer.Exit(1)


SweepConfig = Annotated[Path, typer.Argument(help="Base YAML config.", show_default=False)]
SweepAxes = Annotated[
    list[str] | None,
    typer.Argument(help="KEY=V1,V2,... per swept key (values parse as YAML); a single value just sets the key.",
                   show_default=False),
]


@app.command("sweep", rich_help_panel=PANEL_STUDIES,
             help="Train the grid of every listed value of every swept key, and compare the variants in one study "
                  "folder.")
def sweep(config: SweepConfig, axes: SweepAxes = None, *, seeds: Seeds = 1, jobs: Jobs = 0,
          runs_dir: RunsDir = Path("runs"), data_dir: DataDir = None, resume: Resume = None,
          executor: Executor = "local", scheduler: Scheduler = None, dry_run: DryRun = False) -> None:
    from scratchrun import api
    from scratchrun.experiments import presets

    options = StudyOptions(seeds, jobs, runs_dir, data_dir, resume, executor, scheduler, dry_run)
    run_study_command(presets.sweep, api.sweep, (config, axes or []), {}, options)


# ----------------------------------------------------------------------------- the chapter-6 studies
Optimizers = Annotated[str, typer.Option("--optimizers", help="Comma-separated optimizer names.")]
Rates = Annotated[list[str] | None, typer.Option("--lr", help="NAME=VALUE: a learning rate other than the "
                                                               "optimizer's default.", show_default=False)]
WeightDecay = Annotated[float, typer.Option("--weight-decay", help="λ of the weight-decay variants.", min=0.0)]
Dropout = Annotated[float, typer.Option("--dropout", help="p of the dropout variants.", min=0.0, max=0.99)]
Scales = Annotated[int, typer.Option("--scales", help="Weight scales from 1 down to 1e-4, log-spaced.", min=1)]
Inits = Annotated[str, typer.Option("--inits", help="Comma-separated inits: std:<value>, xavier, he.")]
Activations = Annotated[str, typer.Option("--activations", help="Activations for the distribution figure.")]


@app.command("compare-optimizers", rich_help_panel=PANEL_STUDIES,
             help="Train the same network with each optimizer on the same minibatches; plot loss, accuracy and the "
                  "toy paths.")
def compare_optimizers(config: StudyConfig = None, overrides: Overrides = None, *,
                       optimizers: Optimizers = ",".join(defaults.ALL_OPTIMIZERS), lr: Rates = None, seeds: Seeds = 1,
                       jobs: Jobs = 0, runs_dir: RunsDir = Path("runs"), data_dir: DataDir = None,
                       resume: Resume = None, executor: Executor = "local", scheduler: Scheduler = None,
                       dry_run: DryRun = False) -> None:
    from scratchrun import api
    from scratchrun.experiments.presets import define_study

    options = StudyOptions(seeds, jobs, runs_dir, data_dir, resume, executor, scheduler, dry_run)
    with edge():
        own = {"optimizers": _names(optimizers), "lr": _rates(lr)}
    run_study_command(define_study, api.study, ("compare-optimizers", *_base(config, overrides)), own, options)


@app.command("overfit-study", rich_help_panel=PANEL_STUDIES,
             help="Overfit a small training set, then narrow the train/validation gap with weight decay, dropout, or "
                  "both.")
def overfit_study(config: StudyConfig = None, overrides: Overrides = None, *,
                  weight_decay: WeightDecay = defaults.DEFAULT_WEIGHT_DECAY,
                  dropout: Dropout = defaults.DEFAULT_DROPOUT,
                  seeds: Seeds = 1, jobs: Jobs = 0, runs_dir: RunsDir = Path("runs"), data_dir: DataDir = None,
                  resume: Resume = None, executor: Executor = "local", scheduler: Scheduler = None,
                  dry_run: DryRun = False) -> None:
    from scratchrun import api
    from scratchrun.experiments.presets import define_study

    options = StudyOptions(seeds, jobs, runs_dir, data_dir, resume, executor, scheduler, dry_run)
    own = {"weight_decay": weight_decay, "dropout": dropout}
    run_study_command(define_study, api.study, ("overfit-study", *_base(config, overrides)), own, options)


@app.command("bn-study", rich_help_panel=PANEL_STUDIES,
             help="Train with and without batch norm at each initial weight scale: where does the plain net stop "
                  "learning?")
def bn_study(config: StudyConfig = None, overrides: Overrides = None, *, scales: Scales = defaults.DEFAULT_SCALES,
             seeds: Seeds = 1, jobs: Jobs = 0, runs_dir: RunsDir = Path("runs"), data_dir: DataDir = None,
             resume: Resume = None, executor: Executor = "local", scheduler: Scheduler = None,
             dry_run: DryRun = False) -> None:
    from scratchrun import api
    from scratchrun.experiments.presets import define_study

    options = StudyOptions(seeds, jobs, runs_dir, data_dir, resume, executor, scheduler, dry_run)
    own = {"scales": scales}
    run_study_command(define_study, api.study, ("bn-study", *_base(config, overrides)), own, options)


@app.command("init-study", rich_help_panel=PANEL_STUDIES,
             help="Activation distributions and first gradients for each init, then MNIST training with each.")
def init_study(config: StudyConfig = None, overrides: Overrides = None, *, inits: Inits = ",".join(defaults.BOOK_INITS),
               activations: Activations = ",".join(defaults.BOOK_ACTIVATIONS), seeds: Seeds = 1, jobs: Jobs = 0,
               runs_dir: RunsDir = Path("runs"), data_dir: DataDir = None, resume: Resume = None,
               executor: Executor = "local", scheduler: Scheduler = None, dry_run: DryRun = False) -> None:
    from scratchrun import api
    from scratchrun.experiments.presets import define_study

    options = StudyOptions(seeds, jobs, runs_dir, data_dir, resume, executor, scheduler, dry_run)
    own = {"inits": _names(inits), "activations": _names(activations)}
    run_study_command(define_study, api.study, ("init-study", *_base(config, overrides)), own, options)


def _base(config: Path | None, overrides: list[str] | None) -> tuple[Path | None, list[str]]:
    """`scratchrun KIND [CONFIG] [KEY=VALUE...]`: with no config file, the first argument may be an override."""
    if config is not None and "=" in str(config) and not config.exists():  # no config given: that was an override
        return None, [str(config), *(overrides or [])]
    return config, overrides or []


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _rates(items: list[str] | None) -> dict[str, float]:
    """`--lr NAME=VALUE ...` as {name: lr}."""
    rates = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            rates[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--lr `{item}` is malformed: write NAME=VALUE, e.g. --lr sgd=0.1.") from None
    return rates
