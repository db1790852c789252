"""What every command shares: an error is one red `error:` and then the sentence exactly as written, user values
and paths included (never read as rich markup or emoji codes)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from scratchrun.cli import common
from scratchrun.cli.app import app
from scratchrun.errors import ConfigError

runner = CliRunner()
SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16]}\n"
         "train: {epochs: 1, batch_size: 32}\n")


def flat(text: str) -> str:
    return " ".join(text.split())


def test_say_colours_the_label_and_prints_the_message_literally():
    terminal = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    common.say("error:", "red", "optimizer.name = `[adam]` in [bold]x/cfg.yaml :smile:", to=terminal)
    assert terminal.file.getvalue() == "\x1b[31merror:\x1b[0m optimizer.name = `[adam]` in [bold]x/cfg.yaml :smile:\n"


def run_edge(monkeypatch, raised: BaseException, **options) -> tuple[int, str, list[str]]:
    """What `edge` prints and exits with when its block raises `raised`; and the order of what happened."""
    terminal = Console(file=io.StringIO(), width=200)
    monkeypatch.setattr(common, "console", terminal)
    happened = []

    def close():
        happened.append(f"closed with {terminal.file.getvalue()!r} printed")

    with pytest.raises(typer.Exit) as info:
        with common.edge(close=close, **options):
            raise raised
    return info.value.exit_code, terminal.file.getvalue(), happened


def test_the_edge_prints_an_error_literally_after_closing_the_display_and_exits_with_its_code(monkeypatch):
    code, printed, happened = run_edge(monkeypatch, ConfigError("x = `[red]` is not allowed"))
    assert (code, printed, happened) == (2, "error: x = `[red]` is not allowed\n", ["closed with '' printed"])


def test_the_edge_turns_ctrl_c_and_a_stopped_study_into_130_with_their_sentences(monkeypatch):
    from scratchrun.errors import Interrupted

    code, printed, _ = run_edge(monkeypatch, KeyboardInterrupt(), interrupted="no run folder was made.")
    assert (code, printed) == (130, "interrupted: no run folder was made.\n")
    stopped = Interrupted("the search stopped; 3 trials are kept", folder=Path("runs/s"))
    code, printed, _ = run_edge(monkeypatch, stopped, resume=lambda e: f"{e}; resume {e.folder}")
    assert (code, printed) == (130, "interrupted: the search stopped; 3 trials are kept; resume runs/s\n")


def test_the_edge_catches_sigterm_only_inside_its_block():
    import signal

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(typer.Exit) as info:
        with common.edge():
            assert signal.getsignal(signal.SIGTERM) is common.on_sigterm
            signal.raise_signal(signal.SIGTERM)
    assert info.value.exit_code == 143 and signal.getsignal(signal.SIGTERM) is before
    common._signals_received.clear()


def test_no_command_catches_a_scratchrun_error_or_prints_markup_itself():
    """One edge: every `except` of a ScratchrunError (or a subclass) in cli/ is in common.edge, and no command
    writes rich markup into a string (a style comes from `say` or a Text)."""
    import re

    import scratchrun.cli

    errors = "ScratchrunError|ConfigError|DataError|RunDirError|RecordError|Interrupted"
    cli = Path(scratchrun.cli.__file__).parent
    caught = []
    for path in sorted(cli.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            markup = re.search(r"\[/\]|\[(red|yellow|green|bold)\]", line)
            if re.search(rf"except\s*\(?[^:]*\b({errors})\b", line) or markup:
                caught.append(f"{path.relative_to(cli)}:{number}: {line.strip()}")
    assert [c for c in caught if not c.startswith("common.py")] == []
    assert len([c for c in caught if c.startswith("common.py") and "except" in c]) == 2  # edge's own two


def test_a_bracketed_value_is_echoed_as_given(tiny, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["train", str(config), "optimizer.name=[adam]", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert (f"error: {config}, override `optimizer.name=[adam]`: optimizer.name = `[adam]` is not allowed"
            in flat(result.output))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("folder", ["[bold]x", "[red]", ":smile:"])
def test_a_path_that_looks_like_markup_keeps_its_brackets(tiny, tmp_path, folder):
    config = tmp_path / folder / "cfg.yaml"
    result = runner.invoke(app, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert flat(result.output) == (f"error: Config file {config} does not exist: give the path of a YAML config, or "
                                   "the name of a shipped example (best-mlp, book-search, mnist); "
                                   "`scratchrun new FILE` writes a starter config.")


def test_a_run_folder_under_a_bracketed_path_is_printed_as_it_is(tiny, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(SMALL)
    runs = tmp_path / "[bold]runs"
    result = runner.invoke(app, ["train", str(config), "--runs-dir", str(runs), "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = runs.iterdir()
    assert result.stdout.strip() == str(run)
    assert Path(result.stdout.strip()).is_dir()
