"""The study commands (sweep, compare-optimizers, the chapter-6 studies) with any number of workers, and resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app

runner = CliRunner()

SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
         "train: {epochs: 2, batch_size: 32}\n")


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sweep(tmp_path: Path, runs: str, *extra: str):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["sweep", str(config), "optimizer.name=sgd,adam", "model.dropout=0,0.3",
                                 "--seeds", "2", "--runs-dir", str(tmp_path / runs), *extra])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / runs).iterdir()
    return folder


def test_sweep_writes_a_study_folder_identical_whatever_the_number_of_jobs(tiny, tmp_path):
    one, two = sweep(tmp_path, "one", "--jobs", "1"), sweep(tmp_path, "two", "--jobs", "2")
    assert {p.name for p in one.iterdir()} >= {"study.yaml", "results.csv", "summary.csv", "sgd-0-seed0",
                                               "adam-0.3-seed1"}
    rows_one, rows_two = read_rows(one / "results.csv"), read_rows(two / "results.csv")
    assert list(rows_one[0]) == ["variant", "seed", "status", "run_dir", "train_loss", "train_acc", "val_loss",
                                 "val_acc", "test_loss", "test_acc", "wall_time_s"]
    assert [(r["variant"], r["seed"], r["status"]) for r in rows_one] == [
        (v, s, "completed") for v in ("sgd-0", "sgd-0.3", "adam-0", "adam-0.3") for s in ("0", "1")]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]
    assert strip(rows_one) == strip(rows_two)
    for row in rows_one:
        assert (one / row["run_dir"] / "summary.json").is_file()
    summary = read_rows(one / "summary.csv")
    assert [r["variant"] for r in summary] == ["sgd-0", "sgd-0.3", "adam-0", "adam-0.3"]
    assert all(r["runs"] == "2" for r in summary)
    seeds = [float(r["val_acc"]) for r in rows_one if r["variant"] == "adam-0"]
    assert float(summary[2]["val_acc_mean"]) == pytest.approx(sum(seeds) / 2)


def test_sweep_bad_axis_exits_2_without_a_folder(tiny, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["sweep", str(config), "model.activation=relu,rleu",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "rleu" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_compare_optimizers_on_the_tiny_fixture_writes_its_figures(tiny, tmp_path):
    result = runner.invoke(app, ["compare-optimizers", "data.dataset=tiny", "train.iterations=12", "train.eval_every=4",
                                 "--optimizers", "sgd,adam", "--lr", "sgd=0.05", "--runs-dir", str(tmp_path / "runs"),
                                 "--jobs", "1"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert {"loss.png", "accuracy.png", "paths.png", "results.csv", "summary.csv", "study.yaml", "README.md"} <= {
        p.name for p in folder.iterdir()}
    assert "![paths](paths.png)" in (folder / "README.md").read_text()
    rows = read_rows(folder / "results.csv")
    assert [r["variant"] for r in rows] == ["sgd", "adam"]
    import yaml

    study = yaml.safe_load((folder / "study.yaml").read_text())
    assert study["variants"][0] == {"name": "sgd", "set": {"optimizer": {"name": "sgd", "lr": 0.05}}}
    assert study["base"]["train"]["batch_size"] == 128  # the book's setting, with the overrides on top


@pytest.mark.parametrize("args, fragment", [(["--optimizers", "sgd,adamw"], "adamw"), (["--lr", "adam"], "--lr"),
                                            (["--optimizers", "sgd,adam,sgd"], "`sgd` is given more than once")])
def test_compare_optimizers_bad_options(tiny, tmp_path, args, fragment):
    result = runner.invoke(app, ["compare-optimizers", "data.dataset=tiny", *args,
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and fragment in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.mnist
def test_compare_optimizers_on_mnist_sgd_is_slowest(mnist_dir, tmp_path):
    result = runner.invoke(app, ["compare-optimizers", "train.iterations=300", "train.eval_every=300",
                                 "--optimizers", "sgd,momentum,adagrad,adam", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    from scratchrun.records.reader import read_steps

    final = {}
    for row in read_rows(folder / "results.csv"):
        final[row["variant"]] = read_steps(folder / row["run_dir"])[-50:, 2].mean()  # the last 50 minibatches
    assert max(final, key=final.get) == "sgd", final


@pytest.mark.parametrize("command, figure, variants", [
    ("overfit-study", "overfit.png", ["none", "weight-decay", "dropout", "both"]),
    ("bn-study", "bn.png", ["bn-1", "plain-1", "bn-0.0001", "plain-0.0001"]),
])
def test_presets_on_the_tiny_fixture(tiny, tmp_path, command, figure, variants):
    extra = ["--scales", "2"] if command == "bn-study" else []
    result = runner.invoke(app, [command, "data.dataset=tiny", "data.train_size=50", "train.epochs=2", *extra,
                                 "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / figure).stat().st_size > 0
    assert [r["variant"] for r in read_rows(folder / "summary.csv")] == variants


def final_acc(folder: Path, variant: str, metric: str) -> float:
    (row,) = [r for r in read_rows(folder / "results.csv") if r["variant"] == variant]
    return float(row[metric])


@pytest.mark.mnist
def test_bn_study_on_mnist_batch_norm_learns_where_the_plain_net_does_not(mnist_dir, tmp_path):
    result = runner.invoke(app, ["bn-study", "--scales", "3", "train.epochs=6", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert final_acc(folder, "bn-0.01", "train_acc") > final_acc(folder, "plain-0.01", "train_acc") + 0.2


@pytest.mark.mnist
def test_overfit_study_on_mnist_weight_decay_narrows_the_gap(mnist_dir, tmp_path):
    result = runner.invoke(app, ["overfit-study", "train.epochs=100", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    gap = {v: final_acc(folder, v, "train_acc") - final_acc(folder, v, "val_acc") for v in ("none", "weight-decay")}
    assert gap["none"] > gap["weight-decay"] > 0, gap


def test_init_study_on_the_tiny_fixture(tiny, tmp_path):
    result = runner.invoke(app, ["init-study", "data.dataset=tiny", "train.iterations=6", "train.eval_every=3",
                                 "--inits", "std:0.01,he", "--activations", "sigmoid,relu",
                                 "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert {"loss.png", "activations.png", "activations.csv", "gradients.png"} <= {p.name for p in folder.iterdir()}
    rows = read_rows(folder / "activations.csv")
    assert len(rows) == 2 * 2 * 5
    he_relu_5 = next(r for r in rows if (r["init"], r["activation"], r["layer"]) == ("he", "relu", "5"))
    small_relu_5 = next(r for r in rows if (r["init"], r["activation"], r["layer"]) == ("std:0.01", "relu", "5"))
    # std 0.01 shrinks layer by layer, He keeps it
    assert float(small_relu_5["std"]) < 1e-4 < 0.3 < float(he_relu_5["std"])


def test_init_study_rejects_a_bad_init(tiny, tmp_path):
    result = runner.invoke(app, ["init-study", "--inits", "std,he", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "std:<positive number>" in result.output


@pytest.mark.mnist
def test_init_study_on_mnist_small_weights_do_not_learn_and_he_does(mnist_dir, tmp_path):
    result = runner.invoke(app, ["init-study", "train.iterations=300", "train.eval_every=300", "--inits", "std:0.01,he",
                                 "--activations", "relu", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert abs(final_acc(folder, "std:0.01", "train_loss") - 2.3026) < 0.02  # still ln(10): nothing learnt
    assert final_acc(folder, "he", "train_loss") < 1.0


def test_resume_trains_only_what_did_not_complete(tiny, tmp_path):
    import json

    args = ["compare-optimizers", "data.dataset=tiny", "train.iterations=6", "--optimizers", "sgd,adam,momentum",
            "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"]
    assert runner.invoke(app, args).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    before = read_rows(folder / "results.csv")
    # as if the study had been stopped during `adam` and before `momentum`
    summary_path = folder / "adam-seed0" / "summary.json"
    summary_path.write_text(json.dumps({**json.loads(summary_path.read_text()), "status": "interrupted"}))
    import shutil

    shutil.rmtree(folder / "momentum-seed0")
    (folder / "results.csv").unlink()
    kept_mtime = (folder / "sgd-seed0" / "steps.csv").stat().st_mtime_ns

    result = runner.invoke(app, ["compare-optimizers", "--resume", str(folder), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "1 already completed, 2 to train" in " ".join(result.output.split())
    assert (folder / "sgd-seed0" / "steps.csv").stat().st_mtime_ns == kept_mtime  # not trained again
    after = read_rows(folder / "results.csv")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]
    assert strip(after) == strip(before)  # the reruns give the same numbers
    assert len(list((tmp_path / "runs").iterdir())) == 1  # no new study folder


def test_resume_refuses_another_kind_of_study(tiny, tmp_path):
    args = ["overfit-study", "data.dataset=tiny", "data.train_size=20", "train.epochs=1",
            "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"]
    assert runner.invoke(app, args).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    result = runner.invoke(app, ["bn-study", "--resume", str(folder)])
    assert result.exit_code == 2 and "overfit-study" in result.output


def test_a_study_without_a_validation_set_still_draws_its_figure(tiny, tmp_path):
    result = runner.invoke(app, ["overfit-study", "data.dataset=tiny", "data.val_fraction=0", "data.train_size=40",
                                 "train.epochs=2", "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "overfit.png").stat().st_size > 0
    assert all(r["val_acc"] == "" for r in read_rows(folder / "results.csv"))


@pytest.mark.parametrize("command", [["sweep", "CONFIG", "seed=1"], ["compare-optimizers"], ["search", "CONFIG"]])
def test_every_study_command_names_a_data_dir_that_is_not_a_folder(tiny, tmp_path, command):
    config = tmp_path / "c.yaml"
    config.write_text(SMALL + "search: {space: {optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}}}\n")
    args = [str(config) if a == "CONFIG" else a for a in command]
    result = runner.invoke(app, [*args, "data.dataset=tiny", "--data-dir", str(tmp_path / "nope"),
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "nope" in result.output and "is not a folder" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_run_that_fails_with_a_bug_is_recorded_and_the_study_exits_1(tiny, tmp_path, monkeypatch):
    from scratchrun.nn.optimizers import SGD

    def broken(self, params, grads):
        raise RuntimeError("boom")

    monkeypatch.setattr(SGD, "update", broken)
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["sweep", str(config), "optimizer.name=sgd,adam", "--jobs", "1",
                                 "--runs-dir", str(tmp_path / "runs")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "1 run(s) failed, e.g." in output and "RuntimeError: boom" in output
    assert "error.txt" in output and "Traceback" not in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    rows = {row["variant"]: row for row in read_rows(folder / "results.csv")}
    assert (rows["sgd"]["status"], rows["adam"]["status"]) == ("failed", "completed")  # the other run still trained
    assert "RuntimeError: boom" in (folder / rows["sgd"]["run_dir"] / "error.txt").read_text()
    assert (folder / "summary.csv").is_file()


def test_a_study_folder_file_that_cannot_be_written_is_one_sentence(tiny, tmp_path, monkeypatch):
    """A full disk when the tables or figures are written: the runs are kept, the sentence says what to do."""
    import errno

    from scratchrun.experiments import study_folder

    def full(path, rows, columns):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(study_folder, "write_csv", full)
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["sweep", str(config), "optimizer.name=sgd,adam", "--jobs", "1",
                                 "--runs-dir", str(tmp_path / "runs")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "cannot be written (No space left on device, ENOSPC)" in output and "--resume" in output
    assert "Traceback" not in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert not (folder / "results.csv").exists() and (folder / "sgd-seed0" / "summary.json").is_file()


def test_a_figure_drawn_while_the_runs_train_that_cannot_be_written_is_one_sentence(tiny, tmp_path, monkeypatch):
    """init-study draws its activation histograms in a thread while its runs train: a full disk there is the same
    sentence as anywhere in the study folder, after the runs and their table."""
    import errno

    import scratchrun.plots.study as study_figures

    real = study_figures.save

    def full_for_activations(fig, path, dpi=110):
        if path.name == "activations.png":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(fig, path, dpi)

    monkeypatch.setattr(study_figures, "save", full_for_activations)
    result = runner.invoke(app, ["init-study", "data.dataset=tiny", "train.iterations=4", "--inits", "std:0.01,he",
                                 "--activations", "relu", "--jobs", "1", "--runs-dir", str(tmp_path / "runs")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "activations.png cannot be written (No space left on device, ENOSPC)" in output and "--resume" in output
    assert "Traceback" not in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "results.csv").is_file() and not (folder / "activations.png").exists()


def test_a_damaged_study_yaml_is_a_sentence_on_resume(tiny, tmp_path):
    folder = tmp_path / "runs" / "2026-01-01_00-00-00_sweep-small"
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_bytes(b"study: sweep-small\nbase: \xff\xfe\n")
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = runner.invoke(app, ["sweep", str(config), "optimizer.name=sgd", "--resume", str(folder)])
    assert result.exit_code == 2 and "is not a study this version can resume" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert {p.name for p in folder.iterdir()} <= {".lock", "study.yaml"}  # nothing trained, nothing deleted
    assert (folder / "study.yaml").read_bytes() == b"study: sweep-small\nbase: \xff\xfe\n"


def test_a_study_run_gets_its_curves_on_first_show_not_while_the_study_waits(tiny, tmp_path):
    folder = sweep(tmp_path, "runs", "--jobs", "1")
    run = folder / read_rows(folder / "results.csv")[0]["run_dir"]
    assert not (run / "curves.png").exists()  # the study did not wait for it
    first = runner.invoke(app, ["show", str(run)])
    assert first.exit_code == 0, first.output
    assert f"curves: {run / 'curves.png'} (drawn now)" in " ".join(first.output.split())
    drawn = (run / "curves.png").read_bytes()
    assert drawn.startswith(b"\x89PNG") and len(drawn) > 10_000
    second = runner.invoke(app, ["show", str(run)])
    assert "(drawn now)" not in second.output and (run / "curves.png").read_bytes() == drawn


def test_show_says_why_a_run_curves_cannot_be_drawn(tiny, tmp_path, monkeypatch):
    import errno

    import scratchrun.plots.figure as figure

    folder = sweep(tmp_path, "runs", "--jobs", "1")
    run = folder / read_rows(folder / "results.csv")[0]["run_dir"]

    def full_disk(fig, path, dpi=110):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(figure, "save", full_disk)
    result = runner.invoke(app, ["show", str(run)])
    assert result.exit_code == 0, result.output
    assert "(cannot be drawn: No space left on device)" in result.output
    assert not (run / "curves.png").exists()
