"""The `scratchrun` command line: thin commands, the only place that prints or picks exit codes.

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

from .errors import ConfigError, ScratchrunError

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


def check_data_dir(data_dir: Path | None) -> None:
    """An explicit data folder that does not exist is a typo, not a reason to go looking elsewhere."""
    if data_dir is not None and not data_dir.is_dir():
        raise ConfigError(
            f"Data folder {data_dir} (from --data-dir or SCRATCHRUN_DATA_DIR) is not a folder: give the folder "
            "that holds mnist/ (and fashion-mnist/), or leave it unset to use the cache or a download."
        )


def _interrupt_exit_code() -> int:
    return EXIT_SIGTERM if signal.SIGTERM in _signals_received else EXIT_SIGINT


@app.callback()
def main() -> None:
    """scratchrun: NumPy MLPs on MNIST, trained and recorded the way chapter 6 of Deep Learning from Scratch teaches."""


@app.command(rich_help_panel=PANEL_TRAIN)
def train(
    config: Annotated[Path, typer.Argument(help="YAML config file, e.g. configs/mnist.yaml.", show_default=False)],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Dotted KEY=VALUE overrides parsed as YAML, e.g. optimizer.lr=0.01 model.hidden=[256,256].", show_default=False),
    ] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder that receives the run folder.")] = Path("runs"),
    data_dir: DataDir = None,
    name: Annotated[str | None, typer.Option("--name", help="Run name (default: the config's name, else the file's name).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table; print only the run folder.")] = False,
    dry_run: DryRun = False,
) -> None:
    """Train the MLP a config describes on real MNIST and write runs/<time>_<name>/."""
    from .config import load_config
    from .datasets import load_raw
    from .experiment import prepare_data, run_experiment
    from .runs import check_runs_dir
    from .terminal import DownloadBar, TrainingProgress, print_summary

    try:
        cfg = load_config(config, overrides or [], name=name)
        if dry_run:
            _dry_run_train(cfg)
            return
        check_data_dir(data_dir)
        check_runs_dir(runs_dir)
        raw = load_raw(cfg.data.dataset, data_dir, reporter=None if quiet else DownloadBar(console))
        data = prepare_data(cfg, raw)  # the splits index the raw images; nothing is copied
    except ScratchrunError as e:
        _fail(e)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/] before training started; no run folder was made.")
        raise typer.Exit(EXIT_SIGINT) from None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    progress = TrainingProgress(console, disable=quiet)
    try:
        with progress:
            outcome = run_experiment(cfg, None, runs_dir, [progress], data=data)
    except ScratchrunError as e:
        _fail(e)
    except KeyboardInterrupt:  # a second signal while the records were being written
        console.print("[red]interrupted[/] while writing the run's records.")
        raise typer.Exit(_interrupt_exit_code()) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not quiet:
        print_summary(out, cfg, outcome)
    out.print(str(outcome.run_dir), soft_wrap=True)
    if outcome.status == "diverged":
        console.print(f"[red]error:[/] the run diverged: {outcome.summary.get('message')}; try a smaller optimizer.lr.")
        raise typer.Exit(EXIT_DIVERGED)
    if outcome.status == "interrupted":
        console.print(f"[yellow]interrupted:[/] {outcome.summary.get('message')}; everything measured so far is in the run folder.")
        raise typer.Exit(_interrupt_exit_code())


def _dry_run_train(cfg) -> None:
    """The resolved config and the time it would take, measured on this machine; nothing read or written."""
    from .config import dump_yaml
    from .estimate import duration, run_estimate

    estimate = run_estimate(cfg)
    out.print(dump_yaml(cfg), end="", soft_wrap=True)
    sizes = estimate.sizes
    out.print(f"dry run: would train on {sizes.train:,} images ({sizes.val:,} validation, {sizes.test:,} test), "
              f"{estimate.iterations:,} updates and {estimate.evaluations} evaluations; estimated "
              f"{duration(estimate.seconds)} on this machine ({estimate.train_samples_per_s:,.0f} training samples/s "
              "measured just now, one BLAS thread); nothing was written.", soft_wrap=True)


def _fail(error: ScratchrunError) -> None:
    console.print(f"[red]error:[/] {error}", soft_wrap=True)
    raise typer.Exit(error.exit_code)


def run() -> None:
    """Console-script entry point."""
    app()


# each module registers its commands on `app` (importing heavy dependencies only inside them); this order is the
# order of the panels in `scratchrun --help`
from . import study_commands, search_commands, runs_commands, inspect_commands, config_commands, data_commands  # noqa: F401, I001

if __name__ == "__main__":
    sys.exit(run())
