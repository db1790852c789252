"""The study commands (`sweep`, `compare-optimizers`, ...): each builds variants, then one shared runner trains them."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import EXIT_SIGINT, PANEL_STUDIES, DataDir, DryRun, _fail, app, check_data_dir, console, out
from scratchrun.errors import ConfigError, ScratchrunError

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder that receives the study folder.")]
Seeds = Annotated[int, typer.Option("--seeds", min=1, help="Repeat every variant with this many seeds (the config's seed, +1, ...).")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Runs in parallel, one process and one BLAS thread each; 0 = the number of cores.")]
StudyConfig = Annotated[
    Path | None, typer.Argument(help="Base config (default: the book's setting for this study).", show_default=False)
]
Overrides = Annotated[list[str] | None, typer.Argument(help="KEY=VALUE settings for the base config.", show_default=False)]
Resume = Annotated[
    Path | None,
    typer.Option("--resume", help="A study folder to finish: train only its runs that did not complete.", show_default=False),
]


def run_study(
    kind: str,
    base: dict,
    variants: Sequence,
    seeds: int,
    jobs: int,
    runs_dir: Path,
    data_dir: Path | None,
    figures: Callable[[Path, list], None] | None = None,
    resume: Path | None = None,
    dry_run: bool = False,
) -> Path | None:
    """Expand, check the data, make the study folder, train every run, write the tables and figures.

    With `resume`, the study is the one saved in that folder's study.yaml: completed runs are kept and only
    the others (interrupted, diverged, failed, never started) are trained again, in the same folder.
    """
    from scratchrun.config.loader import config_from_dict
    from scratchrun.experiments.executors.local import preload, run_all
    from scratchrun.experiments.specs import expand
    from scratchrun.experiments.study_folder import (
        finished_results,
        read_study,
        write_readme,
        write_results,
        write_study_yaml,
    )
    from scratchrun.records.writer import create_run_dir, safe_name

    try:
        if resume is not None:
            saved_kind, base, variants, seed_list = read_study(resume)
            if saved_kind != kind:
                raise ConfigError(f"{resume} holds a `{saved_kind}` study, not a `{kind}` one: resume it with the command that made it.")
        else:
            first_seed = config_from_dict(base).seed
            seed_list = [first_seed + i for i in range(seeds)]
        specs = expand(base, variants, seed_list, kind)
        if dry_run:
            kept = finished_results(resume, specs) if resume is not None else {}
            print_dry_run(kind, [spec for spec in specs if spec.index not in kept], jobs)
            return None
        check_data_dir(data_dir)
        for dataset in sorted({spec.config.data.dataset for spec in specs}):  # fetch (or fail) before any folder exists
            preload(dataset, data_dir)
        folder = resume if resume is not None else create_run_dir(runs_dir, kind)
    except ScratchrunError as e:
        _fail(e)
    kept = finished_results(folder, specs) if resume is not None else {}
    if resume is None:
        write_study_yaml(folder, kind, base, variants, seed_list)
    todo = [spec for spec in specs if spec.index not in kept]
    for spec in todo:  # an unfinished run's folder is replaced by its rerun
        shutil.rmtree(folder / safe_name(spec.config.name), ignore_errors=True)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    console.print(f"{kind}: {len(specs)} runs ({len(variants)} variants × {len(seed_list)} seed(s)), {len(kept)} already "
                  f"completed, {len(todo)} to train on {workers} worker(s) → {folder}")
    done = list(kept.values())
    from scratchrun.cli.display.study import StudyDisplay

    display = StudyDisplay(specs, console, f"{kind}: {len(specs)} runs on {workers} worker(s)")
    for result in kept.values():
        display.finish(result)

    def report(result) -> None:
        done.append(result)
        display.finish(result)

    try:
        with display:
            results = [*kept.values(), *run_all(todo, folder, data_dir, workers, report, display.update)]
    except KeyboardInterrupt:
        write_results(folder, specs, done)
        finished = [r for r in done if r.status == "completed"]
        if figures is not None and finished:
            figures(folder, finished)
        console.print(f"[yellow]interrupted:[/] {len(done)} of {len(specs)} runs finished; results so far in {folder}; "
                      f"finish it with --resume {folder}")
        raise typer.Exit(EXIT_SIGINT) from None
    summary = write_results(folder, specs, results)
    if figures is not None:
        figures(folder, results)
    write_readme(folder, kind, " ".join(["scratchrun", *sys.argv[1:]]), summary, len(specs))
    _print_summary(kind, len(specs), summary)
    out.print(str(folder), soft_wrap=True)
    failed = [r for r in results if r.status == "failed"]
    if failed:  # a bug, not a result: recorded with the others, but the study must not look like a success
        console.print(f"[red]error:[/] {len(failed)} run(s) failed with an internal error, e.g. "
                      f"{Path(failed[0].run_dir) / 'error.txt'}; the other runs and the tables are complete.", soft_wrap=True)
        raise typer.Exit(1)
    return folder


def print_dry_run(kind: str, specs: Sequence, jobs: int, evaluate_test: bool = True) -> None:
    """What a study or search would train, each run's estimated time, and the total with `jobs` workers."""
    from rich.table import Table

    from scratchrun.training.estimate import duration, makespan, run_estimate

    workers = max(1, min(jobs or os.cpu_count() or 1, len(specs)))
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


