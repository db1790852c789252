"""The Python API: what each command does, as a function a notebook can call; `scratchrun.<name>` re-exports these.

Each function takes what its command takes (a config file or a mapping, `key=value` overrides, the same options)
and returns an object to look into instead of printing: a `Run`, a `Study` or a `Search`. Bad input raises
`scratchrun.errors.ConfigError` with the same sentence the command prints; nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scratchrun.experiments.defaults import (
    BOOK_ACTIVATIONS,
    BOOK_INITS,
    DEFAULT_DROPOUT,
    DEFAULT_SCALES,
    DEFAULT_WEIGHT_DECAY,
)

if TYPE_CHECKING:
    from scratchrun.experiments.search import Search

PathLike = str | Path
ConfigLike = PathLike | Mapping[str, Any]


@dataclass(frozen=True)
class Run:
    """One run folder: its status, summary and resolved config, and its curves read on demand."""

    folder: Path
    status: str
    summary: dict = field(repr=False)
    config: dict = field(repr=False)  # flat dotted keys, e.g. {"optimizer.lr": 0.001, ...}

    @classmethod
    def load(cls, folder: PathLike) -> Run:
        """The run in `folder`, as its records say (`stale` when its process died while running)."""
        from scratchrun.records.index import read_run

        info = read_run(Path(folder))
        return cls(info.path, info.status, info.summary, info.config)

    @property
    def final(self) -> dict:
        """The final metrics: train/val from the last evaluation, test once at the end (None when not measured)."""
        return self.summary.get("final") or {}

    @property
    def history(self) -> list[dict[str, float | None]]:
        """Every evaluation as numbers: epoch, iteration, train_loss, train_acc, val_loss, val_acc, seconds."""
        from scratchrun.records.reader import metric_values, read_metrics

        return metric_values(read_metrics(self.folder))

    @property
    def losses(self):
        """Every minibatch loss as an (N, 3) array of iteration, epoch, loss."""
        from scratchrun.records.reader import read_steps

        return read_steps(self.folder)

    @property
    def tags(self) -> tuple[str, ...]:
        """The tags a person added (`scratchrun tag`, `tag()`), sorted."""
        from scratchrun.records.annotations import read_annotations

        return read_annotations(self.folder).tags

    @property
    def note(self) -> str | None:
        from scratchrun.records.annotations import read_annotations

        return read_annotations(self.folder).note

    def tag(self, *tags: str, remove: bool = False) -> tuple[str, ...]:
        """Add (or remove) tags; kept in the run's tags.json, never in its summary.json. Returns the tags after."""
        from scratchrun.records.annotations import tag

        return tag(self.folder, remove=tags) if remove else tag(self.folder, add=tags)

    def annotate(self, text: str | None) -> str | None:
        """Replace the run's note (None or "" removes it), kept in its note.md."""
        from scratchrun.records.annotations import set_note

        return set_note(self.folder, text)

    def curves(self) -> Path:
        """The run's curves.png, drawn from its records first if it has none (a study's runs leave it to this)."""
        from scratchrun.plots.run import draw_curves

        return draw_curves(self.folder)


@dataclass(frozen=True)
class Study:
    """A study folder: one row per run (as in results.csv), the per-variant summary, and the runs themselves."""

    kind: str
    folder: Path
    results: list[dict] = field(repr=False)
    summary: list[dict] = field(repr=False)
    notes: list[str] = field(default_factory=list, repr=False)

    @property
    def runs(self) -> list[Run]:
        return [Run.load(self.folder / row["run_dir"]) for row in self.results if row["run_dir"]]

    @property
    def failed(self) -> list[dict]:
        """Runs that failed with a bug (their folders hold error.txt)."""
        return [row for row in self.results if row["status"] == "failed"]


def train(config: ConfigLike, overrides: Iterable[str] = (), *, runs_dir: PathLike = "runs",
          data_dir: PathLike | None = None, name: str | None = None, callbacks: Sequence = (), reporter=None,
          command: str | None = None) -> Run:
    """Train the MLP `config` describes and record it in `runs_dir/<time>_<name>/` (`scratchrun train`).

    A run that diverges or is interrupted (Ctrl-C, the notebook's stop button) is returned with that status and
    every metric measured so far; `callbacks` (training.trainer.Callback) see each step and evaluation, and
    `reporter` (data.fetch.FetchReporter) a dataset's download. `command` is how the run was started, for its
    records (default: this call).
    """
    from scratchrun.records.provenance import Provenance
    from scratchrun.training.run import run_experiment

    cfg = _config(config, list(overrides), name)
    given = config if not isinstance(config, Mapping) else dict(config)
    origin = Provenance.here(command or _call("train", given, list(overrides), name=name))
    outcome = run_experiment(cfg, None, Path(runs_dir), list(callbacks), provenance=origin, data_dir=_path(data_dir),
                             reporter=reporter)
    return Run.load(outcome.run_dir)


