"""The local executor's worker processes: each trains one run at a time, handed to it over its own pipe.

Our own processes rather than a ProcessPoolExecutor, because a pool cannot tell which run a dead worker had:
one worker killed (by `kill -9`, or by the out-of-memory killer) breaks the pool and every run in it. Here
the parent knows each worker's run, so a worker that dies costs that run alone, recorded `failed` with the
signal that killed it, and the other runs go on, the next one in a fresh worker. The other way round, each
worker watches its parent: when the parent is killed, the worker interrupts its run (recorded `interrupted`,
so `--resume` retrains it) and exits instead of training on for nobody. Progress events travel on the same
pipes, so no manager process is left to outlive anyone, and workers share their parent's folder lock
(records.lock), which keeps a study or search folder locked until the last of them has stopped writing in it.
"""

from __future__ import annotations

import _thread
import glob
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path

from scratchrun.errors import ScratchrunError
from scratchrun.experiments.executors.local import init_worker, run_one, sigint_ignored
from scratchrun.experiments.specs import RunSpec
from scratchrun.training.run import RunResult

PARENT_POLL_S = 0.5  # how often a worker checks that its parent is alive
STOP_TIMEOUT_S = 120.0  # for interrupted runs to record themselves (final metrics, weights, figure)


@dataclass(eq=False)
class _Worker:
    process: object  # a spawn-context Process
    conn: Connection  # the parent's end of the worker's pipe
    spec: RunSpec | None = None  # the run it is training, None while idle


def worker_results(specs: Sequence[RunSpec], runs_dir: str, data_dir: str | None, jobs: int, on_progress,
                   evaluate_test: bool) -> Iterator[RunResult]:
    """Yield each run's result as it finishes, training up to `jobs` runs at a time in worker processes.

    Ctrl-C (KeyboardInterrupt here, SIGINT in the workers) interrupts the running runs, yields what they
    record, and re-raises; queued runs never start. Closing the generator early stops the workers the same way.
    """
    from scratchrun.data.registry import DATASETS

    datasets = {name: DATASETS[name] for name in {spec.config.data.dataset for spec in specs}}  # tests add small ones
    pool = _Pool(runs_dir, on_progress, datasets)
    queued = deque(specs)
    try:
        try:
            while queued or pool.busy:
                while queued and len(pool.busy) < jobs:
                    spec = queued.popleft()
                    pool.give(spec, (spec, runs_dir, data_dir, evaluate_test, on_progress is not None))
                yield from pool.results(timeout=0.2)
        except KeyboardInterrupt:
            yield from pool.stop()
            raise
        except GeneratorExit:  # the caller stopped early (too many failures): stop rather than wait for every run
            for _ in pool.stop():
                pass
            raise
    finally:
        pool.close()