def _base(config: Path | None, overrides: list[str] | None, defaults: dict) -> dict:
    """The study's base config as resolved data: the user's file, else the book's setting, plus overrides."""
    from scratchrun.config.loader import config_from_dict, load_config, to_dict
    from scratchrun.config.overrides import apply_overrides

    if config is not None and "=" in str(config) and not config.exists():  # no config given: that was an override
        config, overrides = None, [str(config), *(overrides or [])]
    try:
        if config is not None:
            return to_dict(load_config(config, overrides or []))
        return to_dict(config_from_dict(apply_overrides(defaults, overrides or []), "<book setting>"))
    except ScratchrunError as e:
        _fail(e)


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
    dry_run: DryRun = False,
) -> None:
    """Train the grid of every listed value of every swept key, and compare the variants in one study folder."""
    from scratchrun.config.loader import load_config, to_dict
    from scratchrun.experiments.specs import grid, parse_axis

    try:
        base_config = load_config(config)
        variants = grid([parse_axis(axis) for axis in axes or []])
    except ScratchrunError as e:
        _fail(e)
    run_study(f"sweep-{base_config.name}", to_dict(base_config), variants, seeds, jobs, runs_dir, data_dir, resume=resume, dry_run=dry_run)


# ----------------------------------------------------------------------------- compare-optimizers (6.1.8)
BOOK_OPTIMIZER_SETTING = {  # 784-100-100-100-100-10, ReLU, He init, batch 128, 2,000 updates on the full training set
    "name": "compare-optimizers",
    "data": {"dataset": "mnist", "val_fraction": 0.1},
    "model": {"hidden": [100, 100, 100, 100], "activation": "relu", "init": "he"},
    "train": {"iterations": 2000, "batch_size": 128, "eval_every": 200},
}
# The book's learning rates for the toy function; Nesterov and RMSProp are ours (the book does not draw them).
TOY_LR = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3, "adam": 0.3}


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
    dry_run: DryRun = False,
) -> None:
    """Train the same network with each optimizer on the same minibatches; plot loss, accuracy and the toy paths."""
    from scratchrun.experiments.specs import Variant
    from scratchrun.nn.optimizers import OPTIMIZERS

    names = [n.strip() for n in optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    rates = {}
    for item in lr or []:
        key, sep, value = item.partition("=")
        try:
            rates[key.strip()] = float(value)
        except ValueError:
            _fail(ConfigError(f"--lr `{item}` is malformed: write NAME=VALUE, e.g. --lr sgd=0.1."))
        if not sep or key.strip() not in names:
            _fail(ConfigError(f"--lr `{item}`: `{key.strip()}` is not one of the compared optimizers ({', '.join(names)})."))
    if unknown or not names:
        _fail(ConfigError(f"--optimizers: `{', '.join(unknown) or optimizers}` is not allowed; allowed: a comma-separated "
                          f"list of {', '.join(OPTIMIZERS)}."))
    variants = [Variant(n, (("optimizer", {"name": n, **({"lr": rates[n]} if n in rates else {})}),)) for n in names]
    base = _base(config, overrides, BOOK_OPTIMIZER_SETTING)

    def figures(folder: Path, results: list) -> None:
        from scratchrun.plots.study import loss_figure, metric_figure, toy_paths

        loss_figure(folder / "loss.png", results, "minibatch loss by optimizer (same network, same minibatches)")
        metric_figure(folder / "accuracy.png", results, "val_acc", "validation accuracy by optimizer", "validation accuracy")
        toy_paths(folder / "paths.png", {n: OPTIMIZERS[n](lr=TOY_LR[n]) for n in names})

    run_study("compare-optimizers", base, variants, seeds, jobs, runs_dir, data_dir, figures, resume=resume, dry_run=dry_run)


# ----------------------------------------------------------------------------- overfit-study (6.4)
BOOK_OVERFIT_SETTING = {  # the first 300 training images, 784-(100x6)-10 ReLU, He init, SGD lr 0.01, batch 100
    "name": "overfit-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1, "train_size": 300},
    "model": {"hidden": [100] * 6, "activation": "relu", "init": "he"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"epochs": 200, "batch_size": 100},
}


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
    dry_run: DryRun = False,
) -> None:
    """Overfit a small training set, then narrow the train/validation gap with weight decay, dropout, or both."""
    from scratchrun.experiments.specs import Variant

    variants = [
        Variant("none", (("model.weight_decay", 0.0), ("model.dropout", 0.0))),
        Variant("weight-decay", (("model.weight_decay", weight_decay), ("model.dropout", 0.0))),
        Variant("dropout", (("model.weight_decay", 0.0), ("model.dropout", dropout))),
        Variant("both", (("model.weight_decay", weight_decay), ("model.dropout", dropout))),
    ]
    base = _base(config, overrides, BOOK_OVERFIT_SETTING)

    def figures(folder: Path, results: list) -> None:
        from scratchrun.plots.study import panels_figure

        groups = [(v.name, [(v.name, "")]) for v in variants]
        panels_figure(folder / "overfit.png", results, groups, [("train_acc", "-"), ("val_acc", "--")],
                      "train (solid) and validation (dashed) accuracy per epoch", cols=2)

    run_study("overfit-study", base, variants, seeds, jobs, runs_dir, data_dir, figures, resume=resume, dry_run=dry_run)


