"""One run end to end (training/run.py): a run stopped early repeats the start of the full run; a record that cannot
be written ends the run `failed` with what it measured, or leaves no folder, and never a folder that says
`completed`."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest


def test_a_run_stopped_early_is_exactly_the_start_of_the_full_run(tiny, tmp_path):
    """What lets successive halving retrain a promoted trial from scratch: the prefix repeats to the last digit."""
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.training.run import run_experiment

    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2},
                               "model": {"hidden": [16], "dropout": 0.2},
                               "train": {"epochs": 4, "batch_size": 32, "lr_schedule": "cosine"}})
    raw = load_raw("tiny", tiny)
    full = run_experiment(config, raw, tmp_path / "full", evaluate_test=False)
    part = run_experiment(config, raw, tmp_path / "part", evaluate_test=False, stop_epochs=2)
    assert (full.status, part.status, part.summary["epochs"]) == ("completed", "pruned", 2)
    full_steps = (full.run_dir / "steps.csv").read_text().splitlines()
    part_steps = (part.run_dir / "steps.csv").read_text().splitlines()
    assert part_steps == full_steps[: len(part_steps)] and len(part_steps) < len(full_steps)
    metrics = lambda run: [line.rsplit(",", 1)[0] for line in (run.run_dir / "metrics.csv").read_text().splitlines()]
    assert metrics(part) == metrics(full)[: len(metrics(part))]
    assert part.summary["final"]["test_acc"] is None


def test_a_run_spawns_its_seed_streams_once(tiny, tmp_path, monkeypatch):
    """The splits and the network draw from one spawning of the seed's streams, not one each."""
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.training import run, seeding

    spawned = []
    monkeypatch.setattr(run, "streams", lambda seed: spawned.append(seed) or seeding.streams(seed))
    config = config_from_dict({"name": "s", "seed": 3, "data": {"dataset": "tiny", "val_fraction": 0.2},
                               "model": {"hidden": [8]}, "train": {"epochs": 1, "batch_size": 32}})
    result = run.run_experiment(config, load_raw("tiny", tiny), tmp_path, evaluate_test=False, draw_curves=False)
    assert result.status == "completed" and spawned == [3]


