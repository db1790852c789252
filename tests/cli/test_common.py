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


def test_fail_prints_the_error_literally_and_exits_with_its_code(monkeypatch):
    terminal = Console(file=io.StringIO(), width=200)
    monkeypatch.setattr(common, "console", terminal)
    with pytest.raises(typer.Exit) as info:
        common.fail(ConfigError("x = `[red]` is not allowed"))
    assert info.value.exit_code == 2
    assert terminal.file.getvalue() == "error: x = `[red]` is not allowed\n"


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
