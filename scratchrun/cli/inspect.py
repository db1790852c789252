"""`scratchrun show` and `scratchrun reproduce`: one run looked at closely, or run again and checked."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli import common
from scratchrun.cli.common import PANEL_RUNS, DataDir, RunsDir, app, console, edge, out, say
from scratchrun.errors import ScratchrunError

RunArg = Annotated[
    str,
    typer.Argument(help="A run folder, or the name or a unique prefix of one inside --runs-dir (also inside its "
                        "study and search folders).", show_default=False),
]


@app.command(rich_help_panel=PANEL_RUNS)
def show(
    run: RunArg,
    runs_dir: RunsDir = Path("runs"),
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Redraw as the run writes, until it ends or goes stale "
                                                               "(Ctrl-C stops following; the run goes on).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.05, max=3600, help="Seconds between redraws with "
                                                                                   "--follow.")] = 1.0,
) -> None:
    """Show one run: its summary, its config, and its training loss and validation accuracy drawn in the terminal."""
    from scratchrun.plots.run import curves_line
    from scratchrun.records.index import resolve

    with edge():
        folder = resolve(run, runs_dir, runs_only=True)
    if follow:
        _follow(folder, interval)
    view = _read_view(folder)
    out.print(_render(folder, view, with_config=True), soft_wrap=True)
    out.print(f"\ncurves: {curves_line(folder, view.summary.get('status'))}", soft_wrap=True)


@dataclass
class _View:
    summary: dict
    problem: str | None
    steps: object  # (N, 3) array: iteration, epoch, loss
    metrics: list[dict]
    config_text: str
    silent_s: float = 0.0  # since the folder last changed

    @property
    def status(self) -> str:
        """The read status; a folder without summary.json is a run that has only just started, or, once it has been
        silent for as long as a dead run's heartbeat, one that died before writing it (`stale`)."""
        from scratchrun.records.index import STALE_AFTER_S

        if self.summary:
            return self.summary.get("status", "unreadable")
        return "stale" if self.silent_s > STALE_AFTER_S else "running"


def _read_view(folder: Path) -> _View:
    """What `show` draws, read afresh (a running run's files grow between two reads)."""
    from scratchrun.records.index import read_run
    from scratchrun.records.reader import metric_values, read_config_text, read_metrics, read_steps, read_summary

    with edge():
        summary = read_summary(folder) if (folder / "summary.json").exists() else {}
        problem = None
        if summary:  # `stale` when the heartbeat stopped, `incomplete` when a completed run lacks a file
            info = read_run(folder)
            summary["status"], problem = info.status, info.problem
        steps = read_steps(folder)  # (N, 3): iteration, epoch, loss
        metrics = metric_values(read_metrics(folder))
        config_text = read_config_text(folder)
    return _View(summary, problem, steps, metrics, config_text, _silent_s(folder))


def _silent_s(folder: Path) -> float:
    """Seconds since anything in the folder last changed (a file renamed away meanwhile is skipped)."""
    latest = 0.0
    try:
        paths = [folder, *folder.iterdir()]
    except OSError:  # deleted meanwhile: silent since the last look
        return 0.0
    for path in paths:
        try:
            latest = max(latest, path.stat().st_mtime)
        except OSError:
            continue
    return time.time() - latest


def _render(folder: Path, view: _View, with_config: bool) -> str:
    """The summary, (the config,) the training loss and the validation accuracy, as text."""
    from scratchrun.cli.display.text_chart import line_chart

    lines = [*_summary_lines(folder, view.summary, view.metrics, view.problem), *_annotation_lines(folder)]
    if with_config:
        lines += ["", "config (config.yaml):", view.config_text.rstrip("\n")]
    steps = view.steps
    per_column = math.ceil(len(steps) / 120)  # the chart is 60 characters of 2 dot columns each
    averaged = f", mean of {per_column} per column" if per_column > 1 else ""
    lines += ["", f"training loss per update ({len(steps):,} updates{averaged}):",
              line_chart(steps[:, 2], steps[:, 0], 60, 12, x_label="iteration")]
    evaluated = [row for row in view.metrics if row.get("val_acc") is not None]
    if evaluated:
        lines += ["", f"validation accuracy per evaluation ({len(evaluated)}):",
                  line_chart([r["val_acc"] for r in evaluated], [r["epoch"] for r in evaluated], 60, 6, "epoch")]
    return "\n".join(lines)