# ----------------------------------------------------------------------------- the final metrics
def scored_from_the_saved_model(run_dir: Path) -> dict[str, tuple[float, float]]:
    """Each split of a finished run, scored by the network rebuilt from its config.yaml and model.npz alone."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from scratchrun.config.loader import load_config
    from scratchrun.data.registry import load_raw
    from scratchrun.training.run import BLAS_THREADS, build, prepare_data
    from scratchrun.training.trainer import evaluate

    config = load_config(run_dir / "config.yaml")
    data = prepare_data(config, load_raw(config.data.dataset))
    model, _, _ = build(config, data)
    with np.load(run_dir / "model.npz", allow_pickle=False) as saved:
        model.load_state(dict(saved))
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):  # as the run scored them: the same digits
        return {name: evaluate(model, split) for name, split in (("val", data.val), ("test", data.test))}


def test_the_final_test_metrics_are_the_saved_model_scored_on_the_test_split(tiny, tmp_path):
    from scratchrun import api

    config = {"name": "t", "data": {"dataset": "tiny", "val_fraction": 0.2},
              "model": {"hidden": [16], "batch_norm": True, "dropout": 0.2},  # evaluation mode matters
              "train": {"epochs": 2, "batch_size": 32}}
    run = api.train(config, runs_dir=tmp_path / "runs")
    final = json.loads((run.folder / "summary.json").read_text())["final"]
    scored = scored_from_the_saved_model(run.folder)
    assert run.status == "completed" and final["test_acc"] is not None
    assert (final["test_loss"], final["test_acc"]) == scored["test"]
    assert scored["val"] != scored["test"]  # what would pass unseen if the run scored its validation set instead
    assert (final["val_loss"], final["val_acc"]) == scored["val"]  # the last evaluation is the saved model's too


def test_training_on_the_learnable_digits_learns_and_on_noise_does_not(digits, tiny, tmp_path):
    """Without MNIST: the same short run that learns the synthetic digits stays near chance on noise, so the accuracy
    comes from learning the training set, not from the test labels or a metric computed wrong."""
    from scratchrun import api

    config = lambda dataset: {"name": dataset, "data": {"dataset": dataset, "val_fraction": 0.2},
                              "model": {"hidden": [16]}, "optimizer": {"name": "sgd", "lr": 0.1},
                              "train": {"epochs": 5, "batch_size": 32}}
    learnt = api.train(config("digits"), runs_dir=tmp_path / "runs")
    noise = api.train(config("tiny"), runs_dir=tmp_path / "runs")
    assert learnt.final["test_acc"] > 0.9 and learnt.final["val_acc"] > 0.9, learnt.final  # chance is 0.1
    assert learnt.history[0]["val_acc"] < learnt.final["val_acc"]  # it got there by training
    assert noise.final["test_acc"] < 0.3, noise.final


# ----------------------------------------------------------------------------- a record that cannot be written
SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16, 16]}\n"
         "train: {epochs: 3, batch_size: 32}\n")
ENOSPC = "No space left on device, ENOSPC"


def full_disk_at(monkeypatch, point: str) -> None:
    """Make the disk fill up at one write point of a run: `files._open` hands out a file with no room (or, for a log,
    room for its header and a few rows, so that the disk fills in the middle of a row)."""
    from scratchrun.records import files
    from tests.records.test_files import filling

    real, opened = files._open, []
    # 8 steps are ~190 bytes, an evaluation ~88
    logs = {"steps.csv": 22 + 250, "metrics.csv": 63 + 200, "steps.csv header": 0}

    def fake(path, buffering=-1):
        name = Path(path).name
        opened.append(name)
        summaries = opened.count(".summary.json.tmp")
        full = {"config.yaml": name == ".config.yaml.tmp",
                "summary.json (first)": name == ".summary.json.tmp" and summaries == 1,
                "heartbeat": name == ".summary.json.tmp" and summaries == 6,  # at the 4th update
                "model.npz": name == ".model.npz.tmp",
                "curves.png": name == ".curves.png.tmp",
                "summary.json (final)": name == ".summary.json.tmp" and (Path(path).parent / "model.npz").exists(),
                }.get(point, point.split()[0] == name)
        return filling(path, logs.get(point, 0), buffering) if full else real(path, buffering)

    monkeypatch.setattr(files, "_open", fake)
    if point == "heartbeat":  # ten seconds pass between any two looks at the clock: every step is time to beat
        ticks = iter(range(0, 10**9, 10))
        monkeypatch.setattr("scratchrun.records.writer.RunRecord.clock", staticmethod(lambda: float(next(ticks))))


def whole_rows(path: Path, cells: int) -> int:
    """The rows of a run's CSV log after its header, checking that it ends at a line end with whole rows only."""
    text = path.read_bytes().decode("utf-8")
    assert text.endswith("\r\n"), text[-40:]
    lines = text.split("\r\n")[:-1]
    assert all(len(line.split(",")) == cells for line in lines), lines
    return len(lines) - 1