# ----------------------------------------------------------------------------- bn-study (6.3.2)
BOOK_BN_SETTING = {  # the first 1,000 training images, 784-(100x5)-10 ReLU, SGD lr 0.01, batch 100, 20 epochs
    "name": "bn-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1, "train_size": 1000},
    "model": {"hidden": [100] * 5, "activation": "relu", "init": "std"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"epochs": 20, "batch_size": 100},
}


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
    dry_run: DryRun = False,
) -> None:
    """Train with and without batch norm at each initial weight scale: where does the plain net stop learning?"""
    import numpy as np

    from scratchrun.experiments.specs import Variant

    stds = [float(f"{s:.3g}") for s in np.logspace(0, -4, scales)]
    variants = [
        Variant(f"{'bn' if bn else 'plain'}-{std:g}", (("model.init", "std"), ("model.init_std", std), ("model.batch_norm", bn)))
        for std in stds for bn in (True, False)
    ]
    base = _base(config, overrides, BOOK_BN_SETTING)

    def figures(folder: Path, results: list) -> None:
        from scratchrun.plots.study import panels_figure

        groups = [(f"weight std {std:g}", [(f"bn-{std:g}", "batch norm"), (f"plain-{std:g}", "plain")]) for std in stds]
        panels_figure(folder / "bn.png", results, groups, [("train_acc", "-")],
                      "training accuracy per epoch, with and without batch norm", cols=4)

    run_study("bn-study", base, variants, seeds, jobs, runs_dir, data_dir, figures, resume=resume, dry_run=dry_run)


