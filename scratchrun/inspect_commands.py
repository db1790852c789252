"""`scratchrun show` and `scratchrun reproduce`: one run looked at closely, or run again and checked (issue 6)."""

from __future__ import annotations

import math
import re
import signal
from pathlib import Path
from typing import Annotated

import typer

from .cli import EXIT_SIGINT, DataDir, _fail, _interrupt_exit_code, _on_sigterm, app, check_data_dir, console, out
from .errors import ConfigError, ScratchrunError

RunArg = Annotated[
    str,
    typer.Argument(help="A run folder, or the name or a unique prefix of one inside --runs-dir (also inside its "
                        "study and search folders).", show_default=False),
]
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_")
_GROUP_FILES = ("study.yaml", "search.yaml", "search.json")  # what makes a folder a study or a search
_LISTED = 10  # names shown in an error before "and N more"


@app.command()
def show(
    run: RunArg,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder in which RUN is looked up by name.")] = Path("runs"),
) -> None:
    """Show one run: its summary, its config, and its training loss and validation accuracy drawn in the terminal."""
    from .reproduce import read_metrics, read_steps, read_summary
    from .text_chart import line_chart

    try:
        folder = _resolve_run(run, runs_dir)
        summary = read_summary(folder) if (folder / "summary.json").exists() else {}
        steps, metrics = read_steps(folder), read_metrics(folder)
        config = folder / "config.yaml"
        config_text = config.read_text(encoding="utf-8") if config.is_file() else "(no config.yaml)\n"
    except (OSError, UnicodeDecodeError) as e:
        _fail(ScratchrunError(f"{folder / 'config.yaml'} cannot be read ({e})."))
    except ScratchrunError as e:
        _fail(e)
    for line in _summary_lines(folder, summary, metrics):
        out.print(line, markup=False, soft_wrap=True)
    out.print("\nconfig (config.yaml):", markup=False)
    out.print(config_text.rstrip("\n"), markup=False, soft_wrap=True)
    per_column = math.ceil(len(steps) / 120)  # the chart is 60 characters of 2 dot columns each
    averaged = f", mean of {per_column} per column" if per_column > 1 else ""
    out.print(f"\ntraining loss per update ({len(steps):,} updates{averaged}):", markup=False)
    out.print(line_chart(steps[:, 2], steps[:, 0], 60, 12, x_label="iteration"), markup=False, soft_wrap=True)
    evaluated = [row for row in metrics if row.get("val_acc")]
    if evaluated:
        out.print(f"\nvalidation accuracy per evaluation ({len(evaluated)}):", markup=False)
        chart = line_chart([float(r["val_acc"]) for r in evaluated], [float(r["epoch"]) for r in evaluated], 60, 6, "epoch")
        out.print(chart, markup=False, soft_wrap=True)
    curves = folder / "curves.png"
    out.print(f"\ncurves: {curves}" + ("" if curves.is_file() else " (not written yet)"), markup=False, soft_wrap=True)


@app.command()
def reproduce(
    run: RunArg,
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", help="Folder in which RUN is looked up by name (default: runs), and which receives "
                                        "the rerun of a study's or search's run; any other run is rerun next to itself.",
                     show_default=False),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Train a run's saved config again into a new run folder and check that every loss and evaluation is identical.

    Exit code 0 when they all match, 1 when one differs (the first difference and what changed in the environment
    are named).
    """
    from .config import load_config
    from .datasets import load_raw
    from .experiment import prepare_data, run_experiment
    from .reproduce import compare_runs, read_summary
    from .runs import check_runs_dir
    from .terminal import DownloadBar, TrainingProgress

    try:
        original = _resolve_run(run, runs_dir or Path("runs"))
        summary = read_summary(original)
        cfg = load_config(original / "config.yaml")
        evaluate_test = summary.get("test_samples") != 0  # 0: a search trial, which never looks at the test set
        stop_epochs = _pruned_epochs(summary) if summary.get("status") == "pruned" else None
        destination = check_runs_dir(_rerun_destination(original, runs_dir))
        check_data_dir(data_dir)
        raw = load_raw(cfg.data.dataset, data_dir, reporter=DownloadBar(console))
        data = prepare_data(cfg, raw, with_test=evaluate_test)
    except ScratchrunError as e:
        _fail(e)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/] before training started; no run folder was made.")
        raise typer.Exit(EXIT_SIGINT) from None
    settings = [f"seed {cfg.seed}"] + ([] if evaluate_test else ["no test set, like the original"])
    settings += [f"stopped after {stop_epochs} epochs, like the original"] if stop_epochs else []
    console.print(f"reproducing {original} ({', '.join(settings)}) into {destination}", soft_wrap=True, markup=False)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    progress = TrainingProgress(console)
    try:
        with progress:
            outcome = run_experiment(cfg, None, destination, [progress], data=data, evaluate_test=evaluate_test,
                                     stop_epochs=stop_epochs)
    except ScratchrunError as e:
        _fail(e)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/] while writing the rerun's records.")
        raise typer.Exit(_interrupt_exit_code()) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.print(str(outcome.run_dir), soft_wrap=True, markup=False)
    if outcome.status == "interrupted":
        console.print(f"[yellow]interrupted:[/] {outcome.summary.get('message')}; nothing was compared.")
        raise typer.Exit(_interrupt_exit_code())
    try:
        comparison = compare_runs(original, outcome.run_dir)
    except ScratchrunError as e:
        _fail(e)
    out.print(comparison.report(), soft_wrap=True, markup=False)
    if not comparison.matches:
        raise typer.Exit(1)


def _resolve_run(text: str, runs_dir: Path) -> Path:
    """RUN as a run folder: an existing run folder's path, else a name or unique prefix of a run in the runs folder."""
    given = Path(text)
    if _is_run_folder(given):
        return given
    runs = _runs_in(runs_dir) if runs_dir.is_dir() else []
    names = {run: run.relative_to(runs_dir).as_posix() for run in runs}
    matches = [run for run, name in names.items() if text in (name, run.name)]
    if not matches:
        matches = [run for run, name in names.items()
                   if any(key.startswith(text) for key in (name, run.name, _STAMP.sub("", run.name)))]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"`{text}` matches {len(matches)} runs in {runs_dir}: {_listing([names[r] for r in matches])}; "
                          "give more of the name.")
    if given.is_dir():
        inside = _listing([run.as_posix() for run in _runs_in(given)]) if _readable(given) else ""
        raise ConfigError(f"{given} is not a run folder (it has no summary.json or config.yaml)"
                          + (f"; the runs inside it are {inside}." if inside else "."))
    if not runs_dir.is_dir():
        raise ConfigError(f"There is no run folder {text}, and the runs folder {runs_dir} does not exist: give a run "
                          "folder's path, or --runs-dir with the folder that holds your runs.")
    latest = f"; the latest are {_listing(list(names.values())[-_LISTED:])}" if names else "; it holds no runs"
    raise ConfigError(f"No run named `{text}` in {runs_dir}: give a run folder's path, or the name or a unique prefix "
                      f"of one of its runs{latest}.")


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "summary.json").is_file() or (path / "config.yaml").is_file())


