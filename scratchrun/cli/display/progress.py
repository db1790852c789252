"""What the CLI shows while it works: download and training progress bars, and the end-of-run table."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from scratchrun.config.loader import Config
from scratchrun.training.trainer import Callback


class DownloadBar:
    """A FetchReporter drawing one rich bar per file being fetched."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.task = None

    def start(self, label: str, total_bytes: int | None) -> None:
        if total_bytes is None:  # size unknown (npm pack): a spinner and the time it has taken
            columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        self.progress = Progress(*columns, console=self.console, transient=total_bytes is None)
        self.progress.start()
        self.task = self.progress.add_task(label, total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, nbytes)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def note(self, message: str) -> None:
        self.console.print(message, style="dim", soft_wrap=True)  # it may name a path


class TrainingProgress(Callback):
    """A live bar over all updates, with the epoch, the latest minibatch loss and the latest validation accuracy.

    It appears when training starts, not on entering: a download before it has its own bars."""

    def __init__(self, console: Console, disable: bool = False) -> None:
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=disable,
        )
        self.task = None

    def __enter__(self) -> TrainingProgress:
        return self

    def __exit__(self, *exc) -> bool:
        if self.task is not None:  # it started
            self.progress.stop()
        return False

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=total_iterations, epoch=1, loss="-", val="")

    def on_step(self, iteration: int, epoch: int, loss: float) -> None:
        self.progress.update(self.task, completed=iteration, epoch=epoch, loss=f"{loss:.4f}")

    def on_eval(self, row: dict) -> None:
        if row.get("val_acc") is not None:
            self.progress.update(self.task, val=f"val acc {row['val_acc']:.4f}")


def print_summary(console: Console, config: Config, outcome) -> None:
    """The end-of-run table of a Run or a RunResult (its summary): final losses and accuracies per split, and how
    fast it went."""
    summary = outcome.summary
    final = summary["final"]
    table = Table(title=f"{config.name}: {summary['status']}", title_justify="left")
    table.add_column("split")
    table.add_column("loss", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("images", justify="right")
    for split, count in (("train", "train_samples"), ("val", "val_samples"), ("test", "test_samples")):
        loss, acc = final.get(f"{split}_loss"), final.get(f"{split}_acc")
        table.add_row(
            split,
            "-" if loss is None else f"{loss:.4f}",
            "-" if acc is None else f"{acc:.2%}",
            f"{summary.get(count, 0):,}",
        )
    console.print(table)
    best = summary.get("best_val_acc")
    best_text = f"best val acc {best:.2%} at epoch {summary['best_epoch']:g} · " if best is not None else ""
    speed = summary.get("samples_per_s")
    console.print(
        f"{best_text}{summary['iterations']:,} updates in {summary['wall_time_s']:.1f} s"
        + (f" · {speed:,.0f} training samples/s" if speed else "")
    )
