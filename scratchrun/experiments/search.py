"""A random search end to end (chapter 6.5): make or resume its folder, run the rounds, retrain the best, write it all.

The CLI and the Python API both call `run_search` with the `SearchSetup` that `load_search` built. An `Observer`
sees the rounds as they go, so this module never prints. Ctrl-C writes the tables of what finished and raises
`Interrupted`; too many failures, or a cluster that goes away, write them too and raise their own error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scratchrun.config.loader import Config
from scratchrun.config.search import SearchConfig, SearchSetup
from scratchrun.errors import Interrupted, ScratchrunError
from scratchrun.experiments.observer import Observer
from scratchrun.records.provenance import Provenance

SearchObserver = Observer  # the name the Python API documented first


@dataclass
class Search:
    """A finished search: its folder, every trial's row, the best one and its config, and the final test if asked."""

    folder: Path
    plan: SearchConfig
    keys: list[str]
    trials: list[dict]
    best: dict | None
    best_config: dict | None  # the best trial's full config, as a mapping (best.yaml holds it too)
    final_test: dict | None

    @property
    def metric(self) -> str:
        return self.plan.metric

    @property
    def failed(self) -> list[dict]:
        return [row for row in self.trials if row["status"] == "failed"]

    @property
    def counts(self) -> str:
        """E.g. `3 completed, 97 pruned`."""
        from scratchrun.records.status import counts_text

        return counts_text((row["status"] for row in self.trials), none="no trial finished")


def run_search(
    setup: SearchSetup,
    *,
    jobs: int = 0,
    executor: str = "local",
    scheduler: str | None = None,
    resume: Path | None = None,
    final_test: bool = False,
    max_failures: int | None = None,
    runs_dir: Path = Path("runs"),
    data_dir: Path | None = None,
    observer: Observer | None = None,
    command: str | None = None,
    reporter=None,
) -> Search:
    """Run (or resume) the search `setup` asks for into `runs_dir/<time>_search-<name>/`, and write its tables.

    The search folder is locked while this works in it (records.lock): resuming a search that another process
    is still running raises RunDirError naming that process.
    """
    import os
    import shutil
    from contextlib import ExitStack

    from scratchrun.data.data_dir import check_data_dir
    from scratchrun.experiments.executors import check_executor, preload
    from scratchrun.experiments.search_folder import check_resumable, write_search_tables, write_search_yaml
    from scratchrun.experiments.search_rounds import SearchRun
    from scratchrun.records.lock import lock_folder
    from scratchrun.records.writer import create_run_dir

    command = command or f"scratchrun search {setup.source}"
    check_executor(executor, scheduler)
    check_search_fits(setup)
    with ExitStack() as held:
        if resume is not None:
            check_resumable(resume, setup.saved)
            held.callback(lock_folder(resume).release)  # before its journal is read: one writer at a time
        check_data_dir(data_dir)
        if executor == "local" or final_test:
            preload(setup.base_config.data.dataset, data_dir, reporter)  # fetch (or fail) before any folder exists
        folder = resume if resume is not None else create_run_dir(runs_dir, f"search-{setup.base_config.name}")
        if resume is None:
            try:
                held.callback(lock_folder(folder).release)
                write_search_yaml(folder, setup.saved)
            except BaseException:  # a search folder without its search.yaml could never be resumed: leave none
                shutil.rmtree(folder, ignore_errors=True)
                raise
        run = SearchRun(folder, setup, data_dir, jobs or os.cpu_count() or 1, executor, scheduler, max_failures,
                        observer or Observer(), provenance=Provenance.here(command))
        run.observer.started(run)
        try:
            run.run()
        except KeyboardInterrupt:
            write_search_tables(run, None, None, command)
            raise Interrupted(f"{_outcome(run, None, None).counts}", folder) from None
        except ScratchrunError:  # too many failures, or a Dask scheduler that went away: keep what finished
            write_search_tables(run, None, None, command)
            raise
        best_config = run.best_config()
        final = None
        if final_test and best_config is not None:  # the test set is scored once: a resumed search keeps its score
            final = earlier_final_test(folder, best_config) or retrain_best(run, best_config)
        write_search_tables(run, best_config, final, command)
        if final is not None and final["status"] == "interrupted":
            raise Interrupted(f"{_outcome(run, best_config, None).counts}; the final run was interrupted", folder)
        return _outcome(run, best_config, final)


def plan_search(setup: SearchSetup, resume: Path | None = None):
    """The search as it would run (for --dry-run): reads a resumed search's journal, writes nothing."""
    from scratchrun.experiments.search_folder import check_resumable
    from scratchrun.experiments.search_rounds import SearchRun

    if resume is not None:
        check_resumable(resume, setup.saved)
    check_search_fits(setup)
    return SearchRun(resume, setup, read_only=True)


def check_search_fits(setup: SearchSetup) -> None:
    """The search sized before any trial runs: at most MAX_RUNS trials in all, and the base config and each range's
    ends fit in memory (each trial is checked again as it starts)."""
    from scratchrun.experiments.specs import check_size
    from scratchrun.training.footprint import check_fits

    plan = setup.plan
    check_size(plan.trials * plan.rounds, "trials",
               f"--trials (search.trials) {plan.trials} × search.rounds {plan.rounds}")
    for config in (setup.base_config, *setup.edges):
        check_fits(config)


def retrain_best(run, best_config: Config) -> dict:
    """The best config retrained with the validation images given back to training, scored once on the test set."""
    from dataclasses import replace

    from scratchrun.experiments.executors import preload
    from scratchrun.training.run import run_experiment

    config = replace(best_config, name="final", data=replace(best_config.data, train_on_val=True))
    raw = preload(config.data.dataset, run.data_dir)
    callbacks = run.observer.final_run(run.folder / "final")
    outcome = run_experiment(config, raw, run.folder, callbacks, stamp=False, provenance=run.provenance)
    final = outcome.summary.get("final") or {}
    return {"run_dir": outcome.run_dir.name, "status": outcome.status,
            "train_samples": outcome.summary.get("train_samples"),
            "test_acc": final.get("test_acc"), "test_loss": final.get("test_loss")}


def earlier_final_test(folder: Path, best_config: Config) -> dict | None:
    """The final test a resumed search already ran for this same best config, if its run is whole: never a second
    look at the test set."""
    from scratchrun.config.loader import load_config
    from scratchrun.records.index import read_run
    from scratchrun.records.reader import read_search_json

    final = (read_search_json(folder) or {}).get("final_test")
    if not isinstance(final, dict) or final.get("status") != "completed" or not isinstance(final.get("run_dir"), str):
        return None
    run_dir = folder / Path(final["run_dir"]).name  # never a path taken from the file: it stays in the search
    if read_run(run_dir).status != "completed":
        return None
    trained = load_config(run_dir / "config.yaml")
    expected = replace(best_config, name="final", data=replace(best_config.data, train_on_val=True))
    return final if trained == expected else None


def _outcome(run, best_config: Config | None, final: dict | None) -> Search:
    from scratchrun.config.loader import to_dict

    return Search(run.folder, run.plan, run.keys, run.sorted_rows(), run.best_row(),
                         None if best_config is None else to_dict(best_config), final)
