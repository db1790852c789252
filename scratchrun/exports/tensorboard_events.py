"""`scratchrun export tensorboard`: each run as a TensorBoard event file, for its Scalars and HParams views.

Written with the `tensorboard` package's own record writer and protocol buffers (no TensorFlow), the optional extra
`scratchrun[tensorboard]`. The output depends only on the run folders: event times come from each run's records
(its start, and the seconds of each evaluation), never from the clock, and the files are named after the runs.

For each run, `LOGDIR/<run folder, as in the runs folder>/events.out.tfevents.<start>.scratchrun` holds
- `loss/minibatch`: every row of steps.csv (step = iteration), non-finite losses included as they were;
- `train/loss`, `train/acc`, `val/loss`, `val/acc`: every evaluation that scored them (step = its iteration);
- `test/loss`, `test/acc`: the final test metrics, once, at the last iteration;
- an HParams session: the run's flat config (`optimizer.lr`, ...) as hyper-parameters, its start and its end with
  the run's status; a study's seeds of one variant share a group, so the HParams table can aggregate them.
`LOGDIR/events.out.tfevents.0.scratchrun-hparams` declares the experiment: every hyper-parameter and the metrics.

The files are built in a hidden folder inside LOGDIR and renamed into place only once every one is whole, so an export
that fails or is interrupted leaves LOGDIR as it was (an earlier export replaced with --force included).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.experiments.specs import variant_of
from scratchrun.numbers import is_number
from scratchrun.records import index as ix
from scratchrun.records.files import cause, move_in, staging, write_atomic
from scratchrun.records.reader import metric_values, read_metrics, read_steps
from scratchrun.records.status import Status

MISSING_EXTRA = ("scratchrun export tensorboard writes TensorBoard's own file format with the tensorboard package, "
                 "an optional extra that is not installed: pip install 'scratchrun[tensorboard]'.")
EVALUATED = ("train_loss", "train_acc", "val_loss", "val_acc")
METRICS = ("loss/minibatch", "train/loss", "train/acc", "val/loss", "val/acc", "test/loss", "test/acc")
EXPERIMENT_FILE = "events.out.tfevents.0.scratchrun-hparams"
_CHUNK = 4096  # steps turned into events at a time


@dataclass(frozen=True)
class TensorBoardExport:
    """What `export_tensorboard` wrote: the log folder, one event file per run, and the runs' count."""

    logdir: Path
    files: tuple[Path, ...]
    runs: int


