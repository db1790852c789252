"""The `train` command through Typer's runner, on the tiny synthetic dataset."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from scratchrun.cli.app import app

runner = CliRunner()

SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16, 16]}\n"
         "train: {epochs: 3, batch_size: 32}\n")


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def config_file(tmp_path: Path, text: str = SMALL) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return path


def only_run(runs: Path) -> Path:
    folders = [p for p in runs.iterdir()]
    assert len(folders) == 1, folders
    return folders[0]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_writes_a_complete_run_folder(tiny, tmp_path):
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path), "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    run = only_run(runs)
    assert run.name.endswith("_small") and run.name[:19].count("-") == 4
    assert str(run) in result.output
    assert {"config.yaml", "steps.csv", "metrics.csv", "summary.json", "model.npz", "curves.png"} <= {
        p.name for p in run.iterdir()}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert set(summary["final"]) == {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"}
    assert all(isinstance(v, float) for v in summary["final"].values())
    assert summary["seed"] == 0 and summary["samples_per_s"] > 0 and summary["wall_time_s"] > 0
    assert set(summary["versions"]) == {"python", "numpy", "scratchrun"}
    assert "git_commit" in summary
    # 240 training images at batch 32 = 8 updates per epoch, 3 epochs
    steps = read_csv(run / "steps.csv")
    assert [int(r["iteration"]) for r in steps] == list(range(1, 25))
    assert [int(r["epoch"]) for r in steps] == [1] * 8 + [2] * 8 + [3] * 8
    metrics = read_csv(run / "metrics.csv")
    assert [int(r["iteration"]) for r in metrics] == [0, 8, 16, 24]
    assert list(metrics[0]) == ["epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert summary["best_val_acc"] == max(float(r["val_acc"]) for r in metrics)
    model = np.load(run / "model.npz", allow_pickle=False)
    assert sorted(model.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert model["W1"].shape == (784, 16) and model["W1"].dtype == np.float32


def test_rerunning_the_saved_config_gives_identical_numbers(tiny, tmp_path):
    first_runs, second_runs = tmp_path / "a", tmp_path / "b"
    assert invoke("train", config_file(tmp_path, SMALL + "seed: 3\n"), "model.dropout=0.3",
                  "--runs-dir", first_runs).exit_code == 0
    first = only_run(first_runs)
    result = invoke("train", first / "config.yaml", "--runs-dir", second_runs)
    assert result.exit_code == 0, result.output
    second = only_run(second_runs)
    assert (first / "steps.csv").read_bytes() == (second / "steps.csv").read_bytes()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(read_csv(first / "metrics.csv")) == strip(read_csv(second / "metrics.csv"))
    assert (first / "config.yaml").read_text() == (second / "config.yaml").read_text()


def test_a_different_seed_gives_different_numbers(tiny, tmp_path):
    assert invoke("train", config_file(tmp_path), "--runs-dir", tmp_path / "a").exit_code == 0
    assert invoke("train", config_file(tmp_path), "seed=1", "--runs-dir", tmp_path / "b").exit_code == 0
    a, b = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    assert (a / "steps.csv").read_text() != (b / "steps.csv").read_text()


def test_two_runs_with_the_same_name_never_collide(tiny, tmp_path):
    runs = tmp_path / "runs"
    for _ in range(3):
        assert invoke("train", config_file(tmp_path), "train.epochs=1", "--runs-dir", runs, "--quiet").exit_code == 0
    assert len(list(runs.iterdir())) == 3


def test_name_option_is_made_a_safe_file_name(tiny, tmp_path):
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path), "train.epochs=1", "--runs-dir", runs,
                    "--name", "../../etc/pass\nwd")
    assert result.exit_code == 0, result.output
    run = only_run(runs)
    assert run.parent == runs and ".." not in run.name and "\n" not in run.name
    assert run.name.endswith("_etc-pass-wd")


def test_a_unicode_run_name_keeps_its_letters(tiny, tmp_path):
    runs = tmp_path / "runs"
    with warnings.catch_warnings(record=True) as caught:  # the figure's font has no CJK glyphs: no noise about it
        result = invoke("train", config_file(tmp_path), "train.epochs=1", "--runs-dir", runs, "--name", "日本語-run")
    assert result.exit_code == 0, result.output
    assert not [w for w in caught if "Glyph" in str(w.message)] and "Glyph" not in result.output
    run = only_run(runs)
    assert run.name.endswith("_日本語-run") and str(run) in result.output
    assert (run / "curves.png").stat().st_size > 0
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_quiet_prints_only_the_run_folder(tiny, tmp_path):
    result = invoke("train", config_file(tmp_path), "train.epochs=1", "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(only_run(tmp_path / "runs"))


def test_iterations_mode_evaluates_each_epoch_and_at_the_end(tiny, tmp_path):
    runs = tmp_path / "runs"
    assert invoke("train", config_file(tmp_path), "train.iterations=20", "--runs-dir", runs).exit_code == 0
    metrics = read_csv(only_run(runs) / "metrics.csv")
    assert [int(r["iteration"]) for r in metrics] == [0, 8, 16, 20]
    assert metrics[-1]["epoch"] == "2.5"


def test_no_validation_set_when_val_fraction_is_zero(tiny, tmp_path):
    runs = tmp_path / "runs"
    assert invoke("train", config_file(tmp_path), "data.val_fraction=0", "train.epochs=1",
                  "--runs-dir", runs).exit_code == 0
    summary = json.loads((only_run(runs) / "summary.json").read_text())
    assert summary["final"]["val_acc"] is None and summary["best_val_acc"] is None
    assert summary["final"]["test_acc"] is not None


def test_a_diverging_run_is_recorded_and_exits_non_zero(tiny, tmp_path):
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path), "optimizer={name: sgd, lr: 1.0e+30}", "--runs-dir", runs)
    assert result.exit_code == 3, result.output
    assert "diverged" in result.output
    run = only_run(runs)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged"
    steps = read_csv(run / "steps.csv")
    assert steps and not np.isfinite(float(steps[-1]["loss"]))
    assert summary["iterations"] == len(steps)
    assert (run / "curves.png").stat().st_size > 0


# ---------------------------------------------------------------------------------- bad input, no folder left
@pytest.mark.parametrize(
    "text, overrides, fragments",
    [
        (SMALL, ["optimizer.lr=-1"], ["optimizer.lr = `-1`", "> 0"]),
        (SMALL, ["model.activation=rleu"], ["model.activation = `rleu`", "relu, sigmoid, tanh"]),
        (SMALL, ["optimizer.name=adamw"], ["optimizer.name", "adamw"]),
        (SMALL, ["model.init=kaiming"], ["model.init", "kaiming"]),
        (SMALL, ["model.dropout=1"], ["model.dropout", "< 1"]),
        (SMALL, ["train.batch_size=0"], ["train.batch_size", ">= 1"]),
        (SMALL, ["model.hidden=[]"], ["model.hidden", "non-empty"]),
        (SMALL, ["data.val_fraction=1.5"], ["data.val_fraction", "< 1"]),
        (SMALL, ["optimizer.lr"], ["malformed", "KEY=VALUE"]),
        (SMALL, ["model.hiden=[3]"], ["did you mean `model.hidden`"]),
        (SMALL + "trian: {epochs: 1}\n", [], ["unknown key `trian`", "did you mean `train`", "line 5"]),
        ("model: {hidden: [16\n", [], ["YAML syntax error", "line"]),
        (SMALL, ["data.train_size=100000"], ["data.train_size", "240"]),
        (SMALL, ["data.test_size=1000"], ["data.test_size", "60"]),
    ],
)
def test_bad_input_gets_one_sentence_exit_2_and_no_run_folder(tiny, tmp_path, text, overrides, fragments):
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path, text), *overrides, "--runs-dir", runs)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error:")
    for fragment in fragments:
        assert fragment in result.output.replace("\n", " ")
    assert not runs.exists() or not any(runs.iterdir())


def test_missing_config_file(tmp_path):
    result = invoke("train", tmp_path / "nope.yaml", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "nope.yaml does not exist" in result.output.replace("\n", " ")


def test_corrupt_data_file_exits_1_and_leaves_no_run_folder(tiny, tmp_path):
    images = tiny / "tiny" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-40])
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path), "--runs-dir", runs)
    assert result.exit_code == 1, result.output
    assert "train-images-idx3-ubyte" in result.output and "Traceback" not in result.output
    assert not runs.exists() or not any(runs.iterdir())


def test_missing_dataset_everywhere_says_how_to_put_files_in_place(tmp_path, monkeypatch):
    from idx_fixtures import write_tiny_dataset

    from scratchrun.data.registry import DATASETS

    spec = write_tiny_dataset(tmp_path / "elsewhere", "tiny")
    monkeypatch.setitem(DATASETS, "tiny", spec)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("train", config_file(tmp_path), "--data-dir", empty, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1, result.output
    assert "--data-dir" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_unusable_runs_folder_exits_1(tiny, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke("train", config_file(tmp_path), "--runs-dir", blocker / "runs")
    assert result.exit_code == 1, result.output
    assert "a-file" in result.output and "Traceback" not in result.output


def test_help_and_module_entry_point():
    result = invoke("--help")
    assert result.exit_code == 0 and "train" in result.output
    result = invoke("train", "--help")
    assert result.exit_code == 0 and "--runs-dir" in result.output and "--data-dir" in result.output
    proc = subprocess.run([sys.executable, "-m", "scratchrun", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "train" in proc.stdout


def test_an_internal_error_is_recorded_as_failed_with_its_traceback(tiny, tmp_path, monkeypatch):
    from scratchrun.nn.model import MLP

    def broken(self, x, y):
        raise RuntimeError("boom")

    monkeypatch.setattr(MLP, "train_step", broken)
    runs = tmp_path / "runs"
    result = invoke("train", config_file(tmp_path), "--runs-dir", runs)
    assert result.exit_code == 1, result.output
    assert "error: The run failed" in result.output and "RuntimeError: boom" in result.output
    assert "Traceback" not in result.output
    run = only_run(runs)
    assert json.loads((run / "summary.json").read_text())["status"] == "failed"
    assert "RuntimeError: boom" in (run / "error.txt").read_text()
    assert len(read_csv(run / "metrics.csv")) == 1  # the evaluation before training is kept


def test_a_data_dir_that_is_not_a_folder_is_named(tiny, tmp_path):
    result = invoke("train", config_file(tmp_path), "--data-dir", tmp_path / "no-such-dir",
                    "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert "no-such-dir" in result.output and "is not a folder" in result.output


def test_a_learning_rate_written_1e_3_trains_in_a_file_and_an_override(tiny, tmp_path):
    config = tmp_path / "lr.yaml"
    config.write_text("name: lr\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
                      "train: {epochs: 1, batch_size: 32}\noptimizer: {name: sgd, lr: 1e-3}\n")
    for extra in ([], ["optimizer.lr=2e-3"]):
        result = CliRunner().invoke(app, ["train", str(config), *extra, "--runs-dir", str(tmp_path / "runs"),
                                          "--quiet"])
        assert result.exit_code == 0, result.output
        saved = yaml.safe_load((Path(result.stdout.strip().splitlines()[-1]) / "config.yaml").read_text())
        assert saved["optimizer"]["lr"] == (0.002 if extra else 0.001)
