"""A study end to end: expand its variants, make (or resume) its folder, train every run, write tables and figures.

The CLI and the Python API both call `run_study`. What a person sees while it runs comes through an
`Observer` (experiments.observer), so this module never prints; an interrupted study raises `Interrupted` after writing
what it has, and a study whose runs failed with a bug says so in its outcome, not by exiting.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scratchrun.errors import ConfigError, Interrupted
from scratchrun.experiments.executors import RunResult
from scratchrun.experiments.observer import Observer
from scratchrun.experiments.specs import RunSpec, Variant
from scratchrun.plots.spec import Figure
from scratchrun.records.provenance import Provenance

# figures that need no run, given the folder and the study's data folder: drawn while the runs train
SideFigures = Callable[[Path, Path | None], list[str] | None]


@dataclass(frozen=True)
class StudyDefinition:
    """What a study is: its kind (the folder's name), the base config as data, its variants and its figures (drawn
    from its runs into PNG files and the report)."""

    kind: str
    base: dict[str, Any]
    variants: tuple[Variant, ...]
    figures: tuple[Figure, ...] = ()
    side_figures: SideFigures | None = None  # drawn by this process while its workers train, not after them


@dataclass(frozen=True)
class StudyPlan:
    """What a study would train: every run, those already completed (on resume), and the workers."""

    kind: str
    specs: list[RunSpec]
    kept: dict[int, RunResult]
    variants: tuple[Variant, ...]
    seeds: list[int]
    workers: int
    folder: Path | None = None

    @property
    def todo(self) -> list[RunSpec]:
        return [spec for spec in self.specs if spec.index not in self.kept]


@dataclass
class StudyOutcome:
    """A finished study: its folder, every run's result in spec order, the per-variant summary, and notes."""

    kind: str
    folder: Path
    specs: list[RunSpec]
    results: list[RunResult]
    summary: list[dict]
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RunResult]:
        """Runs that failed with a bug: recorded with the others, but the study must not look like a success."""
        return [r for r in self.results if r.status == "failed"]


StudyObserver = Observer  # the name the Python API documented first


def workers_for(jobs: int, n_runs: int) -> int:
    """`jobs` workers (0 = one per core), never more than there are runs, at least one."""
    return max(1, min(jobs or os.cpu_count() or 1, n_runs))


def plan_study(definition: StudyDefinition, seeds: int = 1, jobs: int = 0, resume: Path | None = None) -> StudyPlan:
    """Expand a study into its runs without touching data or folders (what a real study trains).

    With `resume`, the study is the one saved in that folder's study.yaml, and its completed runs are kept.
    """
    from scratchrun.experiments.specs import expand
    from scratchrun.experiments.study_folder import finished_results
    from scratchrun.training.footprint import check_fits

    base, variants, seed_list = study_request(definition, seeds, jobs, resume)
    specs = expand(base, variants, seed_list, definition.kind)
    for spec in specs:  # every network sized before the folder, the data or a worker exists
        check_fits(spec.config)
    kept = finished_results(resume, [(s.index, s.variant, s.seed) for s in specs]) if resume is not None else {}
    todo = len(specs) - len(kept)
    return StudyPlan(definition.kind, specs, kept, variants, seed_list, workers_for(jobs, todo), resume)


def study_request(definition: StudyDefinition, seeds: int = 1, jobs: int = 0,
                  resume: Path | None = None) -> tuple[dict, tuple[Variant, ...], list[int]]:
    """What a study asks for: its base config, its variants and its seeds (with `resume`, those its study.yaml saved),
    refused when they make more than MAX_RUNS runs, before a seed list or a run is built."""
    from scratchrun.config.loader import config_from_dict
    from scratchrun.experiments.specs import check_size
    from scratchrun.experiments.study_folder import read_study

    for name, value, low in (("--seeds", seeds, 1), ("--jobs", jobs, 0)):  # the CLI checks these too; the API may not
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} {value!r} is not allowed; allowed: an integer >= {low}.")
    if resume is None:
        variants = tuple(definition.variants)
        check_size(len(variants) * seeds, "runs", f"--seeds {seeds} × {len(variants)} variant(s)")
        first_seed = config_from_dict(definition.base).seed
        return definition.base, variants, [first_seed + i for i in range(seeds)]
    saved_kind, base, saved_variants, seed_list, _ = read_study(resume)
    if saved_kind != definition.kind:
        raise ConfigError(f"{resume} holds a `{saved_kind}` study, not a `{definition.kind}` one: resume it with "
                          "the command that made it.")
    check_size(len(saved_variants) * len(seed_list), "runs",
               f"{resume / 'study.yaml'}'s {len(seed_list)} seed(s) × {len(saved_variants)} variant(s)")
    return base, tuple(saved_variants), seed_list


