"""`scratchrun search`: rounds of random trials scored on the validation set, pruned, narrowed, resumable."""

from __future__ import annotations

import difflib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import (
    PANEL_SEARCH,
    DataDir,
    DryRun,
    _fail,
    _interrupt_exit_code,
    _on_sigterm,
    app,
    check_data_dir,
    console,
    out,
)
from scratchrun.cli.studies import Jobs, Overrides, RunsDir
from scratchrun.errors import ConfigError, ScratchrunError

EXECUTORS = ("local", "dask")


@app.command(rich_help_panel=PANEL_SEARCH)
def search(
    config: Annotated[Path, typer.Argument(help="A config with a search: section.", show_default=False)],
    overrides: Overrides = None,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="Trials per round (default: the config's).", show_default=False)] = None,
    jobs: Jobs = 0,
    executor: Annotated[str, typer.Option("--executor", help="local (worker processes here) or dask (a Dask cluster).")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="A Dask scheduler's address, e.g. tcp://host:8786 (default with --executor dask: a LocalCluster of --jobs workers).", show_default=False)] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the search in this folder: finished trials are kept.", show_default=False)] = None,
    final_test: Annotated[bool, typer.Option("--final-test", help="Retrain the best config on training + validation data and score the test set, once.")] = False,
    max_failures: Annotated[int | None, typer.Option("--max-failures", min=1, help="Stop the search once this many trials have diverged or failed.", show_default=False)] = None,
    runs_dir: RunsDir = Path("runs"),
    data_dir: DataDir = None,
    dry_run: DryRun = False,
) -> None:
    """Random search (chapter 6.5): sample every range, train briefly, score on the validation set, narrow, repeat."""
    import yaml

    from scratchrun.cli.display.search import SearchDisplay
    from scratchrun.config.search import load_search, search_section_data
    from scratchrun.experiments.executors.local import preload
    from scratchrun.experiments.search import SearchRun, TooManyFailures
    from scratchrun.records.writer import create_run_dir

    try:
        plan, base_config, base = load_search(config, overrides or [], trials)
        if executor not in EXECUTORS:
            raise ConfigError(f"--executor `{executor}` is not allowed; allowed: {', '.join(EXECUTORS)}.")
        if scheduler is not None and executor != "dask":
            raise ConfigError("--scheduler is for --executor dask; add --executor dask or leave out --scheduler.")
        saved = {"search": search_section_data(plan), "base": base}
        if resume is not None:
            _check_resumable(resume, saved)
        if dry_run:
            _dry_run(SearchRun(resume, plan, base, base_config.seed, str(config), read_only=True), jobs or os.cpu_count() or 1)
            return
        check_data_dir(data_dir)
        if executor == "local" or final_test:
            preload(base_config.data.dataset, data_dir)  # fetch (or fail) before any folder exists
        folder = resume if resume is not None else create_run_dir(runs_dir, f"search-{base_config.name}")
    except ScratchrunError as e:
        _fail(e)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/] before the search started; no search folder was made.")
        raise typer.Exit(130) from None
    if resume is None:
        (folder / "search.yaml").write_text(yaml.safe_dump(saved, sort_keys=False), encoding="utf-8")
    workers = jobs or os.cpu_count() or 1
    display = SearchDisplay([d.key for d in plan.space], plan.metric, plan.rounds, console,
                            f"search {base_config.name}: {plan.trials} trials × {plan.rounds} round(s), {executor} executor, "
                            f"{workers} worker(s)")
    run = SearchRun(folder, plan, base, base_config.seed, str(config), data_dir, workers, executor, scheduler,
                    max_failures, display, on_narrow=_print_narrowing)
    if run.journal:
        console.print(f"resuming {folder}: {len(run.journal)} finished trial run(s) kept")
    previous = signal.signal(signal.SIGTERM, _on_sigterm)  # SIGTERM stops it like Ctrl-C: recorded, resumable
    try:
        with display:
            run.run()
    except KeyboardInterrupt:
        _write_search(run, None)
        console.print(f"[yellow]interrupted:[/] {_counts(run)}; finish it with: scratchrun search {config} --resume {folder}")
        raise typer.Exit(_interrupt_exit_code()) from None
    except TooManyFailures as e:
        _write_search(run, None)
        _fail(e)
    except ScratchrunError as e:  # e.g. a Dask scheduler that cannot be reached
        _write_search(run, None)
        _fail(e)
    finally:
        signal.signal(signal.SIGTERM, previous)
    best_config = run.best_config()
    final = _final_test(run, best_config, data_dir) if final_test and best_config is not None else None
    _write_search(run, best_config, final)
    best = run.best_row()
    if best is not None:
        values = ", ".join(f"{k} = {_fmt(best[k])}" for k in run.keys)
        out.print(f"best: trial {best['trial']}, {plan.metric} {best[plan.metric]:.4f}: {values} ({_counts(run)})", soft_wrap=True)
    else:
        console.print(f"[yellow]no trial completed[/] ({_counts(run)}); see trials.csv")
    if final is not None:
        out.print(f"final test (trained on {final['train_samples']} training + validation images, scored once): "
                  f"test_acc {final['test_acc']:.4f}, test_loss {final['test_loss']:.4f}", soft_wrap=True)
    out.print(str(folder), soft_wrap=True)
    failed = [row for row in run.rows.values() if row["status"] == "failed"]
    if failed:  # the search went on without them, as it should; but a bug must not pass unseen
        console.print(f"[yellow]note:[/] {len(failed)} trial(s) failed with an internal error; see "
                      f"{folder / failed[0]['run_dir'] / 'error.txt'}", soft_wrap=True)


