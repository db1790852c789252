"""--dry-run: what would run and how long it would take, with nothing read from the dataset and nothing written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

runner = CliRunner()
CONFIG = """name: dry
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
train: {epochs: 3, batch_size: 32}
search:
  trials: 5
  space:
    optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}
"""


def invoke(*args):
    from scratchrun.cli.app import app

    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def config(tiny, tmp_path):
    path = tmp_path / "dry.yaml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("command", [
    ["train", "CONFIG"],
    ["sweep", "CONFIG", "optimizer.name=sgd,adam"],
    ["compare-optimizers", "CONFIG"],
    ["overfit-study", "CONFIG"],
    ["bn-study", "CONFIG", "--scales", "2"],
    ["init-study", "CONFIG"],
    ["search", "CONFIG"],
])
def test_dry_run_prints_the_plan_and_an_estimate_and_writes_nothing(config, tmp_path, command):
    runs = tmp_path / "runs"
    result = invoke(*[config if a == "CONFIG" else a for a in command], "--dry-run", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    assert "dry run:" in result.output and "estimated" in result.output and "nothing was written" in result.output
    assert not runs.exists()


def test_dry_run_lists_what_would_run(config, tmp_path):
    result = invoke("sweep", config, "optimizer.name=sgd,adam", "--seeds", "2", "--dry-run")
    assert all(name in result.output for name in ("sgd-seed0", "sgd-seed1", "adam-seed0", "adam-seed1"))
    assert "4 run(s)" in result.output
    result = invoke("search", config, "--dry-run")
    assert "5 trials" in result.output and "optimizer.lr" in result.output
    result = invoke("train", config, "model.hidden=[16]", "--dry-run")
    assert "hidden: [16]" in result.output and "240 images" in result.output


def test_a_bad_config_fails_the_dry_run_too(config, tmp_path):
    result = invoke("train", config, "model.hiden=[16]", "--dry-run")
    assert result.exit_code == 2 and "model.hiden" in result.output


@pytest.mark.parametrize("override, words", [("data.train_size=1000", "data.train_size = 1000"),
                                             ("data.test_size=100", "data.test_size = 100")])
def test_a_dry_run_refuses_the_sizes_a_real_run_refuses(config, tmp_path, override, words):
    dry = invoke("train", config, override, "--dry-run", "--runs-dir", tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    real = invoke("train", config, override, "--runs-dir", tmp_path / "runs")
    assert dry.exit_code == real.exit_code == 2 and words in dry.output and words in real.output
    assert not (tmp_path / "runs").exists()  # and the real one made no folder at all
