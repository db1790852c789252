"""The Python API gives what the commands give: the same run folders, the same results.csv, errors as exceptions."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scratchrun
from scratchrun.cli.app import app
from scratchrun.errors import ConfigError, ScratchrunError

SMALL = """name: small
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [16]}
optimizer: {name: adam}
train: {epochs: 2, batch_size: 32}
"""
STUDY_OVERRIDES = ["data.dataset=tiny", "train.iterations=12", "train.eval_every=6", "model.hidden=[8]"]


def rows(path: Path, without: tuple[str, ...] = ("wall_time_s",)) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in without} for row in csv.DictReader(f)]


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in parent.iterdir() if p.is_dir()]
    return folder


def test_importing_scratchrun_loads_neither_numpy_nor_the_cli():
    code = "import sys, scratchrun; print(sorted(m for m in ('numpy', 'typer', 'rich', 'pandas') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_api_is_listed_and_an_unknown_name_is_an_attribute_error():
    assert {"train", "study", "sweep", "compare_optimizers", "search", "load_runs",
            "load_history"} <= set(dir(scratchrun))
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        scratchrun.trian  # noqa: B018


def test_train_returns_the_run_the_command_would_write(tiny, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    run = scratchrun.train(config, ["train.epochs=3"], runs_dir=tmp_path / "api")
    assert run.status == "completed" and run.folder.parent == tmp_path / "api"
    assert run.config["train.epochs"] == 3 and run.config["name"] == "small"
    assert [row["epoch"] for row in run.history] == [0, 1, 2, 3]
    assert run.final["val_acc"] == run.history[-1]["val_acc"] and run.final["test_acc"] is not None
    assert run.losses.shape == (3 * 8, 3)  # 240 training images in batches of 32: 8 steps an epoch
    assert CliRunner().invoke(app, ["train", str(config), "train.epochs=3",
                                    "--runs-dir", str(tmp_path / "cli")]).exit_code == 0
    cli_run = only_folder(tmp_path / "cli")
    assert (cli_run / "steps.csv").read_bytes() == (run.folder / "steps.csv").read_bytes()
    assert rows(cli_run / "metrics.csv", ("seconds",)) == rows(run.folder / "metrics.csv", ("seconds",))


def test_train_takes_a_mapping_and_names_bad_values_like_the_command(tiny, tmp_path):
    run = scratchrun.train({"data": {"dataset": "tiny"}, "model": {"hidden": [8]}, "train": {"epochs": 1}},
                           runs_dir=tmp_path / "runs")
    assert run.status == "completed" and run.folder.name.endswith("_run")
    with pytest.raises(ConfigError, match="model.activation = `rleu` is not allowed"):
        scratchrun.train({"model": {"activation": "rleu"}}, runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="is not a folder"):
        scratchrun.train({"data": {"dataset": "tiny"}}, runs_dir=tmp_path / "runs", data_dir=tmp_path / "nowhere")
    assert len(list((tmp_path / "runs").iterdir())) == 1  # no folder for the refused ones


def test_a_study_through_the_api_gives_the_commands_results_csv(tiny, tmp_path):
    study = scratchrun.compare_optimizers(overrides=STUDY_OVERRIDES, optimizers=["sgd", "adam"], seeds=2, jobs=1,
                                          runs_dir=tmp_path / "api")
    result = CliRunner().invoke(app, ["compare-optimizers", *STUDY_OVERRIDES, "--optimizers", "sgd,adam",
                                      "--seeds", "2", "--jobs", "1", "--runs-dir", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    cli = only_folder(tmp_path / "cli")
    assert rows(study.folder / "results.csv") == rows(cli / "results.csv")
    assert rows(study.folder / "summary.csv", ()) != [] and study.kind == "compare-optimizers"
    assert [(r["variant"], r["seed"], r["status"]) for r in study.results] == [
        ("sgd", 0, "completed"), ("sgd", 1, "completed"), ("adam", 0, "completed"), ("adam", 1, "completed")]
    assert [run.status for run in study.runs] == ["completed"] * 4 and not study.failed
    assert {p.name for p in study.folder.glob("*.png")} == {"loss.png", "accuracy.png", "paths.png"}


def test_sweep_takes_a_mapping_of_axes(tiny, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    study = scratchrun.sweep(config, {"optimizer.name": ["sgd", "adam"], "train.batch_size": [64]}, jobs=1,
                             runs_dir=tmp_path / "runs")
    assert study.kind == "sweep-small" and [r["variant"] for r in study.summary] == ["sgd", "adam"]


def test_a_study_run_draws_its_curves_when_asked(tiny, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    study = scratchrun.sweep(config, {"optimizer.name": ["sgd"]}, jobs=1, runs_dir=tmp_path / "runs")
    (run,) = study.runs
    assert not (run.folder / "curves.png").exists()
    assert run.curves() == run.folder / "curves.png" and run.curves().read_bytes().startswith(b"\x89PNG")


def test_study_options_are_checked_before_anything_is_written(tiny, tmp_path):
    with pytest.raises(ConfigError, match="adamw"):
        scratchrun.compare_optimizers(overrides=STUDY_OVERRIDES, optimizers=["sgd", "adamw"],
                                      runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="Study `nope` is not allowed"):
        scratchrun.study("nope", runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="--seeds 0 is not allowed"):
        scratchrun.compare_optimizers(overrides=STUDY_OVERRIDES, seeds=0, runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="--scales 0 is not allowed"):
        scratchrun.bn_study(overrides=STUDY_OVERRIDES, scales=0, runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="lists no values"):
        scratchrun.sweep({"data": {"dataset": "tiny"}}, {"optimizer.name": []}, runs_dir=tmp_path / "runs")
    with pytest.raises(ScratchrunError, match="--executor `spark` is not allowed"):
        scratchrun.bn_study(overrides=STUDY_OVERRIDES, scales=1, executor="spark", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


@pytest.mark.dask
def test_every_study_runs_on_a_dask_cluster_with_the_local_results(tiny, tmp_path):
    """--executor dask is not only for search: a study's tables and runs are the local executor's, timings aside."""
    pytest.importorskip("distributed")
    for executor in ("local", "dask"):
        result = CliRunner().invoke(app, ["overfit-study", *STUDY_OVERRIDES, "data.train_size=200",
                                          "--executor", executor, "--jobs", "2",
                                          "--runs-dir", str(tmp_path / executor)])
        assert result.exit_code == 0, result.output
    local, dask = only_folder(tmp_path / "local"), only_folder(tmp_path / "dask")
    assert rows(local / "results.csv") == rows(dask / "results.csv")
    assert [r["status"] for r in rows(dask / "results.csv")] == ["completed"] * 4
    for row in rows(local / "results.csv"):
        assert (local / row["run_dir"] / "steps.csv").read_bytes() == (dask / row["run_dir"] / "steps.csv").read_bytes()
    assert (dask / "overfit.png").is_file() and (dask / "README.md").is_file()


def test_every_import_the_docs_show_works():
    import re

    root = Path(__file__).resolve().parents[1]
    pages = "".join(p.read_text(encoding="utf-8") for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    blocks = re.findall(r"```python\n(.*?)```", pages, flags=re.S)
    imports = [line for block in blocks for line in block.splitlines() if re.match(r"(from|import) scratchrun\b", line)]
    assert len(imports) >= 6
    for line in imports:
        exec(line, {})  # noqa: S102 - our own docs' import lines