def study(kind: str, config: ConfigLike | None = None, overrides: Iterable[str] = (), *, seeds: int = 1,
          jobs: int = 0, runs_dir: PathLike = "runs", data_dir: PathLike | None = None, executor: str = "local",
          scheduler: str | None = None, resume: PathLike | None = None, observer=None, reporter=None,
          command: str | None = None, **options: Any) -> Study:
    """A chapter-6 study by its command's name (`compare-optimizers`, `init-study`, `bn-study`, `overfit-study`).

    `config` (default: the book's setting) and `overrides` make the base config; `options` are the study's own
    (see compare_optimizers and the others); `jobs` workers run it (0 = one per core), or a Dask cluster.
    `observer` (experiments.observer.Observer) hears each run start, progress and finish, `reporter` a dataset's
    download; `command` is how the study was started, for its records (default: this call).
    """
    from scratchrun.experiments.presets import define_study

    definition = define_study(kind, config, list(overrides), **options)
    command = command or _call(kind.replace("-", "_"), config, list(overrides), **options)
    return _run(definition, seeds, jobs, runs_dir, data_dir, executor, scheduler, resume, observer, reporter, command)


def sweep(config: ConfigLike, axes: Mapping[str, Sequence[Any]] | Sequence[str], *, seeds: int = 1, jobs: int = 0,
          runs_dir: PathLike = "runs", data_dir: PathLike | None = None, executor: str = "local",
          scheduler: str | None = None, resume: PathLike | None = None, observer=None, reporter=None,
          command: str | None = None) -> Study:
    """Every combination of the swept values (`{"optimizer.name": ["sgd", "adam"]}` or
    `["optimizer.name=sgd,adam"]`)."""
    from scratchrun.experiments.presets import sweep as define_sweep

    return _run(define_sweep(config, axes), seeds, jobs, runs_dir, data_dir, executor, scheduler, resume, observer,
                reporter, command or _call("sweep", config, axes))


def compare_optimizers(config: ConfigLike | None = None, overrides: Iterable[str] = (), *,
                       optimizers: Sequence[str] | None = None, lr: Mapping[str, float] | None = None,
                       **run_options: Any) -> Study:
    """6.1.8: the same network with each optimizer (default all six) on the same minibatches."""
    return study("compare-optimizers", config, overrides, optimizers=optimizers, lr=lr, **run_options)


def init_study(config: ConfigLike | None = None, overrides: Iterable[str] = (), *, inits: Sequence[str] = BOOK_INITS,
               activations: Sequence[str] = BOOK_ACTIVATIONS, **run_options: Any) -> Study:
    """6.2: activations and first gradients per initial weight scale (`std:0.01`, `xavier`, `he`), then training."""
    return study("init-study", config, overrides, inits=list(inits), activations=list(activations), **run_options)


def bn_study(config: ConfigLike | None = None, overrides: Iterable[str] = (), *, scales: int = DEFAULT_SCALES,
             **run_options: Any) -> Study:
    """6.3.2: with and without batch norm at `scales` initial weight scales from 1 to 1e-4."""
    return study("bn-study", config, overrides, scales=scales, **run_options)


def overfit_study(config: ConfigLike | None = None, overrides: Iterable[str] = (), *,
                  weight_decay: float = DEFAULT_WEIGHT_DECAY, dropout: float = DEFAULT_DROPOUT,
                  **run_options: Any) -> Study:
    """6.4: overfit 300 images, then close the gap with weight decay, dropout, or both."""
    return study("overfit-study", config, overrides, weight_decay=weight_decay, dropout=dropout, **run_options)


def search(config: PathLike, overrides: Iterable[str] = (), *, trials: int | None = None, jobs: int = 0,
           executor: str = "local", scheduler: str | None = None, resume: PathLike | None = None,
           final_test: bool = False, max_failures: int | None = None, runs_dir: PathLike = "runs",
           data_dir: PathLike | None = None, observer=None, reporter=None, command: str | None = None) -> Search:
    """6.5: the random search a config's `search:` section declares (`scratchrun search`), scored on validation only.
    Returns the search's folder, every trial's row, the best one and its config, and the final test if asked."""
    from scratchrun.config.search import load_search
    from scratchrun.experiments.search import run_search

    setup = load_search(Path(config), list(overrides), trials)
    return run_search(setup, jobs=jobs, executor=executor, scheduler=scheduler, resume=_path(resume),
                      final_test=final_test, max_failures=max_failures, runs_dir=Path(runs_dir),
                      data_dir=_path(data_dir), observer=observer, reporter=reporter,
                      command=command or _call("search", config, overrides, trials=trials, final_test=final_test))


