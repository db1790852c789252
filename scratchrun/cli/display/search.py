"""The live view of a search: the running trials and the latest finished ones, each with its values, and the best so
far."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from scratchrun.cli.display.study import LiveView, follow
from scratchrun.config.search import METRICS
from scratchrun.experiments.observer import Observer
from scratchrun.numbers import is_finite
from scratchrun.records.status import style
from scratchrun.training.events import Event

RECENT = 8  # finished trials kept on screen; trials.csv has them all


def format_value(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class SearchDisplay(LiveView):
    """The search's live table; fed progress events (`update`), finished rows (`finish`) and stages (`stage`)."""

    def __init__(self, keys: Sequence[str], metric: str, rounds: int, console: Console, title: str) -> None:
        self.keys, self.metric, self.rounds, self.title = list(keys), metric, rounds, title
        self.running: dict[int, dict] = {}  # trial -> {"it", "total", "loss"}
        self.recent: list[dict] = []
        self.best: dict | None = None
        self.stage_text, self.stage_total, self.stage_done = "", 0, 0
        self.start_live(console)

    def stage(self, round_number: int, epochs: int | None, runs: int, already: int) -> None:
        """A new batch of trial runs: a round, or a rung of successive halving within it."""
        budget = f", {epochs} epochs each" if epochs else ""
        self.stage_text = f"round {round_number}/{self.rounds}: {runs} trial(s){budget}"
        self.stage_total, self.stage_done = runs, already
        self.live.update(self.render())

    def update(self, event: Event) -> None:
        follow(self.running.setdefault(event.index, {"it": 0, "total": None, "loss": None, "acc": None}), event)
        self.redraw(throttled=True)

    def finish(self, row: dict) -> None:
        self.running.pop(row["trial"], None)
        self.recent = [r for r in self.recent if r["trial"] != row["trial"]][-(RECENT - 1):] + [row]
        if row["status"] != "pruned":
            self.stage_done += 1
        score = row.get(self.metric)
        if row["status"] == "completed" and is_finite(score):
            better = self.best is None or (score > self.best[self.metric] if METRICS[self.metric] == "max"
                                           else score < self.best[self.metric])
            if better:
                self.best = row
        self.live.update(self.render())

    def render(self) -> Group:
        table = Table(title=self.title, title_justify="left")
        for column in ("trial", *self.keys, "status", "epochs", self.metric, "best so far"):
            table.add_column(column, justify="left" if column == "status" else "right")
        best = "-" if self.best is None else f"{self.best[self.metric]:.4f} (trial {self.best['trial']})"
        for row in self.recent:
            score = row.get(self.metric)
            table.add_row(str(row["trial"]), *(format_value(row.get(k)) for k in self.keys),
                          Text(row["status"], style=style(row["status"])), format_value(row.get("epochs")),
                          "-" if score is None else f"{score:.4f}", best)
        for trial, run in sorted(self.running.items()):
            progress = f"{run['it']}/{run['total']} it" if run["total"] else "-"
            table.add_row(str(trial), *("" for _ in self.keys), Text("running", style="cyan"), progress,
                          "-" if run["loss"] is None else f"loss {run['loss']:.3f}", best)
        footer = Table.grid(padding=(0, 1))
        footer.add_row(ProgressBar(total=max(self.stage_total, 1), completed=self.stage_done, width=40),
                       f"{self.stage_done}/{self.stage_total} finished · {self.stage_text}")
        return Group(table, footer)


class LiveSearch(Observer):
    """The search's live trial table in the terminal, fed by the library's Observer calls; then the final run's bar."""

    wants_progress = True

    def __init__(self, console: Console, executor: str, workers: int) -> None:
        self.console, self.executor, self.workers, self.display, self.final_bar = console, executor, workers, None, None

    def started(self, run) -> None:
        plan = run.plan
        self.display = SearchDisplay(run.keys, plan.metric, plan.rounds, self.console,
                                     f"search {run.setup.base_config.name}: {plan.trials} trials × {plan.rounds} "
                                     f"round(s), {self.executor} executor, {self.workers} worker(s)")
        if run.journal:
            self.console.print(f"resuming {run.folder}: {len(run.journal)} finished trial run(s) kept")
        self.display.__enter__()

    def stage(self, *args) -> None:
        self.display.stage(*args)

    def progress(self, event) -> None:
        self.display.update(event)

    def finished(self, row: dict) -> None:
        self.display.finish(row)

    def narrowed(self, old: dict, new: dict) -> None:
        spans = "; ".join(f"{k} {old[k]} → {new[k]}" for k in new)
        self.console.print(f"narrowed to the best trials' span: {spans}", soft_wrap=True)

    def final_run(self, folder) -> list:
        from scratchrun.cli.display.progress import TrainingProgress

        self.close()
        self.console.print(f"final run: the best config on training + validation images, then the test set ({folder})")
        self.final_bar = TrainingProgress(self.console)
        self.final_bar.__enter__()
        return [self.final_bar]

    def close(self) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)
            self.display = None
        if self.final_bar is not None:
            self.final_bar.__exit__(None, None, None)
            self.final_bar = None
