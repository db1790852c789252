"""What every command shares: the Typer app, the consoles, the common options, and errors turned into exit codes.

The CLI is the only place that prints or picks exit codes.

Exit codes: 0 completed; 1 data, I/O or internal error; 2 bad config, override or option;
3 diverged (non-finite loss); 130 interrupted by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scratchrun.data.data_dir import check_data_dir  # noqa: F401 - the commands' shared check
from scratchrun.errors import ScratchrunError
from scratchrun.records.provenance import Provenance

app = typer.Typer(
    help="Train NumPy MLPs on MNIST and record every run, the chapter-6 way.",
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

# the groups `scratchrun --help` lists its commands in
PANEL_TRAIN, PANEL_STUDIES, PANEL_SEARCH = "Train", "Studies (chapter 6)", "Search (chapter 6.5)"
PANEL_RUNS, PANEL_SETUP = "Working with runs", "Configs and data"

EXIT_DIVERGED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that the run is recorded as interrupted."""


_signals_received: set[int] = set()


def _on_sigterm(signum, frame) -> None:
    _signals_received.add(signum)
    raise Terminated()


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="SCRATCHRUN_DATA_DIR", help="Folder with one subfolder per dataset (mnist/, fashion-mnist/).", show_default=False),
]


DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would run and an estimate of its time on this machine; write nothing."),
]


def command_line() -> str:
    """The command as typed, arguments joined by spaces: `scratchrun train configs/mnist.yaml optimizer.lr=0.01`."""
    return " ".join(["scratchrun", *sys.argv[1:]])


def provenance() -> Provenance:
    """This command and the git commit and state of the working folder, for the records of the runs it starts."""
    return Provenance.here(command_line())


def _interrupt_exit_code() -> int:
    return EXIT_SIGTERM if signal.SIGTERM in _signals_received else EXIT_SIGINT


@app.callback()
def main() -> None:
    """scratchrun: NumPy MLPs on MNIST, trained and recorded the way chapter 6 of Deep Learning from Scratch teaches."""


def _fail(error: ScratchrunError) -> None:
    console.print(f"[red]error:[/] {error}", soft_wrap=True)
    raise typer.Exit(error.exit_code)
