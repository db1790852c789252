"""The live view of a study: a row per run (status, progress, current loss, accuracy) and a total."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from scratchrun.experiments.observer import Observer
from scratchrun.records.status import style
from scratchrun.training.events import Evaluated, Event, RunStarted, Step

RENDER_EVERY_S = 0.25  # a progress event redraws the table at most this often: the screen refreshes at 4 Hz anyway,
# and a table built for every event costs the parent CPU time its workers need
DRY_RUN_ROWS = 50  # runs (or trials) a dry run lists; its estimate counts every one


def follow(row: dict, event: Event) -> None:
    """A running run's row after a progress event: its total at the start, its loss at a step, its accuracy when
    evaluated."""
    match event:
        case RunStarted(total_iterations=total):
            row["total"] = total
        case Step(iteration=iteration, loss=loss):
            row["it"], row["loss"] = iteration, loss
        case Evaluated(iteration=iteration, metrics=metrics):
            row["it"] = iteration
            if metrics.get("val_acc") is not None:
                row["acc"] = metrics["val_acc"]


class LiveView:
    """A rich Live view of whatever `render()` draws, shown while the `with` block runs and left on screen after."""

    def start_live(self, console: Console) -> None:
        self.rendered_at = 0.0
        self.live = Live(self.render(), console=console, refresh_per_second=4, transient=False)

    def redraw(self, throttled: bool = False) -> None:
        """Hand the view a new table; a progress event (`throttled`) does so at most every RENDER_EVERY_S."""
        now = time.monotonic()
        if not throttled or now - self.rendered_at >= RENDER_EVERY_S:
            self.rendered_at = now
            self.live.update(self.render())

    def render(self) -> Group:
        raise NotImplementedError

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        self.live.update(self.render())
        self.live.__exit__(*exc)
        if not self.live.console.is_terminal:  # piped: the last render ends without a line break
            self.live.console.line()
        return False


class StudyDisplay(LiveView):
    """The study's live table; `update` takes progress events, `finish` takes a run's result."""

    def __init__(self, specs: Sequence, console: Console, title: str) -> None:
        self.title = title
        self.rows = {s.index: {"variant": s.variant, "seed": s.seed, "status": "queued", "it": 0, "total": None,
                               "loss": None, "acc": None} for s in specs}
        self.start_live(console)

    def update(self, event: Event) -> None:
        row = self.rows[event.index]
        row["status"] = "running"
        follow(row, event)
        self.redraw(throttled=True)

    def finish(self, result) -> None:
        row = self.rows[result.index]
        row["status"] = result.status
        row["it"] = result.summary.get("iterations", row["it"])
        row["acc"] = (result.summary.get("final") or {}).get("val_acc", row["acc"])
        self.live.update(self.render())

    def render(self) -> Group:
        table = Table(title=self.title, title_justify="left", expand=False)
        for column in ("variant", "seed", "status", "progress", "loss", "val acc"):
            table.add_column(column, justify="left" if column in ("variant", "status") else "right")
        for row in self.rows.values():
            progress = f"{row['it']}/{row['total']}" if row["total"] else "-"
            table.add_row(row["variant"], str(row["seed"]), Text(row["status"], style=style(row["status"])),
                          progress, "-" if row["loss"] is None else f"{row['loss']:.4f}",
                          "-" if row["acc"] is None else f"{row['acc']:.4f}")
        finished = sum(r["status"] not in ("queued", "running") for r in self.rows.values())
        footer = Table.grid(padding=(0, 1))
        footer.add_row(ProgressBar(total=len(self.rows), completed=finished, width=40), f"{finished}/{len(self.rows)} "
                                                                                        "runs finished")
        return Group(table, footer)


class LiveStudy(Observer):
    """The study's live table, fed by the library's Observer calls (`started`, `progress`, `finished`)."""

    wants_progress = True

    def __init__(self, console: Console) -> None:
        self.console, self.display = console, None

    def started(self, plan) -> None:
        from scratchrun.experiments.study import plan_summary

        self.console.print(plan_summary(plan))  # it names the folder
        self.display = StudyDisplay(plan.specs, self.console, f"{plan.kind}: {len(plan.specs)} runs on {plan.workers} "
                                                              "worker(s)")
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


def print_dry_run(out: Console, plan) -> None:
    """What a study would train (an experiments.dry_run.StudyEstimate): its first runs with their estimated time,
    and the total on its workers."""
    from rich.table import Table

    from scratchrun.text import duration_text

    todo = plan.todo
    table = Table(title=f"{plan.kind}: {len(todo)} run(s) would train on {plan.workers} worker(s)",
                  title_justify="left")
    for column in ("run", "seed", "train images", "updates", "estimated"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in todo[:DRY_RUN_ROWS]:
        table.add_row(run.name, str(run.seed), f"{run.estimate.sizes.train:,}", f"{run.estimate.iterations:,}",
                      duration_text(run.estimate.seconds))
    out.print(table)
    print_dry_run_total(out, plan.seconds, plan.workers, len(todo), "run")


def print_dry_run_total(out: Console, seconds: float, workers: int, count: int, noun: str, what: str = "") -> None:
    """The dry run's last line: the estimate for all `count` runs or trials, the unlisted ones said to be counted."""
    from scratchrun.text import duration_text

    unlisted = f" (the {count - DRY_RUN_ROWS:,} {noun}(s) not listed are counted too)" if count > DRY_RUN_ROWS else ""
    out.print(f"dry run: {what}estimated {duration_text(seconds)} on this machine with {workers} worker(s) (speed "
              f"measured just now, one BLAS thread per {noun}){unlisted}; nothing was written.", soft_wrap=True)


def print_summary(out: Console, kind: str, n_runs: int, summary: list[dict]) -> None:
    """The per-variant table at the end of a study: mean ± std over seeds, and the train − val gap."""
    from rich.table import Table

    table = Table(title=f"{kind}: {n_runs} runs", title_justify="left")
    for column in ("variant", "runs", "train acc", "val acc", "test acc", "train − val"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in summary:
        train, val = row["train_acc_mean"], row["val_acc_mean"]
        gap = f"{train - val:.2%}" if train is not None and val is not None else "-"
        table.add_row(row["variant"], str(row["runs"]),
                      *(_mean_std(row, m) for m in ("train_acc", "val_acc", "test_acc")), gap)
    out.print(table)


def _mean_std(row: dict, metric: str) -> str:
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if mean is None:
        return "-"
    return f"{mean:.2%}" if row["runs"] == 1 else f"{mean:.2%} ± {std:.2%}"
