"""Running a study's runs, one after another or in parallel worker processes with one BLAS thread each.

A run is a pure function from its config to its run folder, so the results do not depend on how many
workers there are or in which order they finish. Each worker loads a dataset once and keeps it for every
run it is given; the decoded cache is memory-mapped, so the workers share one copy of the images.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from .studies import RunSpec


@dataclass(frozen=True)
class RunResult:
    index: int
    variant: str
    seed: int
    status: str
    run_dir: str
    summary: dict


_datasets: dict = {}  # per process: (dataset name, data dir) -> RawDataset


def _raw(name: str, data_dir: str | None):
    from .datasets import load_raw

    key = (name, data_dir)
    if key not in _datasets:
        _datasets[key] = load_raw(name, Path(data_dir) if data_dir else None, allow_download=False)
    return _datasets[key]


def run_one(spec: RunSpec, runs_dir: str, data_dir: str | None) -> RunResult:
    """Train one spec into `runs_dir` and report its outcome (the run folder holds everything else)."""
    from .experiment import run_experiment

    raw = _raw(spec.config.data.dataset, data_dir)
    outcome = run_experiment(spec.config, raw, Path(runs_dir), stamp=False)
    return RunResult(spec.index, spec.variant, spec.seed, outcome.status, str(outcome.run_dir), outcome.summary)


def _worker_init(extra_datasets: dict) -> None:
    """One BLAS thread per worker, and any dataset registered in the parent (tests register small ones)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from .datasets import DATASETS

    DATASETS.update(extra_datasets)


def run_all(
    specs: Sequence[RunSpec],
    runs_dir: Path,
    data_dir: Path | None,
    jobs: int,
    on_result: Callable[[RunResult], None] = lambda result: None,
) -> list[RunResult]:
    """Run every spec (in `jobs` processes when jobs > 1) and return the results in spec order."""
    data_dir_text = str(data_dir) if data_dir else None
    results = []
    for result in _results(specs, str(runs_dir), data_dir_text, jobs):
        on_result(result)
        results.append(result)
    return sorted(results, key=lambda r: r.index)


def _results(specs: Sequence[RunSpec], runs_dir: str, data_dir: str | None, jobs: int) -> Iterator[RunResult]:
    if jobs <= 1 or len(specs) <= 1:
        for spec in specs:
            yield run_one(spec, runs_dir, data_dir)
        return
    from .datasets import DATASETS

    used = {spec.config.data.dataset for spec in specs}
    extra = {name: DATASETS[name] for name in used}
    context = get_context("spawn")  # a fresh interpreter: BLAS reads its one-thread setting at import
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init, initargs=(extra,)) as pool:
        pending = {pool.submit(run_one, spec, runs_dir, data_dir) for spec in specs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