# ----------------------------------------------------------------------------- init-study (6.2)
BOOK_INIT_SETTING = {  # 6.2.4: the 5-layer ReLU net, SGD lr 0.01, batch 128, 2,000 updates
    "name": "init-study",
    "data": {"dataset": "mnist", "val_fraction": 0.1},
    "model": {"hidden": [100, 100, 100, 100], "activation": "relu"},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "train": {"iterations": 2000, "batch_size": 128, "eval_every": 200},
}


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
    dry_run: DryRun = False,
) -> None:
    """Activation distributions and first gradients for each init, then MNIST training with each."""
    import numpy as np

    from scratchrun.experiments.initial_weights import activation_layers, activation_stats, gradient_norms, parse_init
    from scratchrun.experiments.specs import Variant
    from scratchrun.nn.layers import ACTIVATIONS

    init_names = [t.strip() for t in inits.split(",") if t.strip()]
    act_names = [t.strip() for t in activations.split(",") if t.strip()]
    try:
        parsed = {name: parse_init(name) for name in init_names}
    except ValueError as e:
        _fail(ConfigError(f"--inits: `{e}` is not allowed; allowed: std:<positive number>, xavier, he."))
    if not init_names or any(a not in ACTIVATIONS for a in act_names) or not act_names:
        _fail(ConfigError(f"--activations `{activations}` is not allowed; allowed: a comma-separated list of {', '.join(ACTIVATIONS)}."))
    base = _base(config, overrides, BOOK_INIT_SETTING)
    variants = [Variant(name, (("model.init", init), ("model.init_std", std))) for name, (init, std) in parsed.items()]

    def figures(folder: Path, results: list) -> None:
        from scratchrun.config.loader import config_from_dict
        from scratchrun.experiments.executors.local import preload
        from scratchrun.experiments.study_folder import write_csv
        from scratchrun.plots.study import activation_histograms, gradient_figure, loss_figure

        loss_figure(folder / "loss.png", results, f"minibatch loss by initial weights ({base['model']['activation']})")
        seed = base["seed"]
        grid, rows = [], []
        for name, (init, std) in parsed.items():
            for act in act_names:
                outputs = activation_layers(init, std, act, np.random.default_rng(seed))
                grid.append((f"{name}\n{act}", outputs))
                rows += [{"init": name, "activation": act, **row} for row in activation_stats(outputs, act)]
        activation_histograms(folder / "activations.png", grid)
        write_csv(folder / "activations.csv", rows, ["init", "activation", "layer", "mean", "std", "saturated", "dead_units"])
        for row in rows:
            notes = [f"saturated {row['saturated']:.0%}" if row["saturated"] is not None else "",
                     f"dead units {row['dead_units']:.0%}" if row["dead_units"] is not None else ""]
            if row["layer"] == 5:
                console.print(f"  {row['init']:>9} {row['activation']:>7} layer 5: mean {row['mean']:.3f}, std {row['std']:.3f} "
                              + " ".join(n for n in notes if n))
        first = config_from_dict(base)
        raw = preload(first.data.dataset, data_dir)  # already loaded by the runner
        x = (raw.train_images[:128].reshape(128, -1) / np.float32(255)).astype(np.float32)
        y = raw.train_labels[:128].astype(np.intp)
        norms = {}
        for name, (init, std) in parsed.items():
            model_config = config_from_dict({**base, "model": {**base["model"], "init": init, "init_std": std}}).model
            norms[name] = gradient_norms(model_config, x, y, seed)
        gradient_figure(folder / "gradients.png", norms, base["model"]["activation"])

    run_study("init-study", base, variants, seeds, jobs, runs_dir, data_dir, figures, resume=resume, dry_run=dry_run)
