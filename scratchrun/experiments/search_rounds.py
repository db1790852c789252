"""Running a search: rounds of trials, successive halving within a round, and a journal that makes it resumable.

Every finished trial run appends one line to `journal.jsonl`, keyed by (trial, stop_epochs). A resumed search
replays the journal instead of training those runs again; since sampling, pruning and narrowing are pure
functions of the results, it takes exactly the decisions the first attempt would have taken, keeps the
trial numbering, and trains only what is missing (interrupted runs included).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scratchrun.config.loader import Config, config_from_dict
from scratchrun.config.overrides import set_dotted
from scratchrun.config.search import Dimension, SearchConfig, SearchSetup
from scratchrun.errors import TooManyFailures
from scratchrun.experiments.executors import RunResult, run_all
from scratchrun.experiments.observer import Observer
from scratchrun.experiments.sampling import (
    best_trials,
    describe,
    narrow,
    rung_epochs,
    sample,
    successive_halving,
    trial_seed,
)
from scratchrun.experiments.specs import RunSpec
from scratchrun.records.files import append_synced, folder_writes, write_text_atomic
from scratchrun.records.layout import JOURNAL
from scratchrun.records.provenance import Provenance
from scratchrun.records.reader import read_journal
from scratchrun.records.status import Status
from scratchrun.records.writer import update_summary

FAILURES = ("diverged", "failed")


@dataclass
class SearchRun:
    """One search folder being filled: its plan, its trials' latest rows and the journal of every finished run."""

    folder: Path | None  # None: a dry run, which has no folder
    setup: SearchSetup  # the plan, the base config (a trial sets its sampled keys, seed and name on a copy), source
    data_dir: Path | None = None
    jobs: int = 1
    executor: str = "local"
    scheduler: str | None = None
    max_failures: int | None = None
    observer: Observer = field(default_factory=Observer)
    rows: dict[int, dict] = field(default_factory=dict)  # trial -> its latest row (trials.csv)
    ranges: list[dict] = field(default_factory=list)  # one row per round (ranges.csv)
    read_only: bool = False  # a dry run reads the journal of the search it would resume, and writes nothing
    provenance: Provenance | None = None  # the command and git state the search was started from, for every trial

    def __post_init__(self) -> None:
        self.journal = without_incomplete(self.folder, read_journal(self.folder)) if self.folder is not None else {}
        # rewritten whole: a line cut short by a crash must not swallow the next
        if self.journal and not self.read_only:
            lines = [json.dumps({**row, "stop_epochs": stop}) for (_, stop), row in self.journal.items()]
            write_text_atomic(self.folder / JOURNAL, "".join(line + "\n" for line in lines), newline="")
        epochs = self.setup.base.get("train", {}).get("epochs")
        self.rungs = rung_epochs(epochs, self.plan.prune) if self.plan.prune else [None]

    @property
    def plan(self) -> SearchConfig:
        return self.setup.plan

    @property
    def seed(self) -> int:
        return self.setup.base_config.seed

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.plan.space]

    def values(self, trial: int, space: Sequence[Dimension]) -> dict[str, Any]:
        """Trial `trial`'s sampled values: a function of the search seed, the trial number and the round's ranges."""
        return sample(space, self.seed, trial)

    def spec(self, trial: int, values: dict[str, Any], stop_epochs: int | None = None) -> RunSpec:
        """Trial `trial`'s run: the base config with its sampled values, its own seed and name."""
        run = copy.deepcopy(self.setup.base)
        for key, value in values.items():
            set_dotted(run, key, value)
        run["seed"], run["name"] = trial_seed(self.seed, trial), f"trial-{trial:03d}"
        config = config_from_dict(run, f"{self.setup.source} (trial {trial})")
        return RunSpec(trial, run["name"], run["seed"], config, stop_epochs, self.provenance)

    def run(self) -> None:
        """Every round: sample, train (pruning if asked), narrow; the rows and ranges fill in as it goes."""
        space = self.plan.space
        for round_number in range(1, self.plan.rounds + 1):
            self.ranges.append({"round": round_number, **describe(space)})
            first = (round_number - 1) * self.plan.trials
            trials = list(range(first, first + self.plan.trials))
            self._run_round(round_number, space, trials)
            if round_number < self.plan.rounds:
                best = best_trials([self.rows[t] for t in trials], self.plan.metric, self.plan.keep, with_pruned=True)
                new = narrow(space, best)
                self.observer.narrowed(describe(space), describe(new))
                space = new

    def _run_round(self, round_number: int, space, trials: list[int]) -> None:
        def score(alive: list[int], epochs: int | None) -> dict[int, float | None]:
            stop = None if epochs == self.rungs[-1] else epochs
            self._train(round_number, space, alive, stop)
            scored = (Status.COMPLETED, Status.PRUNED)  # trained to the end, or to this rung
            return {t: self.rows[t][self.plan.metric] if self.rows[t]["status"] in scored else None for t in alive}

        if self.plan.prune is None:
            score(trials, None)
            return
        successive_halving(trials, self.rungs, self.plan.prune.eta, self.plan.metric, score, self._prune)

    def _train(self, round_number: int, space, trials: list[int], stop: int | None) -> None:
        """Train the trials not in the journal yet (each into a fresh folder); take the others from it."""
        todo, values = [], {}
        for trial in trials:
            if (trial, stop) in self.journal:
                self._record(self.journal[(trial, stop)])
            else:
                values[trial] = self.values(trial, space)
                spec = self.spec(trial, values[trial], stop)
                shutil.rmtree(self.folder / spec.variant, ignore_errors=True)  # an earlier rung's or attempt's run
                todo.append(spec)
        self.observer.stage(round_number, stop or self.rungs[-1], len(trials), len(trials) - len(todo))
        if not todo:
            return

        def finished(result: RunResult) -> None:
            row = self._row(result, round_number, values[result.index])
            self._record(row)
            if result.status not in ("interrupted", "failed"):  # both are trained again by --resume
                self._append_journal(row, stop)
            failures = sum(r["status"] in FAILURES for r in self.rows.values())
            if self.max_failures is not None and failures >= self.max_failures:
                raise TooManyFailures(f"The search stopped after {failures} diverged or failed trials (--max-failures "
                                      f"{self.max_failures}); what finished is in {self.folder}.")

        jobs = max(1, min(self.jobs, len(todo)))
        listening = self.observer.wants_progress and self.executor == "local"
        on_progress = self.observer.progress if listening else None
        run_all(todo, self.folder, self.data_dir, jobs, finished, on_progress, evaluate_test=False,
                executor=self.executor, scheduler=self.scheduler)

    def _row(self, result: RunResult, round_number: int, values: dict) -> dict:
        final = result.summary.get("final") or {}
        return {"trial": result.index, "round": round_number, **values, "status": result.status,
                self.plan.metric: final.get(self.plan.metric), "epochs": result.summary.get("epochs"),
                "seconds": result.summary.get("wall_time_s"),
                "run_dir": Path(result.run_dir).name if result.run_dir else ""}

    def _record(self, row: dict) -> None:
        self.rows[row["trial"]] = dict(row)
        self.observer.finished(self.rows[row["trial"]])

    def _append_journal(self, row: dict, stop: int | None) -> None:
        """One whole line, on disk before the trial counts as finished (a cut line is ignored on resume)."""
        with folder_writes(self.folder, f"the trial's run is in {self.folder / row['run_dir']}; --resume trains it "
                                        "again."):
            append_synced(self.folder / JOURNAL, json.dumps({**row, "stop_epochs": stop}) + "\n")
        self.journal[(row["trial"], stop)] = row

    def _prune(self, trial: int, epochs: int) -> None:
        """Mark a trial pruned, in trials.csv and in its run's summary.json."""
        row = self.rows[trial]
        row["status"] = "pruned"
        run_dir = self.folder / row["run_dir"]
        if (run_dir / "summary.json").is_file():  # the run recorded itself as pruned when it stopped; now it is final
            update_summary(run_dir, message=f"pruned by successive halving after {epochs} epochs: not in the best 1/"
                                            f"{self.plan.prune.eta} of its rung")
        self.observer.finished(row)

    def best_config(self) -> Config | None:
        """The best completed trial's full config, as it was trained."""
        from scratchrun.config.loader import load_config

        best = self.best_row()
        return load_config(self.folder / best["run_dir"] / "config.yaml") if best else None

    def best_row(self) -> dict | None:
        best = best_trials(list(self.rows.values()), self.plan.metric, 1)
        return best[0] if best else None

    def sorted_rows(self) -> list[dict]:
        return [self.rows[t] for t in sorted(self.rows)]


def without_incomplete(folder: Path, journal: dict[tuple[int, int | None], dict]) -> dict[tuple[int, int | None], dict]:
    """The journal less each trial's latest completed run whose folder is no longer whole (a file lost or cut short
    after it finished) and less failed runs: those are trained again, as a study's --resume does. Earlier rungs
    stand as decided."""
    from scratchrun.records.index import read_run

    latest: dict[int, tuple[int, int | None]] = {}
    for trial, stop in journal:  # a trial's folder holds its latest run: the full budget (None) after any rung
        if trial not in latest or stop is None or (latest[trial][1] is not None and stop > latest[trial][1]):
            latest[trial] = (trial, stop)
    broken = {key for key in latest.values() if journal[key]["status"] == "completed"
              and read_run(folder / journal[key]["run_dir"]).status != "completed"}
    failed = {key for key, row in journal.items() if row["status"] == "failed"}  # journals from before: tried again
    return {key: row for key, row in journal.items() if key not in broken | failed}

