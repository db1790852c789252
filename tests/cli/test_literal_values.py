"""Values a user wrote, and names read from records, are printed as they are: `[red]x[/]` as those characters, never
as rich markup (the consoles have markup off; style comes only from `say` and rich's own objects)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from scratchrun.cli.app import app

runner = CliRunner()
NAME = "[red]x[/]"
CONFIG = f"""name: "{NAME}"
data: {{dataset: tiny, val_fraction: 0.2}}
model: {{hidden: [16]}}
train: {{epochs: 1, batch_size: 32, track: [train, val]}}
"""


def invoke(*args, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def test_a_name_and_values_in_brackets_are_printed_literally_by_every_command(tiny, tmp_path):
    config, runs = tmp_path / "cfg.yaml", tmp_path / "runs"
    config.write_text(CONFIG)
    dry = invoke("train", config, "--dry-run")
    assert f"name: '{NAME}'" in dry.output and "track: [train, val]" in dry.output
    shown = invoke("config", config)
    assert NAME in shown.output and "[train, val]" in shown.output
    invoke("train", config, "--runs-dir", runs, "--quiet")
    invoke("train", config, "train.track=[train]", "--runs-dir", runs, "--quiet")
    first = sorted(runs.iterdir())[0]
    assert f"name: '{NAME}'" in invoke("show", first).output
    listed = invoke("runs", runs)  # the differing value is a column: each run's list as written
    assert re.search(r"\[train, ?val\]", listed.output) and re.search(r"\[train\](?!,)", listed.output), listed.output
    refused = invoke("train", config, f"optimizer.name={NAME}", "--runs-dir", runs, code=2)
    assert f"error: Override `optimizer.name={NAME}`" in " ".join(refused.output.split())