def _follow(folder: Path, interval: float) -> None:
    """Redraw the run while it is `running`: in place on a terminal, one line per change when piped. Returns when the
    run has ended or gone stale (the caller then shows it whole); Ctrl-C exits 130 without touching the run."""
    from rich.live import Live
    from rich.text import Text

    view = _read_view(folder)
    seen = None
    live = Live(Text(_render(folder, view, with_config=False)), console=out, refresh_per_second=4, transient=True,
                vertical_overflow="visible") if out.is_terminal else None
    with edge(f"{folder} was not touched; it goes on as it was.", label="stopped following",
              close=live.stop if live is not None else None):
        if live is not None:
            live.start()
        while True:
            if live is None and (len(view.steps), len(view.metrics), view.status) != seen:
                seen = (len(view.steps), len(view.metrics), view.status)
                last = f", loss {view.steps[-1, 2]:.4f}" if len(view.steps) else ""
                out.print(f"following {folder.name}: {view.status}, {len(view.steps):,} updates{last}, "
                          f"{len(view.metrics)} evaluations", soft_wrap=True)
            if view.status != "running":
                break
            time.sleep(interval)
            if not folder.is_dir():
                raise ScratchrunError(f"{folder} was deleted or moved while it was followed; there is nothing more "
                                      "to show.")
            view = _read_view(folder)
            if live is not None:
                live.update(Text(_render(folder, view, with_config=False)))


