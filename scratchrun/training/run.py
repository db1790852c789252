"""One run from start to finish: config + dataset in, a complete run folder and its summary out.

Every run goes through `run_experiment` (`train`, `reproduce`, each run of a study or a search), so a run folder
always has the same files, whatever started it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from scratchrun.config.loader import Config
from scratchrun.data.data_dir import check_data_dir
from scratchrun.data.registry import RawDataset, load_raw
from scratchrun.data.splits import Data, make_data
from scratchrun.errors import RecordError, RunFailed
from scratchrun.nn.model import MLP
from scratchrun.nn.optimizers import OPTIMIZERS, Optimizer
from scratchrun.plots.run import save_curves
from scratchrun.records.provenance import Provenance
from scratchrun.records.status import Status
from scratchrun.records.writer import RunRecord, blas_description, check_runs_dir
from scratchrun.training.footprint import check_fits
from scratchrun.training.seeding import Streams, streams
from scratchrun.training.trainer import Callback, TrainResult, evaluate, train

BLAS_THREADS = 1  # parallelism comes from running several runs at once, in separate processes


@dataclass(frozen=True)
class RunResult:
    """How a run ended: its status, its folder (None when none was made) and its summary; for a run of a study or a
    search (what an executor returns), also which of the plan's runs it was."""

    status: str
    run_dir: Path | None
    summary: dict
    index: int | None = None
    variant: str | None = None
    seed: int | None = None

    def of(self, spec) -> RunResult:
        """This result as the plan's run `spec` (a RunSpec)."""
        return replace(self, index=spec.index, variant=spec.variant, seed=spec.seed)


class _LossLog(Callback):
    """Keeps every minibatch loss for the curves figure, and every evaluation, so that a run stopped by a record
    that cannot be written still knows how far it got."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.history: list[dict] = []
        self.per_epoch = 1

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None:
        self.per_epoch = per_epoch

    def on_step(self, iteration: int, epoch: int, loss: float) -> None:
        self.losses.append(loss)

    def on_eval(self, row: dict) -> None:
        self.history.append(row)

    def so_far(self, message: str) -> TrainResult:
        """A failed result holding what was measured before the failure."""
        iterations = len(self.losses)
        return TrainResult("failed", iterations, round(iterations / self.per_epoch, 4), history=self.history,
                           message=message)


def build(config: Config, data: Data, rngs: Streams | None = None) -> tuple[MLP, Optimizer, object]:
    """The network, its optimizer and the batch-order stream, all drawn from the config's seed (`rngs`: its streams,
    when the caller already spawned them for the splits)."""
    rngs = rngs or streams(config.seed)
    model = MLP(data.n_features, data.n_classes, config.model, rngs.init, rngs.dropout)
    optimizer = OPTIMIZERS[config.optimizer.name](**config.optimizer.params)
    return model, optimizer, rngs.batches


def prepare_data(config: Config, raw: RawDataset, with_test: bool = True, rngs: Streams | None = None) -> Data:
    """The run's splits; done before the run folder exists so a bad size leaves nothing behind."""
    return make_data(raw, config.data, (rngs or streams(config.seed)).split, with_test)


def run_experiment(
    config: Config,
    raw: RawDataset | None,
    runs_dir: Path,
    callbacks: Iterable[Callback] = (),
    data: Data | None = None,
    blas_threads: int = BLAS_THREADS,
    stamp: bool = True,
    evaluate_test: bool = True,
    stop_epochs: int | None = None,
    provenance: Provenance | None = None,
    draw_curves: bool = True,
    data_dir: Path | None = None,
    reporter=None,
) -> RunResult:
    """Train one config into a new folder in `runs_dir` and record it: what `scratchrun train`, `scratchrun.train`,
    `reproduce` and every study's and search's worker do. The summary is written whether the run completes,
    diverges, is interrupted or fails.

    Everything that can refuse the run is checked before its folder exists: the network's memory, the runs folder,
    the data folder and the dataset (loaded from `data_dir` unless `raw` or `data` is given, fetched with
    `reporter`'s progress if need be), the splits. `stop_epochs` stops the run after that many epochs (see
    `trainer.train`): it is recorded as `pruned`, which it stays unless a search promotes it and trains it again.
    `provenance` is the command that started the run and the git state it started from, computed once by whoever
    starts the runs; without it, the working folder's git state is recorded, and no command. `draw_curves=False`
    leaves curves.png to whoever opens the run first (`plots.run.draw_curves`): a study's runs do, so as not to
    wait on figures.
    """
    check_fits(config)  # a network too big for this machine is refused before any array or folder exists
    if data is None and raw is None:
        check_data_dir(data_dir)
        raw = load_raw(config.data.dataset, data_dir, reporter=reporter)
    rngs = streams(config.seed)  # spawned once: the split stream for the data, the others for the network
    data = data or prepare_data(config, raw, with_test=evaluate_test, rngs=rngs)
    check_runs_dir(runs_dir)  # made only once nothing else can refuse the run
    model, optimizer, batch_rng = build(config, data, rngs)
    record = RunRecord.create(runs_dir, config, stamp=stamp, provenance=provenance or Provenance.here(None))
    started = time.perf_counter()
    result, error, failure, blas = _train_and_record(record, model, optimizer, batch_rng, data, config, callbacks,
                                                    stop_epochs, blas_threads, draw_curves)
    with threadpool_limits(limits=blas_threads, user_api="blas"):  # the test metrics too: same digits everywhere
        final = _final_metrics(model, data, result, evaluate_test)
    extra = {
        "message": result.message or (f"stopped after {stop_epochs} epochs for successive halving"
                                      if result.status == Status.PRUNED else None),
        "iterations": result.iterations,
        "epochs": result.epochs,
        "stop_epochs": stop_epochs,  # a rerun stops where this run was asked to (null: it was not)
        "wall_time_s": round(time.perf_counter() - started, 3),
        "train_time_s": round(result.train_seconds, 3),
        "samples_per_s": round(result.samples / result.train_seconds, 1) if result.train_seconds else None,
        "train_samples": len(data.train),
        "val_samples": len(data.val) if data.val is not None else 0,
        "test_samples": len(data.test) if evaluate_test and data.test is not None else 0,
        "blas": blas,
    }
    return _close_record(record, result, final, extra, error, failure)


