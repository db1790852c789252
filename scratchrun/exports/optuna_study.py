"""`scratchrun export optuna` and `scratchrun search-importance`: a search as an Optuna study.

One Optuna trial per row of trials.csv, with the same number: its sampled values, each with the distribution of the
search space (`log_uniform` -> a log FloatDistribution, `uniform` -> a FloatDistribution, `choice` -> a
CategoricalDistribution); its state (completed -> COMPLETE with its metric, pruned -> PRUNED with the score it was
cut at, as Optuna records a pruned trial, diverged or failed or anything else -> FAIL); the validation metric at
every epoch as intermediate values (step = epoch); its run folder as the user attribute `run_dir`. Every trial gets
the first round's space: later rounds sample narrower ranges inside it, and Optuna keeps one distribution kind (and
one list of choices) per parameter in a study.

The study goes into Optuna's journal file (`optuna-dashboard study.log` opens it) or any storage URL Optuna takes.
The output depends only on the search folder: times come from the runs' records, and the journal's worker id, which
Optuna draws at random, is fixed.
"""

from __future__ import annotations

import json
import warnings
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scratchrun.config.search import METRICS
from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.experiments.search_folder import read_plan, read_search_trials
from scratchrun.records import index as ix
from scratchrun.records.files import check_output, uninterrupted, write_atomic
from scratchrun.records.reader import metric_values, read_metrics, read_summary

MISSING_EXTRA = ("this command builds an Optuna study with the optuna package, an optional extra that is not "
                 "installed: pip install 'scratchrun[optuna]'.")
WORKER = "scratchrun-export"  # the journal's worker id, instead of Optuna's random one


@dataclass(frozen=True)
class OptunaExport:
    """What `export_optuna` wrote: where, the study's name, and its trials per state."""

    storage: str
    study_name: str
    states: dict[str, int]


def export_optuna(search: str, runs_dir: Path, output: Path | None = None, storage: str | None = None,
                  force: bool = False) -> OptunaExport:
    """The search `search` (a path or a name in `runs_dir`) as an Optuna study in the journal file `output`, or in
    the storage URL `storage`."""
    optuna = _optuna()
    folder = _search_folder(search, runs_dir)
    name = folder.name
    if (output is None) == (storage is None):
        raise ConfigError("Give the journal file to write (-o study.log) or a storage URL (--storage "
                          "sqlite:///study.db), not both.")
    if storage is not None:
        return _export_to_storage(optuna, folder, storage, force)
    check_output(output, "study.log", force, given_as="-o ")
    tmp = output.with_name(f".{output.name}.journal")  # Optuna writes here; write_atomic then its own .tmp
    try:
        tmp.unlink(missing_ok=True)
        journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp)))
        study = fill(optuna.create_study(storage=journal, study_name=name, direction=_direction(folder)), folder)
        states = _states(study)
        write_atomic(output, lambda f: f.write(_fixed_worker(tmp.read_text(encoding="utf-8")).encode("utf-8")))
        tmp.unlink()
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ScratchrunError(f"The journal could not be written to {output} ({e.strerror or e}).") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return OptunaExport(str(output), name, states)


IMPORTANCE_EVALUATOR = "PED-ANOVA"  # deterministic, and needs nothing beyond optuna (fANOVA needs scikit-learn)


def importance(search: str, runs_dir: Path) -> dict[str, float]:
    """Optuna's importance (IMPORTANCE_EVALUATOR) of each searched key for the search's metric, most important
    first; from the completed trials."""
    optuna = _optuna()
    folder = _search_folder(search, runs_dir)
    study = fill(optuna.create_study(direction=_direction(folder)), folder)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        raise ConfigError(f"{folder} has {len(complete)} completed trial(s): importance needs at least 2.")
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    return optuna.importance.get_param_importances(study, evaluator=evaluator)


def fill(study, folder: Path):
    """Add every trial of the search in `folder` to `study`; returns it."""
    import optuna

    plan = read_plan(folder)
    distributions = {dim.key: _distribution(optuna, dim) for dim in plan.space}
    study.set_user_attr("search_folder", folder.name)
    study.set_user_attr("metric", plan.metric)
    with warnings.catch_warnings():  # experimental in Optuna 3 and 4: it names the objective in optuna-dashboard
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([plan.metric])
    for row in _trials(folder, plan):
        study.add_trial(frozen_trial(optuna, row, folder, plan.metric, distributions))
    return study


def frozen_trial(optuna, row: dict, folder: Path, metric: str, distributions: dict):
    """One trials.csv row as an Optuna trial."""
    states = optuna.trial.TrialState
    run = folder / row["run_dir"]
    start, end = _times(run)
    score = row.get(metric)
    state = {"completed": states.COMPLETE, "pruned": states.PRUNED}.get(row["status"], states.FAIL)
    if state != states.FAIL and score is None:
        state = states.FAIL  # a trial with no score cannot be COMPLETE, and a pruned one was cut at its score
    params = {key: _param(row[key], dist) for key, dist in distributions.items()}
    return optuna.trial.FrozenTrial(
        number=row["trial"], state=state, value=None if state == states.FAIL else score,
        datetime_start=start, datetime_complete=end, params=params, distributions=distributions,
        user_attrs={"run_dir": row["run_dir"], "round": row["round"], "status": row["status"],
                    "epochs": row.get("epochs")},
        system_attrs={}, intermediate_values=_intermediate(run, metric), trial_id=row["trial"])


