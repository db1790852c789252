"""What every command shares: the Typer app, the consoles, the common options, and errors turned into exit codes.

The CLI is the only place that prints or picks exit codes.

Exit codes: 0 completed; 1 data, I/O or internal error; 2 bad config, override or option;
3 diverged (non-finite loss); 130 interrupted by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.segment import Segment
from rich.text import Text

from scratchrun.data.data_dir import check_data_dir  # noqa: F401 - the commands' shared check
from scratchrun.errors import Interrupted, ScratchrunError
from scratchrun.records.provenance import Provenance
from scratchrun.text import printable

app = typer.Typer(
    help="Train NumPy MLPs on MNIST and record every run, the chapter-6 way.",
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _PrintableOnly(RenderHook):
    """Every console's last step: text a user or a record supplied (a note, a run's name, a config value, an error
    naming a file) is printed as the characters it holds, its control characters shown as `\\x1b`, so none can clear
    the screen, set the window title or write to the clipboard. Rich's own styling is added after this, from each
    segment's style, so colour and progress bars are untouched."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Printable(renderable) for renderable in renderables]


class _Printable:
    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            yield segment if segment.control else Segment(printable(segment.text), segment.style)


def _console(**options) -> Console:
    """A console that prints text as it is: no markup, no emoji codes, no highlighting; style comes only from `say`
    and rich's own objects (Text, tables, progress bars)."""
    made = Console(markup=False, highlight=False, emoji=False, **options)
    made.push_render_hook(_PrintableOnly())
    return made


# a path such as `:smile:/x.yaml` or a name such as `[red]x` is printed as typed
console = _console(stderr=True)
out = _console()

# the groups `scratchrun --help` lists its commands in
PANEL_TRAIN, PANEL_STUDIES, PANEL_SEARCH = "Train", "Studies (chapter 6)", "Search (chapter 6.5)"
PANEL_RUNS, PANEL_SETUP = "Working with runs", "Configs and data"

EXIT_DIVERGED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that the run is recorded as interrupted."""


_signals_received: set[int] = set()


def on_sigterm(signum, frame) -> None:
    _signals_received.add(signum)
    raise Terminated()


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="SCRATCHRUN_DATA_DIR", show_default=False,
                 help="Folder with one subfolder per dataset (mnist/, fashion-mnist/)."),
]


DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would run and an estimate of its time on this machine; write nothing."),
]


# the options every study command (and search) takes
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="The runs folder: new runs, studies and searches go into "
                                      "it, and names are looked up in it.")]
Seeds = Annotated[int, typer.Option("--seeds", min=1, help="Repeat every variant with this many seeds (the config's "
                                                             "seed, +1, ...).")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Runs in parallel, one process and one BLAS thread "
                                                                 "each; 0 = the number of cores.")]
Executor = Annotated[str, typer.Option("--executor", help="local (worker processes here) or dask (a Dask cluster).")]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="A Dask scheduler's address, e.g. tcp://host:8786 (default with --executor dask: "
                 "a LocalCluster of --jobs workers).", show_default=False),
]
StudyConfig = Annotated[
    Path | None, typer.Argument(help="Base config (default: the book's setting for this study).", show_default=False)
]
Overrides = Annotated[list[str] | None,
                      typer.Argument(help="KEY=VALUE settings for the base config.", show_default=False)]
Resume = Annotated[
    Path | None,
    typer.Option("--resume", help="A study folder to finish: train only its runs that did not complete.",
                 show_default=False),
]


@contextmanager
def edge(interrupted: str = "nothing was changed.", *, label: str = "interrupted",
         close: Callable[[], None] | None = None,
         resume: Callable[[Interrupted], str] | None = None) -> Iterator[None]:
    """The one place where what a command's block raises becomes text and an exit code.

    A ScratchrunError is one `error:` line and its exit code. A study or search stopped with its records written
    (Interrupted) says so, with how to finish it (`resume`), and exits 130 (143 for SIGTERM). Ctrl-C or SIGTERM
    anywhere else prints `label: interrupted`. SIGTERM stops the block as Ctrl-C does, so its clean-up runs; `close`
    (a live display) is closed before anything is printed, whatever happens.
    """
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        try:
            yield
        finally:
            if close is not None:
                close()
    except Interrupted as e:
        say("interrupted:", "yellow", resume(e) if resume else str(e))
        raise typer.Exit(interrupt_exit_code()) from None
    except ScratchrunError as e:
        say("error:", "red", str(e))
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        say(f"{label}:", "yellow", interrupted)
        raise typer.Exit(interrupt_exit_code()) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def failures_sentence(count: int, noun: str, run_dir: Path) -> str:
    """`2 run(s) failed, e.g. <folder>: <why>`: the first failure's own message (a bug, a dead worker, a full disk),
    and where its traceback is when it has one."""
    from scratchrun.records.reader import failure_message

    traceback = f"; its traceback is in {run_dir / 'error.txt'}" if (run_dir / "error.txt").is_file() else ""
    return f"{count} {noun}(s) failed, e.g. {run_dir}: {failure_message(run_dir)}{traceback}."


def command_line() -> str:
    """The command as typed, arguments joined by spaces: `scratchrun train mnist optimizer.lr=0.01`."""
    return " ".join(["scratchrun", *sys.argv[1:]])


def provenance() -> Provenance:
    """This command and the git commit and state of the working folder, for the records of the runs it starts."""
    return Provenance.here(command_line())


def interrupt_exit_code() -> int:
    return EXIT_SIGTERM if signal.SIGTERM in _signals_received else EXIT_SIGINT


def version_text() -> str:
    """scratchrun's version, NumPy's, and the BLAS NumPy calls (with its kernels and threads): what `--version` says."""
    import platform

    import numpy
    from threadpoolctl import threadpool_info

    import scratchrun

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    blas = "; ".join(f"{p['internal_api']} {p.get('version')} ({p.get('architecture') or 'kernels unknown'}, "
                     f"{p['num_threads']} thread{'s' if p['num_threads'] != 1 else ''})" for p in pools) or "none found"
    return (f"scratchrun {scratchrun.__version__}\nNumPy {numpy.__version__}, BLAS: {blas}\n"
            f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")


def _show_version(value: bool) -> None:
    if value:
        out.print(version_text(), highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", "-V", is_eager=True, callback=_show_version,
        help="Print the versions of scratchrun, NumPy and its BLAS, and exit.")] = False,
) -> None:
    """scratchrun: NumPy MLPs on MNIST, trained and recorded the way chapter 6 of Deep Learning from Scratch teaches."""
    # a run name in a script the plotting font lacks (日本語-run) is drawn as boxes in its figure, while its folder
    # keeps the letters: matplotlib's warning per missing glyph is noise on a terminal
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)


def say(label: str, style: str, message: str, to: Console | None = None) -> None:
    """`label` in `style`, then `message` exactly as written (on stderr unless `to` says otherwise): a value such
    as `[adam]` or a path such as `[bold]x/cfg.yaml` is never read as rich markup."""
    (to or console).print(Text.assemble((label, style), " ", message), soft_wrap=True)