def run_study(
    definition: StudyDefinition,
    *,
    seeds: int = 1,
    jobs: int = 0,
    runs_dir: Path = Path("runs"),
    data_dir: Path | None = None,
    resume: Path | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    observer: Observer | None = None,
    command: str | None = None,
    reporter=None,
) -> StudyOutcome:
    """Train a study into `runs_dir/<time>_<kind>/` (or finish the one in `resume`) and write its tables and figures.

    `reporter` (a data.fetch.FetchReporter) sees the dataset being fetched, or its damaged cache being rebuilt.

    Every run's result is in the outcome, failed ones included. Ctrl-C writes the tables and figures of what
    finished, then raises `Interrupted` naming the folder to resume. The study folder is locked while this
    works in it (records.lock): resuming a study that another process is still running raises RunDirError.
    """
    from scratchrun.data.data_dir import check_data_dir
    from scratchrun.experiments.executors import check_executor, preload
    from scratchrun.experiments.study_folder import read_study, write_study_yaml
    from scratchrun.records.lock import lock_folder
    from scratchrun.records.writer import create_run_dir

    observer = observer or Observer()
    check_executor(executor, scheduler)
    with ExitStack() as held:
        if resume is not None:  # a folder that is no study is refused before anything is written in it
            saved = read_study(resume).figures
            definition = definition if saved is None else replace(definition, figures=saved)
            held.callback(lock_folder(resume).release)  # before reading which runs completed: one writer at a time
        plan = plan_study(definition, seeds, jobs, resume)
        origin = Provenance.here(command)  # once, here: workers record where the study was started from
        plan = replace(plan, specs=[replace(spec, provenance=origin) for spec in plan.specs])
        check_data_dir(data_dir)
        if scheduler is None:  # a remote cluster's workers read their own copy of the data
            # fetch (or fail) before any folder
            for dataset in sorted({spec.config.data.dataset for spec in plan.specs}):
                preload(dataset, data_dir, reporter)
        folder = resume if resume is not None else create_run_dir(runs_dir, definition.kind)
        if resume is None:
            try:
                held.callback(lock_folder(folder).release)
                write_study_yaml(folder, definition.kind, definition.base, plan.variants, plan.seeds,
                                 definition.figures)
            except BaseException:  # a study folder without its study.yaml could never be resumed: leave none
                shutil.rmtree(folder, ignore_errors=True)
                raise
        return _train(definition, replace(plan, folder=folder), data_dir, executor, scheduler, observer, command)


def _train(definition: StudyDefinition, plan: StudyPlan, data_dir: Path | None, executor: str, scheduler: str | None,
           observer: Observer, command: str | None) -> StudyOutcome:
    """Train what the plan has still to do into its folder, then write the tables, figures and README."""
    from scratchrun.experiments.executors import run_all
    from scratchrun.experiments.study_folder import write_readme, write_results
    from scratchrun.plots.study import draw_study
    from scratchrun.records.files import folder_writes

    folder = plan.folder
    for spec in plan.todo:  # an unfinished run's folder is replaced by its rerun
        shutil.rmtree(folder / spec.folder_name, ignore_errors=True)
    observer.started(plan)
    done = list(plan.kept.values())

    def finished(result: RunResult) -> None:
        done.append(result)
        observer.finished(result)

    on_progress = observer.progress if observer.wants_progress and executor == "local" else None
    # the figures that need no run are drawn meanwhile (and matplotlib imported), so the study does not wait on them
    # after its last run; this thread mostly waits for the workers anyway
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-figures") as side:
        side_figures = side.submit(_side_figures, definition, folder, data_dir)
        try:
            results = [*plan.kept.values(), *run_all(plan.todo, folder, data_dir, plan.workers, finished, on_progress,
                                                     executor=executor, scheduler=scheduler)]
        except KeyboardInterrupt:
            results = None
    if results is None:
        with folder_writes(folder, f"the runs themselves are recorded in {folder}; --resume {folder} writes it again."):
            write_results(folder, plan.specs, done)
            draw_study(folder, definition.figures, [r for r in done if r.status == "completed"])
        raise Interrupted(f"{len(done)} of {len(plan.specs)} runs finished; results so far in {folder}; finish it "
                          f"with --resume {folder}", folder) from None
    with folder_writes(folder, f"the runs themselves are recorded in {folder}; --resume {folder} writes it again."):
        summary = write_results(folder, plan.specs, results)
        notes = side_figures.result() or []
        draw_study(folder, definition.figures, results)
        write_readme(folder, definition.kind, command or f"scratchrun {definition.kind}", summary, len(plan.specs))
    return StudyOutcome(definition.kind, folder, plan.specs, sorted(results, key=lambda r: r.index), summary, notes)


def _side_figures(definition: StudyDefinition, folder: Path, data_dir: Path | None) -> list[str] | None:
    """The study's figures that need no run, after importing what every figure needs (a study that draws none, a
    sweep, imports nothing)."""
    from scratchrun.plots.figure import warm_up

    if not any(f.file for f in definition.figures) and definition.side_figures is None:
        return None
    warm_up()
    return definition.side_figures(folder, data_dir) if definition.side_figures is not None else None


def plan_summary(plan: StudyPlan) -> str:
    """One line: how many runs, how many kept, how many to train on how many workers, and where."""
    return (f"{plan.kind}: {len(plan.specs)} runs ({len(plan.variants)} variants × {len(plan.seeds)} seed(s)), "
            f"{len(plan.kept)} already completed, {len(plan.todo)} to train on {plan.workers} worker(s) → "
            f"{plan.folder}")