def _readable(path: Path) -> bool:
    try:
        next(path.iterdir(), None)
        return True
    except OSError:
        return False


def _runs_in(runs_dir: Path) -> list[Path]:
    """The run folders in the runs folder and one level down in its study and search folders, in name (time) order.

    A symbolic link that leads out of the runs folder is not followed: a name never resolves outside it.
    """
    root = runs_dir.resolve()
    inside = lambda path: path.resolve().is_relative_to(root)
    try:
        found = []
        for entry in sorted(runs_dir.iterdir()):
            if not entry.is_dir() or not inside(entry):
                continue
            if _is_run_folder(entry):
                found.append(entry)
            else:
                found.extend(child for child in sorted(entry.iterdir()) if _is_run_folder(child) and inside(child))
        return found
    except OSError as e:
        raise ScratchrunError(f"The runs folder {runs_dir} cannot be read ({e.strerror}).") from None


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _rerun_destination(original: Path, runs_dir: Path | None) -> Path:
    """Next to the original, unless the original lives in a study or search folder: then the runs folder."""
    parent = original.resolve().parent
    in_group = any((parent / name).is_file() for name in _GROUP_FILES)
    if runs_dir is not None or in_group:
        return runs_dir or Path("runs")
    return original.parent


def _pruned_epochs(summary: dict) -> int:
    """How many epochs a run stopped early for successive halving trained: its rerun stops at the same point."""
    epochs = summary.get("epochs")
    if isinstance(epochs, (int, float)) and float(epochs).is_integer() and epochs > 0:
        return int(epochs)
    found = re.search(r"stopped after (\d+) epochs", summary.get("message") or "")
    if found:
        return int(found.group(1))
    raise ScratchrunError("The run was pruned but its summary.json records neither its epochs nor a "
                          "'stopped after N epochs' message, so its rerun would not stop at the same point.")


def _summary_lines(folder: Path, summary: dict, metrics: list[dict]) -> list[str]:
    """The run's outcome, metrics, speed and environment, one fact per line."""
    status = summary.get("status", "(no summary.json)")
    if status == "running":
        status += " (still training, or stopped without closing its record)"
    lines = [f"run      {folder}", f"status   {status}"]
    if summary.get("message"):
        lines.append(f"message  {summary['message']}")
    final, label = summary.get("final"), "final"
    if final is None and metrics:  # an unfinished run: its last evaluation so far
        final, label = {k: _number(v) for k, v in metrics[-1].items()}, "last evaluation"
    lines.append(f"{label:<8} {'loss':>10} {'accuracy':>10} {'images':>8}")
    for split in ("train", "val", "test"):
        loss, acc, images = (final or {}).get(f"{split}_loss"), (final or {}).get(f"{split}_acc"), summary.get(f"{split}_samples")
        lines.append(f"  {split:<6} {_format(loss, '.4f'):>10} {_format(acc, '.2%'):>10} {_format(images, ',d'):>8}")
    if summary.get("best_val_acc") is not None:
        lines.append(f"best     val acc {summary['best_val_acc']:.2%} at epoch {summary.get('best_epoch')}")
    if summary.get("iterations") is not None:
        speed = f", {summary['samples_per_s']:,.0f} samples/s" if summary.get("samples_per_s") else ""
        lines.append(f"trained  {summary.get('epochs')} epochs, {summary['iterations']:,} iterations in "
                     f"{_format(summary.get('wall_time_s'), '.1f')} s{speed}")
    lines.append(f"seed     {summary.get('seed', '-')}, started {summary.get('started', '-')}")
    versions = summary.get("versions") or {}
    if versions:
        lines.append("versions " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    if "blas" in summary:
        lines.append(f"BLAS     {summary['blas'] or '-'}")
    if "git_commit" in summary:
        lines.append(f"git      {summary['git_commit'] or '-'}")
    return lines


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _format(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)