@pytest.mark.parametrize("point", ["config.yaml", "summary.json (first)", "steps.csv header"])
def test_a_run_that_cannot_write_its_first_files_leaves_no_folder(tiny, tmp_path, monkeypatch, point):
    from tests.cli.test_inspect import invoke

    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    full_disk_at(monkeypatch, point)
    result = invoke("train", config, "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.exit_code == 1, result.output
    file = point.split()[0]
    assert re.fullmatch(rf"error: \S+/\d{{4}}-\S+_small/{re.escape(file)} cannot be written \({ENOSPC}\); nothing had "
                        r"been measured yet, so the run folder \S+_small was removed\.\n", result.output), result.output
    assert list((tmp_path / "runs").iterdir()) == []


def test_ctrl_c_while_a_run_folder_is_being_made_leaves_no_folder(tiny, tmp_path, monkeypatch):
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.records import files
    from scratchrun.training.run import run_experiment

    real = files._open

    def interrupted(path, buffering=-1):
        if Path(path).name == "metrics.csv":
            raise KeyboardInterrupt
        return real(path, buffering)

    monkeypatch.setattr(files, "_open", interrupted)
    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]}})
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, load_raw("tiny", tiny), tmp_path / "runs")
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("point", ["steps.csv", "metrics.csv", "heartbeat", "model.npz", "curves.png"])
def test_a_write_that_fails_during_a_run_ends_it_failed_with_what_it_measured(tiny, tmp_path, monkeypatch, point):
    from scratchrun.records.index import read_run
    from scratchrun.records.reader import read_metrics, read_steps
    from tests.cli.test_inspect import invoke

    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    full_disk_at(monkeypatch, point)
    result = invoke("train", config, "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.exit_code == 1, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    file = "summary.json" if point == "heartbeat" else point
    cause = f"{folder / file} cannot be written ({ENOSPC})"
    assert result.output == (f"error: The run stopped because {cause}; it is recorded as failed in {folder}, with "
                             "everything measured before that.\n")
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["status"], summary["message"], summary["final"]["test_acc"]) == ("failed", cause, None)
    assert read_run(folder).status == "failed"
    steps, evaluations = whole_rows(folder / "steps.csv", 3), whole_rows(folder / "metrics.csv", 7)
    assert len(read_steps(folder)) == steps and len(read_metrics(folder)) == evaluations
    # stopped part-way, what was written before is there (8 updates an epoch, an evaluation at its end); trained to
    # the end, every loss and evaluation is kept, and the weights and the figure as far as they got
    assert (steps, evaluations, summary["iterations"]) == {"steps.csv": (8, 3, 16), "metrics.csv": (16, 2, 16),
                                                           "heartbeat": (4, 1, 4)}.get(point, (24, 4, 24))
    assert (folder / "model.npz").exists() == (point == "curves.png")
    assert not (folder / "curves.png").exists()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary file left


@pytest.mark.parametrize("code, cause", [(errno.EIO, "Input/output error, EIO"),
                                         (errno.EDQUOT, "Disk quota exceeded, EDQUOT"),
                                         (errno.EROFS, "Read-only file system, EROFS")])
def test_any_write_error_ends_the_run_failed_naming_its_cause(tiny, tmp_path, monkeypatch, code, cause):
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.errors import RecordError
    from scratchrun.records import files
    from scratchrun.records.index import read_run
    from scratchrun.training.run import run_experiment
    from tests.records.test_files import filling

    real = files._open
    monkeypatch.setattr(files, "_open", lambda path, buffering=-1: filling(path, 63 + 100, buffering, code)
                        if Path(path).name == "metrics.csv" else real(path, buffering))
    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]},
                               "train": {"epochs": 3, "batch_size": 32}})
    with pytest.raises(RecordError) as raised:
        run_experiment(config, load_raw("tiny", tiny), tmp_path / "runs")
    folder = raised.value.run_dir
    assert str(raised.value).startswith(f"The run stopped because {folder / 'metrics.csv'} cannot be written "
                                        f"({cause});")
    assert raised.value.summary["status"] == "failed" and read_run(folder).status == "failed"
    assert whole_rows(folder / "metrics.csv", 7) == 1 and whole_rows(folder / "steps.csv", 3) == 8


def test_a_run_whose_final_summary_cannot_be_written_never_reads_as_completed(tiny, tmp_path, monkeypatch):
    from scratchrun.records.index import read_run
    from tests.cli.test_inspect import invoke

    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    full_disk_at(monkeypatch, "summary.json (final)")
    result = invoke("train", config, "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.exit_code == 1, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert result.output == (f"error: The run ended, but {folder / 'summary.json'} cannot be written ({ENOSPC}): "
                             f"{folder} keeps what was measured, and its summary.json still says running (listed as "
                             "stale once this process has ended), so it is not taken for a finished run.\n")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "running" and summary["pid"] == os.getpid()
    assert read_run(folder).status == "running"  # this process is alive; once it is not, `stale`
    assert (whole_rows(folder / "steps.csv", 3), whole_rows(folder / "metrics.csv", 7)) == (24, 4)
    assert (folder / "model.npz").is_file() and (folder / "curves.png").is_file()
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "curves.png", "metrics.csv", "model.npz",
                                                         "steps.csv", "summary.json"]