class _Pool:
    """The worker processes of one `worker_results` call, and the run each is training."""

    def __init__(self, runs_dir: str, on_progress, datasets: dict) -> None:
        from scratchrun.records.lock import shared_locks

        self.runs_dir, self.on_progress = runs_dir, on_progress
        self.context = get_context("spawn")  # a fresh interpreter: BLAS reads its one-thread setting at import
        self.setup = (datasets, os.getpid(), shared_locks())
        self.workers: list[_Worker] = []

    @property
    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.spec is not None]

    def give(self, spec: RunSpec, task: tuple) -> None:
        """Hand a run to an idle worker, or to a new one."""
        for worker in [w for w in self.workers if w.spec is None]:
            try:
                worker.conn.send(task)
            except OSError:  # it died while idle: it had no run to lose
                self._drop(worker)
                continue
            worker.spec = spec
            return
        parent_end, child_end = self.context.Pipe()
        process = self.context.Process(target=serve, args=(child_end, *self.setup), daemon=True,
                                       name=f"scratchrun-worker-{len(self.workers) + 1}")
        try:
            with sigint_ignored():  # inherited through exec: a Ctrl-C while the worker starts must not kill it with a
                process.start()  # traceback (it installs its own handler, local.init_worker, before its first run)
        except OSError as e:  # no memory or no process slots left for another interpreter
            raise ScratchrunError(f"A worker process cannot be started ({e.strerror or e}); try fewer "
                                  "--jobs.") from None
        child_end.close()  # the worker's end lives in the worker alone: its death closes the pipe
        worker = _Worker(process, parent_end, spec)
        self.workers.append(worker)
        try:
            parent_end.send(task)
        except OSError:  # it died starting: the next wait reports its run
            pass

    def results(self, timeout: float, progress: bool = True) -> Iterator[RunResult]:
        """Read every worker that has something to say; yield the runs that ended, dead workers' runs included."""
        watched = {w.conn: w for w in self.workers} | {w.process.sentinel: w for w in self.workers}
        ready = {watched[r] for r in wait(list(watched), timeout)}
        for worker in [w for w in self.workers if w in ready]:
            messages, ended = _read(worker)
            for kind, payload in messages:
                if kind == "event":
                    if progress and self.on_progress is not None:
                        self.on_progress(payload)
                    continue
                worker.spec = None
                if kind == "error":  # not a run's own failure (the dataset cannot be loaded): raised here
                    raise payload
                yield payload
            if ended:
                spec = worker.spec
                self._drop(worker)
                if spec is not None:
                    yield dead_run(spec, worker.process.pid, worker.process.exitcode, Path(self.runs_dir))

    def stop(self) -> Iterator[RunResult]:
        """Interrupt the running runs (a terminal's Ctrl-C reached them already; a SIGINT sent to this process alone
        did not) and yield what each records. SIGINT is sent again every second: a worker still starting up
        ignores it, and a worker already stopping ignores the repeats (local._on_sigint)."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.busy and time.monotonic() < deadline:
            for worker in self.busy:
                _signal(worker, signal.SIGINT)
            yield from self.results(timeout=1.0, progress=False)

    def close(self) -> None:
        """Let every worker exit: a running run (only after an error here) is interrupted first, and recorded."""
        for _ in self.stop():
            pass
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in list(self.workers):
            self._drop(worker)  # each has 5 s to exit, then is killed

    def _drop(self, worker: _Worker) -> None:
        """Forget a worker that has exited (or kill one that will not), and close our end of its pipe."""
        worker.process.join(5)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)


def _read(worker: _Worker) -> tuple[list[tuple[str, object]], bool]:
    """The messages a worker has sent so far, and whether it has ended (its pipe closed: it exited or was killed)."""
    messages = []
    try:
        while worker.conn.poll():
            messages.append(worker.conn.recv())
    except (EOFError, OSError):
        return messages, True
    return messages, not worker.process.is_alive()


def _signal(worker: _Worker, signum: int) -> None:
    try:
        os.kill(worker.process.pid, signum)
    except OSError:
        pass


def dead_run(spec: RunSpec, pid: int, exitcode: int | None, runs_dir: Path) -> RunResult:
    """The run of a worker that died: its folder's summary (if it got that far) says `failed` and why."""
    from scratchrun.records.files import write_text_atomic
    from scratchrun.records.writer import update_summary

    try:
        cause = signal.Signals(-exitcode).name if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
    except ValueError:
        cause = f"signal {-exitcode}"
    message = f"the worker process died ({cause}) while training this run"
    summary = {"status": "failed", "message": message}
    folder = _folder_of(spec, pid, runs_dir)
    if folder is not None:
        try:
            summary = update_summary(folder, status="failed", message=message)
            write_text_atomic(folder / "error.txt", f"{message} (pid {pid}). A killed process leaves no traceback; "
                                                    "what it measured until then is kept in steps.csv and "
                                                    "metrics.csv.\n")
        except (ScratchrunError, OSError):  # what is on disk is then what it is; the study's tables still say failed
            pass
    known = {key: value for key, value in summary.items() if value is not None}  # a display keeps its last progress
    return RunResult("failed", folder, known).of(spec)


def _folder_of(spec: RunSpec, pid: int, runs_dir: Path) -> Path | None:
    """The run folder that worker `pid` was writing for `spec` (its name, or its name with -2, -3, ...)."""
    from scratchrun.records.reader import read_summary

    base = spec.folder_name
    for folder in [runs_dir / base, *sorted(runs_dir.glob(f"{glob.escape(base)}-*"))]:
        try:
            summary = read_summary(folder)
        except ScratchrunError:
            continue
        if summary.get("status") == "running" and summary.get("pid") == pid:
            return folder
    return None


def serve(conn: Connection, datasets: dict, parent_pid: int, locks: list) -> None:
    """A worker's life: train each run it is sent, answer with its result, and stop when told or orphaned.

    `locks` (records.lock.SharedLock) are only held: the worker keeps its parent's folder locked until it exits.
    """
    init_worker(datasets)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()

    def send(event) -> None:
        conn.send(("event", event))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):  # the parent is gone
            return
        if task is None:
            return
        spec, runs_dir, data_dir, evaluate_test, progress = task
        try:
            message = ("result", run_one(spec, runs_dir, data_dir, send if progress else None, evaluate_test))
        except Exception as e:  # noqa: BLE001 - not a run's own failure (those are results): the parent raises it
            message = ("error", _portable(e))
        try:
            conn.send(message)
        except OSError:
            return


def _watch_parent(parent_pid: int) -> None:
    """When the parent dies (`kill -9`), interrupt the run in progress as Ctrl-C would: it records itself and the
    worker exits (an idle worker's pipe closes and it exits on its own)."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    _thread.interrupt_main(signal.SIGINT)


def _portable(error: Exception) -> Exception:
    """The error itself if it crosses a pipe; else one that keeps its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - an exception whose constructor takes other arguments
        kind = ScratchrunError if isinstance(error, ScratchrunError) else RuntimeError
        return kind(f"{type(error).__name__}: {error}" if kind is RuntimeError else str(error))
