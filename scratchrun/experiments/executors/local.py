"""Running one run of a study or search, in this process or in a worker process, and the runs one after another.

A run is a pure function from its config to its run folder, so the results do not depend on how many
workers there are or in which order they finish. Each worker loads a dataset once and keeps it for every
run it is given; the decoded cache is memory-mapped, so the workers share one copy of the images. The worker
processes themselves are started and watched in executors/workers.py; what a worker does on Ctrl-C is here.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scratchrun.experiments.specs import RunSpec
from scratchrun.training.run import RunResult

_datasets: dict = {}  # per process: (dataset name, data dir) -> RawDataset
_interrupted = False  # in a worker: Ctrl-C has arrived, so no further run may start
_training = False  # in a worker: a run is in progress, so Ctrl-C must stop it (and only then)
_in_worker = False  # this process is one of run_all's workers


def preload(name: str, data_dir: Path | None, reporter=None):
    """Load (fetching if need be) a dataset in this process before any folder exists; runs here reuse it."""
    from scratchrun.data.registry import load_raw

    key = (name, str(data_dir) if data_dir else None)
    if key not in _datasets:
        _datasets[key] = load_raw(name, data_dir, reporter=reporter)
    return _datasets[key]


def _raw(name: str, data_dir: str | None):
    from scratchrun.data.registry import load_raw

    key = (name, data_dir)
    if key not in _datasets:
        _datasets[key] = load_raw(name, Path(data_dir) if data_dir else None, allow_download=False)
    return _datasets[key]


def run_one(spec: RunSpec, runs_dir: str, data_dir: str | None, send=None, evaluate_test: bool = True) -> RunResult:
    """Train one spec into `runs_dir` and report its outcome (the run folder holds everything else).

    `send`, when given, receives progress events (see training.events): a queue's `put`
    in a worker process, or a plain function in this one. The run's curves.png is drawn when the run is first
    opened, not here: it costs more than a small run's training steps. A run that fails with a bug is reported as
    `failed` (its folder keeps the traceback) so that one bad run does not stop the others.
    """
    from scratchrun.training.events import ProgressReporter
    from scratchrun.training.run import RunFailed, run_experiment

    global _training
    interrupted = RunResult("interrupted", None, {}).of(spec)
    _training = True
    try:
        if _interrupted:  # the study is stopping: a queued run does not start
            return interrupted
        raw = _raw(spec.config.data.dataset, data_dir)
        callbacks = [ProgressReporter(spec.index, send)] if send is not None else []
        outcome = run_experiment(spec.config, raw, Path(runs_dir), callbacks, stamp=False, evaluate_test=evaluate_test,
                                 stop_epochs=spec.stop_epochs, provenance=spec.provenance, draw_curves=False)
    except RunFailed as e:
        return RunResult("failed", e.run_dir, e.summary).of(spec)
    except KeyboardInterrupt:  # before training started (loading the data); in this process, the caller stops
        if not _in_worker:
            raise
        return interrupted
    finally:
        _training = False
    return outcome.of(spec)


def init_worker(extra_datasets: dict) -> None:
    """One BLAS thread per worker, any dataset registered in the parent (tests register small ones), and Ctrl-C
    (or SIGTERM, sent to the whole process group by a service manager, say) that interrupts the current run
    (recorded as such) and keeps any later one from starting."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from scratchrun.data.registry import DATASETS

    DATASETS.update(extra_datasets)
    global _in_worker
    _in_worker = True
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigint)


def _on_sigint(signum, frame) -> None:
    """The first SIGINT stops the current run; a second (a terminal's and the parent's) must not cut its records short.

    Between runs (the worker is waiting for, or unpacking, its next task) it only marks the worker as stopping:
    raising there would kill the worker with a traceback instead of letting the queued run return `interrupted`.
    """
    global _interrupted
    if _interrupted:
        return
    _interrupted = True
    if _training:
        raise KeyboardInterrupt


def serial_results(specs: Sequence[RunSpec], runs_dir: str, data_dir: str | None, on_progress,
                   evaluate_test: bool) -> Iterator[RunResult]:
    """The runs one after another in this process (`--jobs 1`, or a single run); see executors/workers.py for more."""
    for spec in specs:
        result = run_one(spec, runs_dir, data_dir, on_progress, evaluate_test)
        yield result
        if result.status == "interrupted":  # Ctrl-C stopped this run (and recorded it): the rest must not start
            raise KeyboardInterrupt


@contextmanager
def sigint_ignored():
    """Worker processes started here inherit an ignored SIGINT (through exec), so a Ctrl-C that arrives while they
    start cannot kill them with a traceback; each then decides what SIGINT means to it (`init_worker`, Dask's own)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: the signal is not ours to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