def export_tensorboard(targets: Sequence[str], runs_dir: Path, logdir: Path, force: bool = False) -> TensorBoardExport:
    """Event files for the runs of `targets` (runs, studies or searches; every run in `runs_dir` when none)."""
    protos = _protos()
    runs = _runs(targets, runs_dir)
    planned = {run.path: logdir / _relative(run.path, runs_dir) / _file_name(run) for run in runs}
    experiment = logdir / EXPERIMENT_FILE
    taken = [p for p in [*planned.values(), experiment] if p.exists()]
    if taken and not force:
        listed = ", ".join(str(p) for p in taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        raise ConfigError(f"-o {logdir} already holds {len(taken)} of the files this export writes ({listed}); "
                          "give --force to replace them, or another folder.")
    if logdir.exists() and not logdir.is_dir():
        raise ConfigError(f"-o {logdir} is a file: give a folder for the event files.")
    created = not logdir.exists()
    hparams: dict[str, set] = {}
    try:  # built beside the earlier export, which is replaced only once the new one is whole
        logdir.mkdir(parents=True, exist_ok=True)
        with staging(logdir) as stage:
            for run in runs:
                values = hyperparameters(run.config)
                for key, value in values.items():
                    hparams.setdefault(key, set()).add(value)
                path = stage / planned[run.path].relative_to(logdir)
                path.parent.mkdir(parents=True, exist_ok=True)
                events = run_events(run, values, protos)
                write_atomic(path, lambda f, events=events: _write_records(f, events, protos))
            declared = [protos.event(wall_time=0.0, summary=experiment_summary(hparams, protos))]
            write_atomic(stage / EXPERIMENT_FILE, lambda f: _write_records(f, declared, protos))
            move_in(stage, logdir, [p.relative_to(logdir) for p in [*planned.values(), experiment]])
    except BaseException as e:  # a damaged record, a full disk, Ctrl-C: the folder is left as it was
        if created:
            with suppress(OSError):
                logdir.rmdir()
        if isinstance(e, OSError):
            raise ScratchrunError(f"The event files could not be written to {logdir} ({cause(e)}); the folder is as "
                                  "it was before this export.") from None
        raise
    return TensorBoardExport(logdir, (*planned.values(), experiment), len(runs))


class _Protos:
    """The tensorboard package's protocol buffers and record writer, imported once (an optional extra)."""

    def __init__(self) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self.event_pb2, self.summary_pb2 = event_pb2, summary_pb2
        self.api_pb2, self.metadata, self.plugin_data_pb2 = api_pb2, metadata, plugin_data_pb2
        self.RecordWriter = RecordWriter

    def event(self, **fields) -> Any:
        return self.event_pb2.Event(**fields)

    def scalar(self, wall_time: float, step: int, tag: str, value: float) -> Any:
        summary = self.summary_pb2.Summary(value=[self.summary_pb2.Summary.Value(tag=tag, simple_value=value)])
        return self.event(wall_time=wall_time, step=step, summary=summary)

    def plugin_summary(self, tag: str, data) -> Any:
        """A Summary that carries HParams plugin data (how TensorBoard's HParams view finds it)."""
        metadata = self.summary_pb2.SummaryMetadata(plugin_data=self.summary_pb2.SummaryMetadata.PluginData(
            plugin_name=self.metadata.PLUGIN_NAME, content=data.SerializeToString(deterministic=True)))
        return self.summary_pb2.Summary(value=[self.summary_pb2.Summary.Value(tag=tag, metadata=metadata)])


def _protos() -> _Protos:
    try:
        return _Protos()
    except ImportError:
        raise ScratchrunError(MISSING_EXTRA) from None


def _runs(targets: Sequence[str], runs_dir: Path) -> list[ix.RunInfo]:
    runs = ix.runs_of(ix.named_entries(targets, runs_dir))
    if not runs:
        raise ConfigError(f"There are no runs to export in {', '.join(targets) if targets else runs_dir}.")
    return runs


def _relative(path: Path, runs_dir: Path) -> Path:
    """The run's place in the log folder: its place in the runs folder (a run given from elsewhere: its name)."""
    try:
        return path.resolve().relative_to(runs_dir.resolve())
    except ValueError:
        return Path(path.name)


def _file_name(run: ix.RunInfo) -> str:
    return f"events.out.tfevents.{int(_start(run))}.scratchrun"


def _start(run: ix.RunInfo) -> float:
    """Seconds since the epoch at which the run started (its records', never the clock)."""
    moment = run.started or (ix.stamp_time(run.path.parent.name) if run.group else None)
    return moment.timestamp() if isinstance(moment, datetime) else 0.0


def hyperparameters(config: dict[str, Any]) -> dict[str, bool | float | str]:
    """The flat config as HParams values: numbers, text and booleans as they are, a list as its JSON text; the
    run's name and unset (null) keys left out."""
    values: dict[str, bool | float | str] = {}
    for key, value in sorted(config.items()):
        if key == "name" or value is None:
            continue
        if isinstance(value, bool | str):
            values[key] = value
        elif isinstance(value, int | float):
            values[key] = float(value)
        else:
            values[key] = json.dumps(value)
    return values


def run_events(run: ix.RunInfo, hparams: dict[str, Any], protos: _Protos) -> Iterator:
    """Every event of one run's file, in order, one at a time: a run of a million steps is written with the memory of
    its steps table (about 120 bytes a row, measured by tests/exports), never of its events (1.2 kB a row)."""
    start = _start(run)
    steps = read_steps(run.path)
    history = metric_values(read_metrics(run.path))
    times = [(row["iteration"], row.get("seconds") or 0.0) for row in history]
    yield protos.event(wall_time=start, file_version="brain.Event:2")
    yield protos.event(wall_time=start, summary=session_start(run, hparams, start, protos))
    # a minibatch's time: between the evaluations around it, by its iteration
    seconds = np.interp(steps[:, 0], [i for i, _ in times], [t for _, t in times]) if times else np.zeros(len(steps))
    for first in range(0, len(steps), _CHUNK):
        rows, at = steps[first:first + _CHUNK].tolist(), seconds[first:first + _CHUNK].tolist()
        for (iteration, _, loss), moment in zip(rows, at):
            yield protos.scalar(start + moment, int(iteration), "loss/minibatch", loss)
    for row in history:
        for key in EVALUATED:
            if row.get(key) is not None:
                yield protos.scalar(start + (row.get("seconds") or 0.0), int(row["iteration"]), key.replace("_", "/"),
                                    row[key])
    last = int(max([row["iteration"] for row in history] + [steps[-1, 0] if len(steps) else 0]))
    end = start + (run.wall_time_s or (times[-1][1] if times else 0.0))
    for key in ("test_loss", "test_acc"):
        value = run.final.get(key)
        if is_number(value):
            yield protos.scalar(end, last, key.replace("_", "/"), float(value))
    yield protos.event(wall_time=end, summary=session_end(run.status, end, protos))


def session_start(run: ix.RunInfo, hparams: dict[str, Any], start: float, protos: _Protos):
    info = protos.plugin_data_pb2.SessionStartInfo(group_name=_group(run), start_time_secs=start)
    for key, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[key].bool_value = value
        elif isinstance(value, float):
            info.hparams[key].number_value = value
        else:
            info.hparams[key].string_value = value
    data = protos.plugin_data_pb2.HParamsPluginData(session_start_info=info,
                                                    version=protos.metadata.PLUGIN_DATA_VERSION)
    return protos.plugin_summary(protos.metadata.SESSION_START_INFO_TAG, data)


def session_end(status: str, end: float, protos: _Protos):
    info = protos.plugin_data_pb2.SessionEndInfo(
        status=protos.api_pb2.Status.Value(Status.of(status).session if Status.of(status) else "STATUS_UNKNOWN"),
        end_time_secs=end)
    data = protos.plugin_data_pb2.HParamsPluginData(session_end_info=info, version=protos.metadata.PLUGIN_DATA_VERSION)
    return protos.plugin_summary(protos.metadata.SESSION_END_INFO_TAG, data)


def _group(run: ix.RunInfo) -> str:
    """The HParams group: a study's variant (its seeds together), else the run itself."""
    return f"{run.group}/{variant_of(run.name)}" if run.group else run.label


def experiment_summary(hparams: dict[str, Iterable], protos: _Protos):
    """The HParams experiment: the hyper-parameters whose values differ between the exported runs, as `scratchrun
    runs` shows them (each session still holds the run's whole config), each with its type and, when they are few,
    its values; and the metrics."""
    api = protos.api_pb2
    infos = []
    for key in sorted(k for k, values in hparams.items() if len(values) > 1):
        values = sorted(hparams[key], key=repr)
        kinds = {type(v) for v in values}
        kind = {bool: "DATA_TYPE_BOOL", float: "DATA_TYPE_FLOAT64"}.get(kinds.pop(), "DATA_TYPE_STRING") \
            if len(kinds) == 1 else "DATA_TYPE_STRING"
        info = api.HParamInfo(name=key, type=api.DataType.Value(kind))
        if kind == "DATA_TYPE_STRING" and len(values) <= 20:
            info.domain_discrete.extend(str(v) for v in values)
        infos.append(info)
    experiment = api.Experiment(hparam_infos=infos,
                                metric_infos=[api.MetricInfo(name=api.MetricName(tag=tag)) for tag in METRICS])
    data = protos.plugin_data_pb2.HParamsPluginData(experiment=experiment, version=protos.metadata.PLUGIN_DATA_VERSION)
    return protos.plugin_summary(protos.metadata.EXPERIMENT_TAG, data)


def _write_records(f, events: Iterable, protos: _Protos) -> None:
    writer = protos.RecordWriter(f)
    for event in events:
        writer.write(event.SerializeToString(deterministic=True))
