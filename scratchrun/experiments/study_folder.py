"""The study folder: study.yaml (what was asked), one run folder per run, results.csv and summary.csv."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import yaml

from scratchrun.experiments.specs import RunSpec, Variant, run_folder_name
from scratchrun.plots.spec import Figure
from scratchrun.records.files import write_csv, write_text_atomic
from scratchrun.records.index import read_run
from scratchrun.records.layout import FINAL_METRICS, RESULT_COLUMNS, STUDY_YAML
from scratchrun.records.reader import not_a_study, read_study_yaml
from scratchrun.training.run import RunResult


def write_study_yaml(folder: Path, kind: str, base: dict, variants: Sequence[Variant], seeds: Sequence[int],
                     figures: Sequence[Figure] = ()) -> None:
    """The base config, the variants (name and the keys each sets) and the seeds: enough to run it again; and its
    figures, which the report draws too."""
    study = {
        "study": kind,
        "seeds": list(seeds),
        "variants": [{"name": v.name, "set": {key: value for key, value in v.overrides}} for v in variants],
        "figures": [figure.to_dict() for figure in figures],
        "base": base,
    }
    write_text_atomic(folder / STUDY_YAML, yaml.safe_dump(study, sort_keys=False))


def result_rows(specs: Sequence[RunSpec], results: Sequence[RunResult], folder: Path) -> list[dict]:
    """One row per run in spec order; a run that never ran is listed with its status and no metrics."""
    by_index = {r.index: r for r in results}
    rows = []
    for spec in specs:
        result = by_index.get(spec.index)
        final = (result.summary.get("final") or {}) if result else {}
        rows.append({
            "variant": spec.variant,
            "seed": spec.seed,
            "status": result.status if result else "interrupted",
            "run_dir": str(Path(result.run_dir).relative_to(folder)) if result and result.run_dir else "",
            **{m: final.get(m) for m in FINAL_METRICS},
            "wall_time_s": result.summary.get("wall_time_s") if result else None,
        })
    return rows


def summary_rows(rows: Sequence[dict]) -> list[dict]:
    """Per variant, in first-seen order: the number of runs, and the mean and std of each final metric."""
    variants: dict[str, list[dict]] = {}
    for row in rows:
        variants.setdefault(row["variant"], []).append(row)
    out = []
    for variant, members in variants.items():
        line = {"variant": variant, "runs": len(members)}
        for metric in FINAL_METRICS:
            values = [r[metric] for r in members if r[metric] is not None]
            line[f"{metric}_mean"] = statistics.fmean(values) if values else None
            line[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else (0.0 if values else None)
        out.append(line)
    return out


def write_results(folder: Path, specs: Sequence[RunSpec], results: Sequence[RunResult]) -> list[dict]:
    """results.csv and summary.csv; returns the summary rows for the terminal."""
    rows = result_rows(specs, results, folder)
    write_csv(folder / "results.csv", rows, RESULT_COLUMNS)
    summary = summary_rows(rows)
    columns = ["variant", "runs", *(f"{m}_{s}" for m in FINAL_METRICS for s in ("mean", "std"))]
    write_csv(folder / "summary.csv", summary, columns)
    return summary


def write_readme(folder: Path, kind: str, command: str, summary: Sequence[dict], n_runs: int) -> None:
    """README.md: the command, the comparison table and every figure, so the folder reads well on its own."""

    def cell(row: dict, metric: str) -> str:
        mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
        if mean is None:
            return "–"
        return f"{mean:.2%}" if row["runs"] == 1 else f"{mean:.2%} ± {std:.2%}"

    lines = [f"# {kind}", "", f"`{command}`: {n_runs} runs; each has its own folder here (see results.csv).", "",
             "| variant | runs | train acc | val acc | test acc |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['variant']} | {r['runs']} | {cell(r, 'train_acc')} | {cell(r, 'val_acc')} | {cell(r, 'test_acc')} "
              "|"
              for r in summary]
    for figure in sorted(folder.glob("*.png")):
        lines += ["", f"![{figure.stem}]({figure.name})"]
    write_text_atomic(folder / "README.md", "\n".join(lines) + "\n")


class SavedStudy(NamedTuple):
    """What a study.yaml holds; `figures` is None in one written before studies saved them."""

    kind: str
    base: dict
    variants: list[Variant]
    seeds: list[int]
    figures: tuple[Figure, ...] | None


def read_study(folder: Path) -> SavedStudy:
    """What study.yaml asked for (records/reader.py reads it), to resume the same study or draw its figures."""
    study = read_study_yaml(folder)
    try:
        figures = None if study["figures"] is None else tuple(Figure.from_dict(f) for f in study["figures"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise not_a_study(folder / STUDY_YAML, e) from None
    variants = [Variant(v["name"], tuple(v["set"].items())) for v in study["variants"]]
    return SavedStudy(study["study"], study["base"], variants, study["seeds"], figures)


def finished_results(folder: Path, runs: Iterable[tuple[int, str, int]]) -> dict[int, RunResult]:
    """Of a study folder's runs, given as (index, variant, seed), those that completed and hold everything a
    completed run holds, read back from their own records; any other (missing, damaged, stopped, `incomplete`) is
    trained again."""
    done = {}
    for index, variant, seed in runs:
        run = read_run(folder / run_folder_name(variant, seed), folder.name)
        if run.status == "completed":
            done[index] = RunResult("completed", run.path, run.summary, index, variant, seed)
    return done