@app.command(rich_help_panel=PANEL_RUNS)
def reproduce(
    run: RunArg,
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", help="Folder in which RUN is looked up by name (default: runs), and which "
                                        "receives the rerun of a study's or search's run; any other run is rerun "
                                        "next to itself.",
                     show_default=False),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Train a run's saved config again into a new run folder and check that every loss and evaluation is identical.

    Exit code 0 when they all match, 1 when one differs (the first difference and what changed in the environment
    are named).
    """
    from scratchrun.cli.display.progress import DownloadBar, TrainingProgress
    from scratchrun.config.loader import load_config
    from scratchrun.records.index import resolve
    from scratchrun.records.reader import read_summary
    from scratchrun.records.reproduce import compare_runs
    from scratchrun.training.run import run_experiment

    # Ctrl-C while training is the rerun's own (recorded as interrupted); here: before it started, or a second one
    with edge("before the rerun started, or while its records were being written; a run folder made by then says "
              "how far it got."):
        original = resolve(run, runs_dir or Path("runs"), runs_only=True)
        summary = read_summary(original)
        cfg = load_config(original / "config.yaml")
        evaluate_test = summary.get("test_samples") != 0  # 0: a search trial, which never looks at the test set
        stop_epochs = _stop_epochs(summary)
        destination = _rerun_destination(original, runs_dir)
        settings = [f"seed {cfg.seed}"] + ([] if evaluate_test else ["no test set, like the original"])
        settings += [f"stopped after {stop_epochs} epochs, like the original"] if stop_epochs else []
        console.print(f"reproducing {original} ({', '.join(settings)}) into {destination}", soft_wrap=True)
        with TrainingProgress(console) as progress:
            outcome = run_experiment(cfg, None, destination, [progress], evaluate_test=evaluate_test,
                                     stop_epochs=stop_epochs, provenance=common.provenance(), data_dir=data_dir,
                                     reporter=DownloadBar(console))
    out.print(str(outcome.run_dir), soft_wrap=True)
    if outcome.status == "interrupted":
        say("interrupted:", "yellow", f"{outcome.summary.get('message')}; nothing was compared.")
        raise typer.Exit(common.interrupt_exit_code())
    with edge():
        comparison = compare_runs(original, outcome.run_dir)
    out.print(comparison.report(), soft_wrap=True)
    if not comparison.matches:
        raise typer.Exit(1)


def _rerun_destination(original: Path, runs_dir: Path | None) -> Path:
    """Next to the original, unless the original lives in a study or search folder: then the runs folder."""
    from scratchrun.records.index import group_kind

    if runs_dir is not None or group_kind(original.resolve().parent):
        return runs_dir or Path("runs")
    return original.parent


def _stop_epochs(summary: dict) -> int | None:
    """The epochs after which the original was stopped (successive halving), so that its rerun stops at the same
    point."""
    stop = summary.get("stop_epochs")
    if stop is None:
        if summary.get("status") != "pruned":
            return None
        stop = summary.get("epochs")  # recorded before `stop_epochs` was: a pruned run stopped at a whole epoch
    if stop is None or not float(stop).is_integer() or stop <= 0:
        raise ScratchrunError("The run was stopped early for successive halving, but its summary.json records neither "
                              "stop_epochs nor a whole number of epochs, so its rerun would not stop at the same "
                              "point.")
    return int(stop)


def _annotation_lines(folder: Path) -> list[str]:
    """The tags and note a person added (`scratchrun tag`, `scratchrun note`), if any."""
    from scratchrun.records.annotations import read_annotations

    added = read_annotations(folder)
    lines = [f"tags     {', '.join(added.tags)}"] if added.tags else []
    if added.note:
        first, *rest = added.note.splitlines()
        lines += [f"note     {first}", *(f"         {line}" for line in rest)]
    return lines + ([f"         ({added.problem})"] if added.problem else [])


def _summary_lines(folder: Path, summary: dict, metrics: list[dict], problem: str | None = None) -> list[str]:
    """The run's outcome, metrics, speed and environment, one fact per line."""
    status = summary.get("status", "(no summary.json)")
    if status == "running":
        status += " (still training: its heartbeat is recent)"
    elif status == "stale":
        status += (" (recorded as running, but its process died: its pid is gone from this host, or its heartbeat "
                   "stopped)")
    elif status == "incomplete":
        status += f" (recorded as completed, but {problem})"
    lines = [f"run      {folder}", f"status   {status}"]
    if summary.get("message"):
        lines.append(f"message  {summary['message']}")
    final, label = summary.get("final"), "final"
    if final is None and metrics:  # an unfinished run: its last evaluation so far
        final, label = metrics[-1], "last evaluation"
    lines.append(f"{label:<8} {'loss':>10} {'accuracy':>10} {'images':>8}")
    for split in ("train", "val", "test"):
        loss, acc = (final or {}).get(f"{split}_loss"), (final or {}).get(f"{split}_acc")
        images = summary.get(f"{split}_samples")
        lines.append(f"  {split:<6} {_format(loss, '.4f'):>10} {_format(acc, '.2%'):>10} {_format(images, ',d'):>8}")
    if summary.get("best_val_acc") is not None:
        lines.append(f"best     val acc {summary['best_val_acc']:.2%} at epoch {summary.get('best_epoch')}")
    if summary.get("iterations") is not None:
        speed = f", {summary['samples_per_s']:,.0f} samples/s" if summary.get("samples_per_s") else ""
        lines.append(f"trained  {summary.get('epochs')} epochs, {summary['iterations']:,} iterations in "
                     f"{_format(summary.get('wall_time_s'), '.1f')} s{speed}")
    lines.append(f"seed     {summary.get('seed', '-')}, started {summary.get('started', '-')}")
    if summary.get("command"):
        lines.append(f"command  {summary['command']}")
    versions = summary.get("versions") or {}
    if versions:
        lines.append("versions " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    if "blas" in summary:
        lines.append(f"BLAS     {summary['blas'] or '-'}")
    if "git_commit" in summary:
        dirty = {True: " (with uncommitted changes)", False: " (clean)"}.get(summary.get("git_dirty"), "")
        lines.append(f"git      {summary['git_commit'] or '-'}{dirty}")
    return lines


def _format(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)
