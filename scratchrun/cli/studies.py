"""The study commands: `sweep`, and the chapter-6 studies declared as a table of their own options.

Each command parses its options, asks the library for the study's definition (experiments/presets.py), runs or
plans it with `run_study`, and renders the outcome; the options every study shares are added by `study_command`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

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


@dataclass(frozen=True)
class StudyOptions:
    """The options every study command takes after its own (see `study_command`)."""

    seeds: int
    jobs: int
    runs_dir: Path
    data_dir: Path | None
    resume: Path | None
    executor: str
    scheduler: str | None
    dry_run: bool


COMMON_OPTIONS = {  # name: (annotation, default), in the order `--help` lists them
    "seeds": (Seeds, 1), "jobs": (Jobs, 0), "runs_dir": (RunsDir, Path("runs")), "data_dir": (DataDir, None),
    "resume": (Resume, None), "executor": (Executor, "local"), "scheduler": (Scheduler, None), "dry_run": (DryRun, False),
}


def study_command(name: str, own: list[inspect.Parameter], help_text: str) -> Callable:
    """Register `run(options, **own values)` as a study command: its own parameters, then the common options."""
    common = [inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for key, (annotation, default) in COMMON_OPTIONS.items()]

    def register(run: Callable) -> Callable:
        @functools.wraps(run)
        def command(**values):
            options = StudyOptions(**{key: values.pop(key) for key in COMMON_OPTIONS})
            run(options, **values)

        del command.__wrapped__  # Typer must read the signature below, not run's
        command.__signature__ = inspect.Signature([*own, *common])
        command.__annotations__ = {p.name: p.annotation for p in [*own, *common]}
        return app.command(name, help=help_text, rich_help_panel=PANEL_STUDIES)(command)

    return register


def run_study_command(define: Callable, options: StudyOptions) -> None:
    """What every study command does once its options are parsed: `define()` the study, then run or plan it."""
    from scratchrun.cli.display.progress import DownloadBar
    from scratchrun.cli.display.study import LiveStudy, print_dry_run, print_summary
    from scratchrun.experiments.dry_run import estimate_study
    from scratchrun.experiments.study import run_study

    observer = LiveStudy(console)
    # SIGTERM stops it like Ctrl-C: the tables are written and it resumes; Ctrl-C while the data loads leaves nothing
    with edge("before the study started; no study folder was made.", close=observer.close):
        definition = define()
        if options.dry_run:
            print_dry_run(out, estimate_study(definition, options.seeds, options.jobs, options.resume))
            return
        outcome = run_study(definition, seeds=options.seeds, jobs=options.jobs, runs_dir=options.runs_dir,
                            data_dir=options.data_dir, resume=options.resume, executor=options.executor,
                            scheduler=options.scheduler, observer=observer, command=command_line(),
                            reporter=DownloadBar(console))
    for note in outcome.notes:
        console.print(note, highlight=False)
    print_summary(out, outcome.kind, len(outcome.specs), outcome.summary)
    out.print(str(outcome.folder), soft_wrap=True)
    if outcome.failed:  # not a result: recorded with the others, but the study must not look like a success
        sentence = failures_sentence(len(outcome.failed), "run", Path(outcome.failed[0].run_dir))
        say("error:", "red", f"{sentence} The other runs and the tables are complete.")
        raise typer.Exit(1)


def _parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


SweepConfig = Annotated[Path, typer.Argument(help="Base YAML config.", show_default=False)]
SweepAxes = Annotated[
    list[str] | None,
    typer.Argument(help="KEY=V1,V2,... per swept key (values parse as YAML); a single value just sets the key.",
                   show_default=False),
]


@study_command("sweep", [_parameter("config", SweepConfig), _parameter("axes", SweepAxes, None)],
               "Train the grid of every listed value of every swept key, and compare the variants in one study folder.")
def sweep(options: StudyOptions, config: Path, axes: list[str] | None) -> None:
    from scratchrun.experiments import presets

    run_study_command(lambda: presets.sweep(config, axes or []), options)


# ----------------------------------------------------------------------------- the chapter-6 studies
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


def _option(flag: str, kind: Any, default: Any, help_text: str, **limits: Any) -> tuple[Any, Any]:
    return Annotated[kind, typer.Option(flag, help=help_text, show_default=default is not None, **limits)], default


BOOK_STUDIES: dict[str, tuple[str, dict[str, tuple[Any, Any]], Callable[..., dict]]] = {
    # command: (its help, its own options, what the library's study takes from them and the common options)
    "compare-optimizers": (
        "Train the same network with each optimizer on the same minibatches; plot loss, accuracy and the toy paths.",
        {"optimizers": _option("--optimizers", str, "sgd,momentum,nesterov,adagrad,rmsprop,adam",
                               "Comma-separated optimizer names."),
         "lr": _option("--lr", list[str] | None, None, "NAME=VALUE: a learning rate other than the optimizer's default.")},
        lambda options, optimizers, lr: {"optimizers": _names(optimizers), "lr": _rates(lr)},
    ),
    "overfit-study": (
        "Overfit a small training set, then narrow the train/validation gap with weight decay, dropout, or both.",
        {"weight_decay": _option("--weight-decay", float, 0.1, "λ of the weight-decay variants.", min=0.0),
         "dropout": _option("--dropout", float, 0.2, "p of the dropout variants.", min=0.0, max=0.99)},
        lambda options, **own: own,
    ),
    "bn-study": (
        "Train with and without batch norm at each initial weight scale: where does the plain net stop learning?",
        {"scales": _option("--scales", int, 16, "Weight scales from 1 down to 1e-4, log-spaced.", min=1)},
        lambda options, **own: own,
    ),
    "init-study": (
        "Activation distributions and first gradients for each init, then MNIST training with each.",
        {"inits": _option("--inits", str, "std:1,std:0.01,xavier,he", "Comma-separated inits: std:<value>, xavier, he."),
         "activations": _option("--activations", str, "sigmoid,tanh,relu", "Activations for the distribution figure.")},
        lambda options, inits, activations: {"inits": _names(inits), "activations": _names(activations),
                                             "data_dir": options.data_dir},
    ),
}


def _register_book_study(kind: str, help_text: str, own: dict[str, tuple[Any, Any]], convert: Callable) -> None:
    """`scratchrun KIND [CONFIG] [KEY=VALUE...] [its own options] [the common options]`."""
    parameters = [_parameter("config", StudyConfig, None), _parameter("overrides", Overrides, None),
                  *(_parameter(name, annotation, default) for name, (annotation, default) in own.items())]

    @study_command(kind, parameters, help_text)
    def run(options: StudyOptions, config: Path | None, overrides: list[str] | None, **values: Any) -> None:
        from scratchrun.experiments.presets import define_study

        if config is not None and "=" in str(config) and not config.exists():  # no config given: that was an override
            config, overrides = None, [str(config), *(overrides or [])]
        with edge():
            study_options = convert(options, **values)
        run_study_command(lambda: define_study(kind, config, overrides or [], **study_options), options)


for _kind, (_help, _own, _convert) in BOOK_STUDIES.items():
    _register_book_study(_kind, _help, _own, _convert)
