"""Running a study's runs, one after another or in parallel worker processes with one BLAS thread each.

A run is a pure function from its config to its run folder, so the results do not depend on how many
workers there are or in which order they finish. Each worker loads a dataset once and keeps it for every
run it is given; the decoded cache is memory-mapped, so the workers share one copy of the images.
"""

from __future__ import annotations

import os
import queue
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import SyncManager
from pathlib import Path

from scratchrun.experiments.specs import RunSpec


@dataclass(frozen=True)
class RunResult:
    index: int
    variant: str
    seed: int
    status: str
    run_dir: str
    summary: dict


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
    in a worker process, or a plain function in this one. A run that fails with a bug is reported as
    `failed` (its folder keeps the traceback) so that one bad run does not stop the others.
    """
    from scratchrun.training.events import ProgressReporter
    from scratchrun.training.run import RunFailed, run_experiment

    global _training
    interrupted = RunResult(spec.index, spec.variant, spec.seed, "interrupted", "", {})
    _training = True
    try:
        if _interrupted:  # the study is stopping: a queued run does not start
            return interrupted
        raw = _raw(spec.config.data.dataset, data_dir)
        callbacks = [ProgressReporter(spec.index, send)] if send is not None else []
        outcome = run_experiment(spec.config, raw, Path(runs_dir), callbacks, stamp=False, evaluate_test=evaluate_test,
                                 stop_epochs=spec.stop_epochs, provenance=spec.provenance)
    except RunFailed as e:
        return RunResult(spec.index, spec.variant, spec.seed, "failed", str(e.run_dir), e.summary)
    except KeyboardInterrupt:  # before training started (loading the data); in this process, the caller stops
        if not _in_worker:
            raise
        return interrupted
    finally:
        _training = False
    return RunResult(spec.index, spec.variant, spec.seed, outcome.status, str(outcome.run_dir), outcome.summary)


def _worker_init(extra_datasets: dict) -> None:
    """One BLAS thread per worker, any dataset registered in the parent (tests register small ones), and Ctrl-C
    that interrupts the current run (recorded as such) and keeps any later one from starting."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from scratchrun.data.registry import DATASETS

    DATASETS.update(extra_datasets)
    global _in_worker
    _in_worker = True
    signal.signal(signal.SIGINT, _on_sigint)


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


def local_results(specs: Sequence[RunSpec], runs_dir: str, data_dir: str | None, jobs: int, on_progress,
             evaluate_test: bool) -> Iterator[RunResult]:
    if jobs <= 1 or len(specs) <= 1:
        for spec in specs:
            result = run_one(spec, runs_dir, data_dir, on_progress, evaluate_test)
            yield result
            if result.status == "interrupted":  # Ctrl-C stopped this run (and recorded it): the rest must not start
                raise KeyboardInterrupt
        return
    from scratchrun.data.registry import DATASETS

    used = {spec.config.data.dataset for spec in specs}
    extra = {name: DATASETS[name] for name in used}
    context = get_context("spawn")  # a fresh interpreter: BLAS reads its one-thread setting at import
    manager = SyncManager(ctx=context)
    manager.start(signal.signal, (signal.SIGINT, signal.SIG_IGN))  # Ctrl-C must not kill the progress channel
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init, initargs=(extra,)) as pool:
            events = manager.Queue() if on_progress else None
            send = events.put if events is not None else None
            pending = {pool.submit(run_one, spec, runs_dir, data_dir, send, evaluate_test) for spec in specs}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(events, on_progress)
                    for future in done:
                        yield future.result()
            except KeyboardInterrupt:
                yield from _stop(pool, pending)
                raise
            except GeneratorExit:  # the caller stopped early: stop the workers rather than wait for every run
                for _ in _stop(pool, pending):
                    pass
                raise
    finally:
        manager.shutdown()


def _stop(pool: ProcessPoolExecutor, pending) -> Iterator[RunResult]:
    """Cancel the queued runs, interrupt the running ones (they record themselves), and collect what they return."""
    for future in pending:
        future.cancel()
    for process in list(getattr(pool, "_processes", {}).values()):  # a terminal's Ctrl-C reached them already;
        try:  # a SIGINT sent to this process alone did not
            os.kill(process.pid, signal.SIGINT)
        except OSError:
            pass
    for future in pending:
        if not future.cancelled():
            try:
                yield future.result(timeout=120)
            except Exception:  # noqa: BLE001 - a worker that died: its run folder says what it could
                continue


def _drain(events, on_progress) -> None:
    """Pass on every progress event the workers have sent so far."""
    while events is not None:
        try:
            on_progress(events.get_nowait())
        except queue.Empty:
            return
