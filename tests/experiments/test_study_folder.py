"""The study folder (experiments/study_folder.py): what `--resume` keeps is only what completed with all its files."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.records.index import read_run
from scratchrun.records.reader import COMPLETED_FILES

runner = CliRunner()


def test_resume_trains_again_a_completed_run_whose_weights_or_logs_are_gone(tiny, tmp_path):
    """As a full disk or a kill -9 between the summary and the weights left them with an older scratchrun."""
    args = ["compare-optimizers", "data.dataset=tiny", "train.iterations=6", "--optimizers", "sgd,adam,momentum",
            "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"]
    assert runner.invoke(app, args).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "results.csv", newline="") as f:
        before = list(csv.DictReader(f))
    weights = folder / "sgd-seed0" / "model.npz"
    weights.write_bytes(weights.read_bytes()[:200])  # truncated
    (folder / "adam-seed0" / "metrics.csv").unlink()
    assert [read_run(folder / run).status for run in ("sgd-seed0", "adam-seed0", "momentum-seed0")] == [
        "incomplete", "incomplete", "completed"]
    kept = (folder / "momentum-seed0" / "steps.csv").stat().st_mtime_ns

    result = runner.invoke(app, ["compare-optimizers", "--resume", str(folder), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "1 already completed, 2 to train" in " ".join(result.output.split())
    assert (folder / "momentum-seed0" / "steps.csv").stat().st_mtime_ns == kept  # not trained again
    for run in ("sgd-seed0", "adam-seed0", "momentum-seed0"):
        assert read_run(folder / run).status == "completed"
        assert all((folder / run / name).is_file() for name in COMPLETED_FILES)
        assert json.loads((folder / run / "summary.json").read_text())["status"] == "completed"
    with open(folder / "results.csv", newline="") as f:
        after = list(csv.DictReader(f))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]
    assert strip(after) == strip(before)  # the retrained runs give the same numbers
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["adam-seed0", "momentum-seed0", "sgd-seed0"]


def test_a_run_whose_weights_cannot_be_written_fails_alone_and_resume_trains_it_again(tiny, tmp_path, monkeypatch):
    """A full disk at one run's model.npz: that run is `failed` (no summary says completed), the others go on, the
    tables are written, and `--resume` trains it again."""
    from scratchrun.records import files
    from tests.records.test_files import filling

    real, failures = files._open, []

    def full_once(path, buffering=-1):
        if path.name == ".model.npz.tmp" and not failures:
            failures.append(path.parent.name)
            return filling(path, 0, buffering)
        return real(path, buffering)

    monkeypatch.setattr(files, "_open", full_once)
    args = ["compare-optimizers", "data.dataset=tiny", "train.iterations=6", "--optimizers", "sgd,adam",
            "--runs-dir", str(tmp_path / "runs"), "--jobs", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and failures == ["sgd-seed0"]
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "results.csv", newline="") as f:
        rows = {row["variant"]: row for row in csv.DictReader(f)}
    assert (rows["sgd"]["status"], rows["adam"]["status"]) == ("failed", "completed")
    summary = json.loads((folder / "sgd-seed0" / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["message"] == (f"{folder / 'sgd-seed0' / 'model.npz'} cannot be written "
                                  "(No space left on device, ENOSPC)")
    assert not (folder / "sgd-seed0" / "model.npz").exists()

    result = runner.invoke(app, ["compare-optimizers", "--resume", str(folder), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert read_run(folder / "sgd-seed0").status == "completed" and (folder / "sgd-seed0" / "model.npz").is_file()


def test_study_yaml_keeps_the_figures_a_study_declares_and_resume_draws_those(tiny, tmp_path, monkeypatch):
    """bn-study --scales 2 resumed by a `bn-study` whose default is 16 scales draws the 2 panels it trained, read
    from study.yaml; a study.yaml of an earlier version, without figures, resumes with the command's."""
    import yaml

    import scratchrun.plots.study as plots
    from scratchrun.experiments.presets import define_study
    from scratchrun.experiments.study_folder import read_study

    args = ["bn-study", "data.dataset=tiny", "data.train_size=50", "train.epochs=1", "--jobs", "1"]
    assert runner.invoke(app, [*args, "--scales", "2", "--runs-dir", str(tmp_path / "runs")]).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    saved = read_study(folder).figures
    assert saved == define_study("bn-study", scales=2).figures
    (bn,) = saved
    assert [p.title for p in bn.panels] == ["weight std 1", "weight std 0.0001"] and bn.file == "bn.png"
    assert bn.panels[1].lines == {"bn-0.0001": "batch norm", "plain-0.0001": "plain"}

    drawn = []
    monkeypatch.setattr(plots, "study_figure", lambda figure, runs: drawn.append(figure) or plots.subplots()[0])
    (folder / "plain-1-seed0" / "summary.json").write_text('{"status": "interrupted"}')
    assert runner.invoke(app, ["bn-study", "--resume", str(folder), "--jobs", "1"]).exit_code == 0
    assert drawn == [bn]
    study = yaml.safe_load((folder / "study.yaml").read_text())
    del study["figures"]
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    assert read_study(folder).figures is None
    (folder / "plain-1-seed0" / "summary.json").write_text('{"status": "interrupted"}')
    assert runner.invoke(app, ["bn-study", "--resume", str(folder), "--jobs", "1"]).exit_code == 0
    assert [len(f.panels) for f in drawn] == [2, 16]  # the command's own, as before studies saved their figures
