"""TensorBoard export, read back with TensorBoard's own reader (EventAccumulator), never with the writer: every loss
and evaluation at float32, the test metrics, the HParams session and experiment; deterministic; no overwrite."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.errors import ScratchrunError
from scratchrun.records import index as ix
from scratchrun.records.reader import metric_values, read_metrics, read_steps

pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'scratchrun[tensorboard]')")

from tensorboard.backend.event_processing import event_accumulator as ea  # noqa: E402
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2  # noqa: E402

from scratchrun.exports.tensorboard_events import EXPERIMENT_FILE, MISSING_EXTRA, export_tensorboard  # noqa: E402


def invoke(*args, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def logdir(real_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tb") / "logs"
    invoke("export", "tensorboard", "-o", out, "--runs-dir", real_runs)
    return out


def accumulator(folder: Path) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def run_folder(real_runs: Path, suffix: str) -> Path:
    return next(run.path for run in ix.runs_of(ix.scan(real_runs)) if run.label.endswith(suffix))


@pytest.mark.parametrize("suffix", ["_sgd-small", "_boom", "compare-optimizers/adam-seed1", "small-search/trial-003"])
def test_every_loss_and_evaluation_reads_back_at_float32(real_runs, logdir, suffix):
    folder = run_folder(real_runs, suffix)
    acc = accumulator(logdir / folder.relative_to(real_runs))
    steps = read_steps(folder)
    losses = acc.Scalars("loss/minibatch")
    assert len(losses) == len(steps) > 0
    assert [e.step for e in losses] == steps[:, 0].astype(int).tolist()
    np.testing.assert_array_equal(np.array([e.value for e in losses], dtype=np.float32),
                                  steps[:, 2].astype(np.float32))  # nan where the run diverged, as recorded
    history = metric_values(read_metrics(folder))
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        rows = [row for row in history if row[key] is not None]
        events = acc.Scalars(key.replace("_", "/")) if rows else []
        assert [(e.step, e.value) for e in events] == [(int(r["iteration"]), float(np.float32(r[key]))) for r in rows]
    final = ix.read_run(folder).final
    if final.get("test_acc") is not None:
        (test,) = acc.Scalars("test/acc")
        assert test.value == np.float32(final["test_acc"]) and test.step == int(steps[-1, 0])


def session(acc: ea.EventAccumulator, tag: str):
    return plugin_data_pb2.HParamsPluginData.FromString(acc.PluginTagToContent("hparams")[tag])


def test_the_hparams_session_lists_the_runs_config_its_group_and_status(real_runs, logdir):
    folder = run_folder(real_runs, "compare-optimizers/adam-seed1")
    acc = accumulator(logdir / folder.relative_to(real_runs))
    start = session(acc, "_hparams_/session_start_info").session_start_info
    config = ix.read_run(folder).config
    assert start.hparams["optimizer.name"].string_value == "adam"
    assert start.hparams["optimizer.lr"].number_value == config["optimizer.lr"]
    assert start.hparams["model.hidden"].string_value == "[32]"
    assert start.hparams["model.batch_norm"].bool_value is False
    assert re.fullmatch(r".*_compare-optimizers/adam", start.group_name)  # both seeds in one group
    end = session(acc, "_hparams_/session_end_info").session_end_info
    assert end.status == api_pb2.Status.Value("STATUS_SUCCESS")
    diverged = accumulator(logdir / run_folder(real_runs, "_boom").relative_to(real_runs))
    assert session(diverged, "_hparams_/session_end_info").session_end_info.status == api_pb2.Status.Value(
        "STATUS_FAILURE")


def test_the_experiment_declares_every_hyperparameter_and_metric(logdir):
    acc = accumulator(logdir)
    experiment = session(acc, "_hparams_/experiment").experiment
    names = {info.name: info for info in experiment.hparam_infos}
    assert {"optimizer.lr", "optimizer.name", "model.weight_decay", "seed"} <= set(names)
    assert names["optimizer.lr"].type == api_pb2.DataType.Value("DATA_TYPE_FLOAT64")
    assert set(names["optimizer.name"].domain_discrete.values[i].string_value
               for i in range(len(names["optimizer.name"].domain_discrete.values))) >= {"sgd", "adam"}
    assert [m.name.tag for m in experiment.metric_infos] == ["loss/minibatch", "train/loss", "train/acc", "val/loss",
                                                             "val/acc", "test/loss", "test/acc"]
    assert (logdir / EXPERIMENT_FILE).is_file()


def test_tensorboards_multiplexer_finds_a_run_per_run_folder(real_runs, logdir):
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    assert len(multiplexer.Runs()) == len(ix.runs_of(ix.scan(real_runs))) + 1  # and the experiment at the top


def test_the_same_folders_give_the_same_bytes(real_runs, logdir, tmp_path):
    invoke("export", "tensorboard", "-o", tmp_path / "again", "--runs-dir", real_runs)
    files = sorted(p.relative_to(logdir) for p in logdir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert all((logdir / f).read_bytes() == (tmp_path / "again" / f).read_bytes() for f in files)


def test_it_refuses_to_overwrite_without_force(real_runs, tmp_path):
    out = tmp_path / "logs"
    invoke("export", "tensorboard", "compare-optimizers", "-o", out, "--runs-dir", real_runs)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    result = invoke("export", "tensorboard", "compare-optimizers", "-o", out, "--runs-dir", real_runs, code=2)
    assert "already holds 5 of the files this export writes" in result.stderr and "--force" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    invoke("export", "tensorboard", "compare-optimizers", "-o", out, "--runs-dir", real_runs, "--force")


def test_without_tensorboard_it_says_how_to_get_it(real_runs, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ScratchrunError, match=re.escape(MISSING_EXTRA)):
        export_tensorboard([], real_runs, tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


def test_a_run_named_alone_inside_a_study_keeps_its_variants_group(real_runs, tmp_path):
    invoke("export", "tensorboard", "compare-optimizers/adam-seed1", "-o", tmp_path / "logs", "--runs-dir", real_runs)
    folder = run_folder(real_runs, "compare-optimizers/adam-seed1")
    start = session(accumulator(tmp_path / "logs" / folder.relative_to(real_runs)), "_hparams_/session_start_info")
    assert re.fullmatch(r".*_compare-optimizers/adam", start.session_start_info.group_name)


def test_a_damaged_record_leaves_no_part_of_the_export(real_runs, tmp_path):
    import shutil

    runs_dir = tmp_path / "runs"
    shutil.copytree(real_runs, runs_dir)
    damaged = run_folder(runs_dir, "compare-optimizers/sgd-seed1") / "steps.csv"
    damaged.write_text("iteration,epoch,loss\n1,1,not-a-number\n", encoding="utf-8")
    result = invoke("export", "tensorboard", "compare-optimizers", "-o", tmp_path / "logs", "--runs-dir", runs_dir,
                    code=1)
    assert "steps.csv is not a steps table" in result.stderr and "Traceback" not in result.output
    assert not [p for p in (tmp_path / "logs").rglob("*") if p.is_file()]


def files_in(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("failure", ["a full disk", "ctrl-c"])
def test_a_forced_export_that_fails_leaves_the_earlier_one_byte_identical(real_runs, tmp_path, monkeypatch, failure):
    from records.test_files import filling

    from scratchrun.records import files

    out = tmp_path / "logs"
    invoke("export", "tensorboard", "-o", out, "--runs-dir", real_runs)
    before = files_in(out)
    real, opened = files._open, []

    def third_fails(path, buffering=-1):  # the third event file: part of it fits, then the disk is full / Ctrl-C
        opened.append(path)
        if len(opened) == 3:
            if failure == "ctrl-c":
                raise KeyboardInterrupt
            return filling(path, 1000, buffering)
        return real(path, buffering)

    monkeypatch.setattr(files, "_open", third_fails)
    if failure == "ctrl-c":
        with pytest.raises(KeyboardInterrupt):
            export_tensorboard([], real_runs, out, force=True)
    else:
        result = invoke("export", "tensorboard", "-o", out, "--runs-dir", real_runs, "--force", code=1)
        message = " ".join(result.stderr.split())
        assert "could not be written" in message and "No space left on device" in message, message
        assert "as it was before this export" in message and "Traceback" not in result.output
    assert len(opened) == 3
    assert files_in(out) == before  # every earlier file, byte for byte, and nothing staged left behind


def test_a_forced_export_replaces_every_file_once_the_new_export_is_whole(real_runs, tmp_path):
    out = tmp_path / "logs"
    invoke("export", "tensorboard", "-o", out, "--runs-dir", real_runs)
    before = files_in(out)
    for path in before:
        (out / path).write_bytes(b"old")
    invoke("export", "tensorboard", "-o", out, "--runs-dir", real_runs, "--force")
    assert files_in(out) == before


def test_a_link_in_place_of_a_subfolder_of_the_log_folder_is_never_written_through(real_runs, tmp_path):
    out, elsewhere = tmp_path / "logs", tmp_path / "elsewhere"
    elsewhere.mkdir()
    invoke("export", "tensorboard", "compare-optimizers", "-o", out, "--runs-dir", real_runs)
    (study,) = [p for p in out.iterdir() if p.is_dir()]
    before = files_in(out)
    moved = tmp_path / "moved"
    study.rename(moved)
    study.symlink_to(elsewhere)
    result = invoke("export", "tensorboard", "compare-optimizers", "-o", out, "--runs-dir", real_runs, "--force",
                    code=1)
    assert "a link or a file is where a folder goes" in " ".join(result.stderr.split()), result.stderr
    assert list(elsewhere.iterdir()) == []
    study.unlink()
    moved.rename(study)
    assert files_in(out) == before


def test_the_hparams_plugin_data_does_not_depend_on_the_order_the_keys_were_set(real_runs):
    from scratchrun.exports.tensorboard_events import _protos, hyperparameters, session_start

    protos = _protos()
    run = next(run for run in ix.runs_of(ix.scan(real_runs)) if run.label.endswith("_sgd-small"))
    values = hyperparameters(run.config)
    assert len(values) > 10
    forward = session_start(run, values, 0.0, protos)
    backward = session_start(run, dict(reversed(list(values.items()))), 0.0, protos)
    assert forward.SerializeToString(deterministic=True) == backward.SerializeToString(deterministic=True)


PEAK = """
import re, sys
from pathlib import Path
from scratchrun.exports import tensorboard_events
tensorboard_events._protos()  # imports done: their memory is not the export's
status = lambda key: int(re.search(key + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
before = status("VmRSS")
tensorboard_events.export_tensorboard([], Path(sys.argv[1]), Path(sys.argv[2]))
print(status("VmHWM") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc/self/clear_refs")
def test_memory_grows_with_the_steps_table_not_with_the_events(real_runs, tmp_path):
    """The bound run_events states: about 120 bytes a minibatch row (the steps table, read whole), not the 1.2 kB
    of its events (as when they were gathered in a list: 1.26 GB for a run of a million steps)."""
    import shutil
    import subprocess

    source = run_folder(real_runs, "_sgd-small")
    peaks = {}
    for rows in (20_000, 200_000):
        runs_dir = tmp_path / f"runs-{rows}"
        shutil.copytree(source, runs_dir / source.name)
        with open(runs_dir / source.name / "steps.csv", "w", encoding="utf-8") as f:
            f.write("iteration,epoch,loss\n")
            f.writelines(f"{i},{i // 600},{2.3 / (1 + i / 1000):.6f}\n" for i in range(1, rows + 1))
        done = subprocess.run([sys.executable, "-c", PEAK, runs_dir, tmp_path / f"logs-{rows}"], capture_output=True,
                              text=True, check=True)
        peaks[rows] = int(done.stdout)
    per_row = (peaks[200_000] - peaks[20_000]) / 180_000
    assert per_row < 300, f"{per_row:.0f} bytes of memory a row"