def _intermediate(run: Path, metric: str) -> dict[int, float]:
    """The metric at every evaluation of the trial's run, by epoch (its last evaluation of each epoch)."""
    try:
        history = metric_values(read_metrics(run))
    except ScratchrunError:
        return {}
    return {int(row["epoch"]): row[metric] for row in history if row.get(metric) is not None}


def _times(run: Path) -> tuple[datetime, datetime]:
    """When the trial's run started and ended, from its summary (the search's time stamp when it has none)."""
    try:
        summary = read_summary(run)
    except ScratchrunError:
        summary = {}
    try:
        start = datetime.fromisoformat(summary["started"])
    except (KeyError, TypeError, ValueError):
        start = ix.stamp_time(run.parent.name) or datetime(1970, 1, 1)
    start = start.astimezone()
    return start, start + timedelta(seconds=float(summary.get("wall_time_s") or 0.0))


def _param(value: Any, distribution) -> Any:
    """A sampled value as its distribution holds it (a choice by the choice it spells)."""
    choices = getattr(distribution, "choices", None)
    if choices is None:
        return float(value)
    return next((c for c in choices if str(c) == str(value)), value)


def _distribution(optuna, dim):
    if dim.kind == "choice":
        return optuna.distributions.CategoricalDistribution(list(dim.choices))
    return optuna.distributions.FloatDistribution(dim.low, dim.high, log=dim.kind == "log_uniform")


def _direction(folder: Path) -> str:
    return "maximize" if METRICS[read_plan(folder).metric] == "max" else "minimize"


def _trials(folder: Path, plan) -> list[dict]:
    if not (folder / "trials.csv").is_file():
        raise ConfigError(f"{folder} has no trials.csv yet: no trial of the search has finished.")
    return read_search_trials(folder, plan)


def _search_folder(search: str, runs_dir: Path) -> Path:
    folder = ix.resolve(search, runs_dir)
    if ix.group_kind(folder) != "search" or ix.is_run_folder(folder):
        raise ConfigError(f"{folder} is not a search folder (it has no search.yaml): give a folder `scratchrun search` "
                          "wrote.")
    return folder


def _fixed_worker(journal: str) -> str:
    """The journal's lines with one fixed worker id instead of the random one Optuna writes (which only tells the
    process that wrote a line, to resume its own running trials: an export has none)."""
    lines = [json.loads(line) for line in journal.splitlines() if line.strip()]
    return "".join(json.dumps({**line, "worker_id": WORKER}) + "\n" for line in lines)


def _export_to_storage(optuna, folder: Path, storage: str, force: bool) -> OptunaExport:
    """The study built whole in memory first (a damaged trials.csv stops it there, before the storage is touched),
    then copied into `storage` beside the study it replaces (--force), which is deleted only once the copy is in."""
    name = folder.name
    exists = name in _study_names(optuna, storage)
    if exists and not force:
        raise ConfigError(f"--storage {storage} already holds a study named {name}; give --force to replace it.")
    study = fill(optuna.create_study(storage=optuna.storages.InMemoryStorage(), study_name=name,
                                     direction=_direction(folder)), folder)
    beside = f"{name}.scratchrun-new"
    copied: list[str] = []
    try:
        if not exists:
            _copy(optuna, study, storage, name, copied)
        else:
            if beside in _study_names(optuna, storage):  # left by an export that was stopped before it swapped
                optuna.delete_study(study_name=beside, storage=storage)
            _copy(optuna, study, storage, beside, copied)
            with uninterrupted():  # the old study goes only with the new one whole beside it
                optuna.delete_study(study_name=name, storage=storage)
                _copy(optuna, study, storage, name, copied)
                optuna.delete_study(study_name=beside, storage=storage)
                copied.remove(beside)
    except Exception as e:  # a full disk, a locked database: Optuna's own sentence, and what the storage holds now
        kept = f"the new study is whole under the name {beside}" if beside in copied else "it is as it was"
        raise ScratchrunError(f"--storage {storage}: Optuna could not write the study {name} ({type(e).__name__}: "
                              f"{e}); {kept}.") from None
    return OptunaExport(storage, name, _states(study))


def _copy(optuna, study, storage: str, name: str, copied: list[str]) -> None:
    """Copy `study` into `storage` as `name`; a copy cut short is deleted again."""
    try:
        optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage, to_storage=storage,
                          to_study_name=name)
    except BaseException:
        with suppress(Exception):
            if name in _study_names(optuna, storage):
                optuna.delete_study(study_name=name, storage=storage)
        raise
    copied.append(name)


def _study_names(optuna, storage: str) -> list[str]:
    try:
        return [s.study_name for s in optuna.get_all_study_summaries(storage=storage)]
    except Exception as e:  # an unknown scheme, a missing driver, a locked database: Optuna's own sentence
        raise ConfigError(f"--storage {storage} cannot be opened by Optuna ({type(e).__name__}: {e}).") from None


def _states(study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ScratchrunError(MISSING_EXTRA) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