def _dry_run(run, workers: int) -> None:
    """Round 1's trials with their values, and the search's estimated time (later rounds cost like the first)."""
    from rich.table import Table

    from scratchrun.training.estimate import duration, makespan, run_estimate

    plan, trials = run.plan, range(run.plan.trials)
    table = Table(title=f"round 1 of {plan.rounds}: {plan.trials} trials (later rounds sample narrowed ranges)",
                  title_justify="left")
    for column in ("trial", *run.keys, "estimated"):
        table.add_column(column, justify="right")
    values = {t: run.values(t, plan.space) for t in trials}
    specs = [run.spec(t, values[t]) for t in trials]
    for spec in specs:
        done = " (finished)" if (spec.index, None) in run.journal else ""
        table.add_row(str(spec.index), *(_fmt(v) for v in values[spec.index].values()), duration(run_estimate(spec.config, evaluate_test=False).seconds) + done)
    out.print(table)
    alive, seconds = list(specs), 0.0
    for epochs in run.rungs:  # successive halving: every rung retrains its trials from the start
        stop = None if epochs == run.rungs[-1] else epochs
        costs = [run_estimate(spec.config, stop, evaluate_test=False).seconds for spec in alive]
        seconds += makespan(costs, workers)
        alive = alive[: max(1, len(alive) // plan.prune.eta)] if plan.prune else alive
    rungs = f", rungs at {', '.join(map(str, run.rungs))} epochs" if plan.prune else ""
    out.print(f"dry run: {plan.trials} trials × {plan.rounds} round(s){rungs}; estimated "
              f"{duration(seconds * plan.rounds)} on this machine with {workers} worker(s) (speed measured just now, one "
              "BLAS thread per trial); nothing was written.", soft_wrap=True)


def _check_resumable(folder: Path, saved: dict) -> None:
    """A search resumes only with the same search section and base config; otherwise show what differs."""
    import yaml

    path = folder / "search.yaml"
    if not path.is_file():
        raise ConfigError(f"--resume {folder}: there is no search.yaml in it; give a folder made by scratchrun search.")
    try:
        before = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"--resume {folder}: search.yaml cannot be read ({e}).") from None
    if before != saved:
        old = yaml.safe_dump(before, sort_keys=False).splitlines()
        new = yaml.safe_dump(saved, sort_keys=False).splitlines()
        diff = "\n".join(difflib.unified_diff(old, new, f"{path} (the search so far)", "this command", lineterm="", n=1))
        raise ConfigError(f"--resume {folder}: the search section or base config differs from the one it was started "
                          f"with, so its trials would not be comparable; run it with the same config, or start a new "
                          f"search.\n{diff}")


def _final_test(run, best_config, data_dir: Path | None) -> dict:
    """The best config retrained with the validation images given back to training, scored once on the test set."""
    from dataclasses import replace

    from scratchrun.cli.display.progress import TrainingProgress
    from scratchrun.experiments.executors.local import preload
    from scratchrun.training.run import run_experiment

    config = replace(best_config, name="final", data=replace(best_config.data, train_on_val=True))
    raw = preload(config.data.dataset, data_dir)
    console.print(f"final run: the best config on training + validation images, then the test set ({run.folder / 'final'})")
    progress = TrainingProgress(console)
    with progress:
        outcome = run_experiment(config, raw, run.folder, [progress], stamp=False)
    final = outcome.summary.get("final") or {}
    return {"run_dir": outcome.run_dir.name, "status": outcome.status, "train_samples": outcome.summary.get("train_samples"),
            "test_acc": final.get("test_acc"), "test_loss": final.get("test_loss")}


def _write_search(run, best_config, final: dict | None = None) -> None:
    """trials.csv, ranges.csv, search.json, best.yaml and the figures, from whatever has finished."""
    from scratchrun.config.loader import dump_yaml
    from scratchrun.experiments.sampling import best_trials
    from scratchrun.experiments.study_folder import write_csv
    from scratchrun.plots.study import search_figure, top_figure
    from scratchrun.records.writer import write_json_atomic

    rows, plan = run.sorted_rows(), run.plan
    write_csv(run.folder / "trials.csv", rows, ["trial", "round", *run.keys, "status", plan.metric, "epochs", "seconds", "run_dir"])
    write_csv(run.folder / "ranges.csv", run.ranges, ["round", *run.keys])
    if best_config is not None:
        (run.folder / "best.yaml").write_text(dump_yaml(best_config), encoding="utf-8")
    best = run.best_row()
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    write_json_atomic(run.folder / "search.json", {
        "command": " ".join(["scratchrun", *sys.argv[1:]]),
        "metric": plan.metric,
        "trials": statuses,
        "best": None if best is None else {"trial": best["trial"], plan.metric: best[plan.metric],
                                           **{k: best[k] for k in run.keys}, "run_dir": best["run_dir"]},
        "final_test": final,  # apart from the search's scores: the only place the test set was read
    })
    if rows:
        search_figure(run.folder / "search.png", rows, plan)
        top_figure(run.folder / "top.png", run.folder, best_trials(rows, plan.metric, 20), plan.metric)


def _print_narrowing(old: dict, new: dict) -> None:
    console.print("narrowed to the best trials' span: " + "; ".join(f"{k} {old[k]} → {new[k]}" for k in new), soft_wrap=True)


def _counts(run) -> str:
    statuses = {}
    for row in run.rows.values():
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "no trial finished"


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