def report(*folders: PathLike, runs_dir: PathLike = "runs", output: PathLike = "report.html",
           command: str | None = None):
    """One offline HTML file of runs, studies and searches (`scratchrun report`): every run in `runs_dir` when no
    folder is given. Returns what was written (`path`, `covers`, `size`); needs `pip install 'scratchrun[report]'`.
    `command` is how it was made, shown in the page (default: this call)."""
    from scratchrun.reporting.page import make_report

    return make_report([str(f) for f in folders], Path(runs_dir), Path(output),
                       command or _call("report", *[str(f) for f in folders], output=str(output)))


def export_tensorboard(*folders: PathLike, output: PathLike, runs_dir: PathLike = "runs", force: bool = False):
    """TensorBoard event files for runs, studies and searches (`scratchrun export tensorboard`); every run in
    `runs_dir` when no folder is given. Needs `pip install 'scratchrun[tensorboard]'`."""
    from scratchrun.exports.tensorboard_events import export_tensorboard as export

    return export([str(f) for f in folders], Path(runs_dir), Path(output), force)


def export_optuna(search: PathLike, output: PathLike | None = None, *, storage: str | None = None,
                  runs_dir: PathLike = "runs", force: bool = False):
    """A search as an Optuna study in a journal file or a storage URL (`scratchrun export optuna`). Needs
    `pip install 'scratchrun[optuna]'`."""
    from scratchrun.exports.optuna_study import export_optuna as export

    return export(str(search), Path(runs_dir), _path(output), storage, force)


def search_importance(search: PathLike, *, runs_dir: PathLike = "runs") -> dict[str, float]:
    """Optuna's importance (PED-ANOVA) of each searched key for the search's metric, most important first."""
    from scratchrun.exports.optuna_study import importance

    return importance(str(search), Path(runs_dir))


def new_config(name: str | None = None, *, example: str | None = None, output: PathLike | None = None,
               force: bool = False) -> Path:
    """Write a new config file (`scratchrun new`) and return its path: every key at its default with its meaning,
    or a copy of the shipped example `example` (mnist, best-mlp, book-search). `name` is the run name, or the file
    when it ends in .yaml; the file is `output`, else `<name>.yaml`. An existing file is replaced only with `force`."""
    from scratchrun.config.starter import example_text, starter_text
    from scratchrun.errors import ScratchrunError
    from scratchrun.records.files import check_output, write_text_atomic
    from scratchrun.records.writer import safe_name

    if name is not None and name.endswith((".yaml", ".yml")) and output is None:
        output, name = Path(name), Path(name).stem
    output = Path(output) if output is not None else Path(f"{safe_name(name or example or 'experiment')}.yaml")
    check_output(output, "my.yaml", force)
    schema_beside = (output.parent / "scratchrun.schema.json").is_file()
    text = (example_text(example, name, schema_beside) if example
            else starter_text(name or output.stem, schema_beside))
    try:
        write_text_atomic(output, text)
    except OSError as e:
        raise ScratchrunError(f"{output} could not be written ({e.strerror or e}).") from None
    return output


def _run(definition, seeds, jobs, runs_dir, data_dir, executor, scheduler, resume, observer, reporter,
         command) -> Study:
    from scratchrun.experiments.study import run_study
    from scratchrun.experiments.study_folder import result_rows

    outcome = run_study(definition, seeds=seeds, jobs=jobs, runs_dir=Path(runs_dir), data_dir=_path(data_dir),
                        resume=_path(resume), executor=executor, scheduler=scheduler, observer=observer,
                        reporter=reporter, command=command)
    rows = result_rows(outcome.specs, outcome.results, outcome.folder)
    return Study(outcome.kind, outcome.folder, rows, outcome.summary, outcome.notes)


def _config(config, overrides: list[str], name: str | None):
    """A Config from a file (named after it), from a mapping (named `run` unless it says otherwise), or as given."""
    from scratchrun.config.loader import Config, config_from_dict, load_config
    from scratchrun.config.overrides import apply_overrides

    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        raw = apply_overrides(dict(config), overrides)
        raw["name"] = name or raw.get("name") or "run"
        return config_from_dict(raw, "<config>")
    return load_config(Path(config), overrides, name=name)


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None else None


def _call(function: str, *args: Any, **kwargs: Any) -> str:
    """How a run was started from Python, for its records: `scratchrun.search('x.yaml', trials=5)`."""
    shown = [repr(a) for a in args if a not in ((), [], None)]
    shown += [f"{k}={v!r}" for k, v in kwargs.items() if v not in (None, False)]
    return f"scratchrun.{function}({', '.join(shown)})"