def _train_and_record(record: RunRecord, model: MLP, optimizer: Optimizer, batch_rng, data: Data, config: Config,
                      callbacks: Iterable[Callback], stop_epochs: int | None, blas_threads: int, draw_curves: bool):
    """Train, with the record writing every step and evaluation, then save the weights (and the figure). A record
    file that cannot be written (`failure`) or a bug (`error`, its traceback kept in error.txt) ends the run as
    failed with what was measured; returns the result and both, and the BLAS the run used."""
    log = _LossLog()
    result = TrainResult(status="failed")
    error: BaseException | None = None  # a bug
    failure: RecordError | None = None  # a record file that could not be written
    blas = None
    try:
        # one BLAS thread by default: the sums, and so every digit, then do not depend on how many runs share the
        # machine
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            blas = blas_description()
            # the log first: when a record write fails, it has seen every step the record wrote
            result = train(model, optimizer, data, config.train, batch_rng, [log, record, *callbacks], stop_epochs)
    except RecordError as e:  # a full disk, not a bug: no traceback, what was measured is kept
        failure, result = e, log.so_far(str(e))
    except Exception as e:  # a bug, not bad input: keep the record and the traceback, then re-raise
        error = e
        result.status, result.message = "failed", f"{type(e).__name__}: {e}"
        text = traceback.format_exc()
        with suppress(RecordError):  # the summary still says `failed`, with the bug's message
            record.save_file("error.txt", lambda f: f.write(text.encode("utf-8")))
    try:  # the weights (and the figure) before the summary: a folder that says `completed` has them
        record.close_logs()
        if failure is None:
            record.save_model(model.state())
        if failure is None and draw_curves:
            title = f"{record.path.name} ({result.status})"
            record.save_file("curves.png", lambda f: save_curves(f, log.losses, result.history, title))
    except RecordError as e:
        failure = failure or e
    if failure is not None:
        result.status, result.message = "failed", str(failure)
    return result, error, failure, blas


def _close_record(record: RunRecord, result: TrainResult, final: dict, extra: dict, error: BaseException | None,
                  failure: RecordError | None) -> RunResult:
    """Write the summary, last; then raise what ended the run early (a record that could not be written, a bug)."""
    try:
        summary = record.close(result.status, final, result.history, extra)
    except RecordError as e:  # summary.json still says `running`: readers never take the run for a finished one
        reason = str(failure) if failure else f"of an internal error ({result.message})" if error else None
        raise RecordError(_unrecorded(reason, e, record.path), record.path,
                          {**e.summary, "status": "failed"}) from error
    if failure is not None:
        raise RecordError(f"The run stopped because {failure}; it is recorded as failed in {record.path}, with "
                          "everything measured before that.", record.path, summary) from None
    if error is not None:
        raise RunFailed(
            f"The run failed with an internal error ({result.message}); it is recorded in {record.path}, "
            f"with the traceback in {record.path / 'error.txt'}.",
            record.path,
            summary,
        ) from error
    return RunResult(result.status, record.path, summary)


def _unrecorded(reason: str | None, summary_error: RecordError, run_dir: Path) -> str:
    """The sentence for a run whose final summary could not be written, after an earlier failure (`reason`) or none."""
    what = (f"The run stopped because {reason}, and {summary_error} either" if reason
            else f"The run ended, but {summary_error}")
    return (f"{what}: {run_dir} keeps what was measured, and its summary.json still says running (listed as stale once "
            "this process has ended), so it is not taken for a finished run.")


def _final_metrics(model: MLP, data: Data, result: TrainResult, evaluate_test: bool = True) -> dict:
    """The last evaluation, plus the test set, touched once, only when the run completed."""
    last = result.history[-1] if result.history else {}
    final = {key: last.get(key) for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    if result.status != "completed" or not evaluate_test or data.test is None:  # a search trial never looks at it
        final["test_loss"], final["test_acc"] = None, None
        return final
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights may overflow: the metric says so (null)
        final["test_loss"], final["test_acc"] = evaluate(model, data.test)
    return final
