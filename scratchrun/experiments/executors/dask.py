"""Running a study's runs as tasks on a Dask cluster: a LocalCluster, or the scheduler at an address.

Each run trains in a temporary folder on its worker and comes back as bytes, which the client writes into the
runs folder; so workers need scratchrun and the dataset files, but no filesystem shared with the client. A run
is a pure function of its config computed with one BLAS thread, so its files are the local executor's, digit
for digit. Dask is imported here only, and only when this executor is asked for.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import replace
from pathlib import Path, PurePosixPath

from scratchrun.errors import RunDirError, ScratchrunError
from scratchrun.experiments.executors.local import sigint_ignored
from scratchrun.experiments.specs import RunSpec
from scratchrun.records.files import write_atomic
from scratchrun.training.run import RunResult

CONNECT_TIMEOUT = 10  # seconds: a scheduler that does not answer by then is reported, not waited for
CLOSE_TIMEOUT = 10  # seconds for the client and the cluster to close (a LocalCluster kills a busy worker after 4)


def dask_results(specs: Sequence[RunSpec], runs_dir: str, data_dir: str | None, jobs: int, scheduler: str | None,
                 evaluate_test: bool) -> Iterator[RunResult]:
    """Yield each run's result as its task completes, its folder written into `runs_dir`.

    With `scheduler` (e.g. `tcp://host:8786`) the runs go to that cluster's workers; without, to a LocalCluster
    of `jobs` worker processes on this machine, closed at the end. Stopping early (Ctrl-C, or the caller
    closing this generator) cancels every run not yet finished.
    """
    from scratchrun.data.registry import DATASETS
    from scratchrun.records.writer import check_runs_dir

    if not specs:
        return
    check_runs_dir(Path(runs_dir))  # a folder we cannot write fails before any training
    client, cluster = _connect(scheduler, max(1, min(jobs, len(specs))))
    futures = []
    try:
        from distributed import as_completed

        datasets = {name: DATASETS[name] for name in {spec.config.data.dataset for spec in specs}}
        futures = [client.submit(train_remotely, spec, data_dir, evaluate_test, datasets, pure=False,
                                 key=f"trial-{spec.index:03d}-{uuid.uuid4().hex[:8]}")
                   for spec in specs]
        for future in as_completed(futures):
            try:
                result, files = future.result()
            except CancelledError as e:  # this loop cancels nothing, so the cluster did (its scheduler went away, say)
                reason = str(e).splitlines()[0].rstrip(".")
                raise ScratchrunError(f"The Dask cluster{f' at {scheduler}' if scheduler else ''} stopped running the "
                                      f"runs ({reason}); check that its scheduler and workers are up, then start "
                                      "again.") from None
            yield _write_run(result, files, Path(runs_dir))
    finally:  # KeyboardInterrupt, GeneratorExit or a failure: nothing keeps training for nobody
        client.cancel([f for f in futures if not f.done()])
        client.close(timeout=CLOSE_TIMEOUT)
        if cluster is not None:
            cluster.close(timeout=CLOSE_TIMEOUT)


def train_remotely(spec: RunSpec, data_dir: str | None, evaluate_test: bool,
                   datasets: dict) -> tuple[RunResult, dict[str, bytes]]:
    """On a worker: train one spec in a temporary folder and return its result and files (relative name -> bytes).

    The datasets the client knows are registered first (tests use small ones); the dataset itself is loaded
    from the worker's own `data_dir` (or SCRATCHRUN_DATA_DIR) once per worker process, never downloaded.
    """
    from threadpoolctl import threadpool_limits

    from scratchrun.data.registry import DATASETS
    from scratchrun.experiments.executors.local import run_one

    DATASETS.update(datasets)
    # one BLAS thread, as in the local executor; the nanny also sets OPENBLAS/OMP/MKL_NUM_THREADS=1 at spawn
    with tempfile.TemporaryDirectory(prefix="scratchrun-") as tmp, threadpool_limits(limits=1, user_api="blas"):
        result = run_one(spec, tmp, data_dir, None, evaluate_test)
        folder = Path(result.run_dir) if result.run_dir else None
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
            if folder else {}
    return result, files


def _write_run(result: RunResult, files: dict[str, bytes], runs_dir: Path) -> RunResult:
    """Write a worker's run folder under `runs_dir` (never over an existing one) and point the result at it."""
    if not result.run_dir:
        return result
    folder = runs_dir / Path(result.run_dir).name
    try:
        folder.mkdir()
    except FileExistsError:
        raise RunDirError(f"Run folder {folder} already exists, so run {result.index} cannot be written there; "
                          "pass --runs-dir with a new folder.") from None
    except OSError as e:
        raise RunDirError(f"Run folder {folder} cannot be created ({e.strerror}).") from None
    for name, data in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:  # the bytes came over the network: stay in the folder
            raise RunDirError(f"A worker sent the file name `{name}` for run {result.index}, which leaves its run "
                              "folder.")
        path = folder.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f, data=data: f.write(data))
    return replace(result, run_dir=str(folder))


def _connect(scheduler: str | None, workers: int):
    """A client on the scheduler at `scheduler`, or on a new LocalCluster of `workers` processes (also returned)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScratchrunError("--executor dask needs dask.distributed: pip install 'scratchrun[dask]'.") from None
    if scheduler is None:
        # a terminal's Ctrl-C reaches only the client, which cancels the runs and closes the cluster
        with sigint_ignored():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.ERROR)
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close(timeout=CLOSE_TIMEOUT)
            raise
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), None
    except Exception as e:  # noqa: BLE001 - refused, timed out, malformed, or something else answering: all say the same
        raise ScratchrunError(f"Cannot reach a Dask scheduler at {scheduler} ({type(e).__name__}: {e}); start one "
                              f"with `dask scheduler` and workers with `dask worker {scheduler}`.") from None
