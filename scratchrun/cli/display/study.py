"""The live view of a study: a row per run (status, progress, current loss, accuracy) and a total."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from scratchrun.training.events import Evaluated, Event, RunStarted, Step

RENDER_EVERY_S = 0.25  # a progress event redraws the table at most this often: the screen refreshes at 4 Hz anyway,
# and a table built for every event costs the parent CPU time its workers need
STATUS_STYLE = {"queued": "dim", "running": "cyan", "completed": "green", "diverged": "red", "failed": "red",
                "interrupted": "yellow", "stopped": "blue", "pruned": "dim"}


def follow(row: dict, event: Event) -> None:
    """A running run's row after a progress event: its total at the start, its loss at a step, its accuracy when evaluated."""
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
            table.add_row(row["variant"], str(row["seed"]), Text(row["status"], style=STATUS_STYLE.get(row["status"], "")),
                          progress, "-" if row["loss"] is None else f"{row['loss']:.4f}",
                          "-" if row["acc"] is None else f"{row['acc']:.4f}")
        finished = sum(r["status"] not in ("queued", "running") for r in self.rows.values())
        footer = Table.grid(padding=(0, 1))
        footer.add_row(ProgressBar(total=len(self.rows), completed=finished, width=40), f"{finished}/{len(self.rows)} runs finished")
        return Group(table, footer)


class LiveStudy:
    """The study's live table, fed by the library's StudyObserver calls (`started`, `progress`, `finished`)."""

    wants_progress = True

    def __init__(self, console: Console) -> None:
        self.console, self.display = console, None

    def started(self, plan) -> None:
        from scratchrun.experiments.study import plan_summary

        self.console.print(plan_summary(plan), markup=False)  # it names the folder
        self.display = StudyDisplay(plan.specs, self.console, f"{plan.kind}: {len(plan.specs)} runs on {plan.workers} worker(s)")
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


def print_dry_run(out: Console, kind: str, specs, jobs: int, evaluate_test: bool = True) -> None:
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


def print_summary(out: Console, kind: str, n_runs: int, summary: list[dict]) -> None:
    """The per-variant table at the end of a study: mean ± std over seeds, and the train − val gap."""
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