KILLED = """
import os, signal, sys
from pathlib import Path

sys.path.insert(0, sys.argv[3])
from idx_fixtures import write_tiny_dataset

from scratchrun.config.loader import config_from_dict
from scratchrun.data.registry import DATASETS, load_raw
from scratchrun.records import files
from scratchrun.training.run import run_experiment

root, target = Path(sys.argv[1]), sys.argv[2]
DATASETS["tiny"] = write_tiny_dataset(root / "data", "tiny", n_train=300, n_test=60)
real = files._open


def killed_at_target(path, buffering=-1):
    path = Path(path)
    if path.name == target and (target != ".summary.json.tmp" or (path.parent / "model.npz").exists()):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, buffering)


files._open = killed_at_target
config = config_from_dict({"name": "small", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [16]},
                           "train": {"epochs": 2, "batch_size": 32}})
run_experiment(config, load_raw("tiny", root / "data"), root / "runs")
"""


@pytest.mark.parametrize("target", [".model.npz.tmp", ".curves.png.tmp", ".summary.json.tmp"])
def test_a_run_killed_after_training_never_reads_as_completed(tmp_path, target):
    """kill -9 just after the last update, after the weights, or just before the final summary: every reader says
    the run is running (then stale), never completed, because the summary that says so is written last."""
    import subprocess
    import sys

    from scratchrun.records.index import read_run
    from tests.cli.test_inspect import invoke

    tests = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), target, str(tests)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == -9, done.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "running" and summary["pid"] != os.getpid()
    assert (folder / "model.npz").is_file() == (target != ".model.npz.tmp")
    assert (folder / "curves.png").is_file() == (target == ".summary.json.tmp")
    assert (whole_rows(folder / "steps.csv", 3), whole_rows(folder / "metrics.csv", 7)) == (16, 3)  # all of it, flushed
    status = read_run(folder).status
    assert status in ("running", "stale")  # running until the heartbeat (or the dead pid) gives it away
    listed = invoke("runs", tmp_path / "runs", "--csv")
    assert listed.exit_code == 0 and f",{status}," in listed.stdout and "completed" not in listed.stdout
    shown = invoke("show", folder)
    assert shown.exit_code == 0 and f"status   {status}" in shown.stdout


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system (tmpfs) at tmp_path/disk; skipped where mounting one is not permitted (not root)."""
    import shutil
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                                                   capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a 2 MB tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill the file system up, then give back `leave` bytes."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(disk / "filler", max(0, (disk / "filler").stat().st_size - leave))


@pytest.mark.parametrize("case", ["full from the start", "full while training", "no room for the weights"])
def test_a_real_full_disk_gives_a_sentence_and_an_honest_folder(tiny, tmp_path, small_disk, case):
    """A real ENOSPC: a disk full from the start leaves no folder; one that fills while steps.csv grows, or weights
    bigger than the room left (1,024 hidden units: 3.2 MB of float32 in model.npz on a 2 MB disk), end the run
    failed, its logs readable and ending in whole rows."""
    from scratchrun.records.index import read_run
    from tests.cli.test_inspect import invoke

    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    runs = small_disk / "runs"
    runs.mkdir()
    if case != "no room for the weights":  # 64 KiB: the first files (a page each), then ~1,000 losses
        fill(small_disk, leave=0 if case == "full from the start" else 64 * 1024)
    shape = (["train.batch_size=1", "train.epochs=10"] if case == "full while training"
             else ["model.hidden=[1024]", "train.epochs=1"])
    result = invoke("train", config, *shape, "--runs-dir", runs, "--quiet")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    if case == "full from the start":
        assert re.fullmatch(rf"error: \S+/config.yaml cannot be written \({ENOSPC}\); nothing had been measured yet, "
                            r"so the run folder \S+_small was removed\.\n", result.output), result.output
        assert list(runs.iterdir()) == []
        return
    (folder,) = runs.iterdir()
    file = "steps.csv" if case == "full while training" else "model.npz"
    assert result.output == (f"error: The run stopped because {folder / file} cannot be written ({ENOSPC}); it is "
                             f"recorded as failed in {folder}, with everything measured before that.\n")
    summary = json.loads((folder / "summary.json").read_text())  # written in the room held back for it
    assert summary["status"] == "failed" and read_run(folder).status == "failed"
    steps, evaluations = whole_rows(folder / "steps.csv", 3), whole_rows(folder / "metrics.csv", 7)
    if case == "full while training":
        assert 200 < steps < 2400 and summary["iterations"] >= steps and evaluations >= 1
    else:
        assert (steps, evaluations) == (8, 2)
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "metrics.csv", "steps.csv", "summary.json"]
