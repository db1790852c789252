"""Executors run a study's or a search's runs: `local` (worker processes here) or `dask` (a Dask cluster).

Both give the same run folders digit for digit; `run_all` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from scratchrun.errors import ConfigError
from scratchrun.experiments.executors.local import preload
from scratchrun.experiments.specs import RunSpec
from scratchrun.training.events import Event
from scratchrun.training.run import RunResult

EXECUTORS = ("local", "dask")

__all__ = ["EXECUTORS", "RunResult", "check_executor", "preload", "run_all"]


def check_executor(executor: str, scheduler: str | None) -> None:
    """An executor by name, and a scheduler address only where it means something."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor `{executor}` is not allowed; allowed: {', '.join(EXECUTORS)}.")
    if scheduler is not None and executor != "dask":
        raise ConfigError("--scheduler is for --executor dask; add --executor dask or leave out --scheduler.")


def run_all(
    specs: Sequence[RunSpec],
    runs_dir: Path,
    data_dir: Path | None,
    jobs: int,
    on_result: Callable[[RunResult], None] = lambda result: None,
    on_progress: Callable[[Event], None] | None = None,
    evaluate_test: bool = True,
    *,
    executor: str = "local",
    scheduler: str | None = None,
) -> list[RunResult]:
    """Run every spec (in `jobs` processes when jobs > 1) and return the results in spec order.

    An exception raised by `on_result` (a search that has seen too many failures) stops the rest: queued
    runs never start and running ones end as `interrupted`. A local worker that dies costs its own run only
    (`failed`, naming the signal; see executors/workers.py). `executor="dask"` runs them on a Dask cluster
    (the one at `scheduler`, else a local one of `jobs` workers; see executors/dask.py), without `on_progress`.
    """
    check_executor(executor, scheduler)
    data_dir_text = str(data_dir) if data_dir else None
    results = []
    if executor == "dask":
        from scratchrun.experiments.executors.dask import dask_results  # the only import of Dask

        stream = dask_results(specs, str(runs_dir), data_dir_text, jobs, scheduler, evaluate_test)
    elif executor == "local" and (jobs <= 1 or len(specs) <= 1):
        from scratchrun.experiments.executors.local import serial_results

        stream = serial_results(specs, str(runs_dir), data_dir_text, on_progress, evaluate_test)
    else:
        from scratchrun.experiments.executors.workers import worker_results

        stream = worker_results(specs, str(runs_dir), data_dir_text, jobs, on_progress, evaluate_test)
    try:
        for result in stream:
            on_result(result)
            results.append(result)
    finally:
        stream.close()
    return sorted(results, key=lambda r: r.index)
