"""The report's content agrees with the records: the run table with `scratchrun runs --expand`, the curves with
steps.csv and metrics.csv, and the figures with results.csv, trials.csv and the search's plan."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from scratchrun.errors import ConfigError
from scratchrun.plots.curves import MAX_POINTS, run_curves, thin
from scratchrun.records import index as ix
from scratchrun.records.reader import metric_values, read_metrics, read_steps, read_trials
from scratchrun.reporting.collect import gather
from scratchrun.reporting.content import curves_json, numbers
from scratchrun.reporting.figures import log_ticks, real_units


def group_folder(runs_dir: Path, kind: str) -> Path:
    return next(p for p in sorted(runs_dir.iterdir()) if p.name.endswith(kind))


def test_the_table_holds_every_run_runs_lists_with_its_final_metrics_tags_and_note(real_runs):
    content = gather([], real_runs)
    listed = ix.runs_of(ix.scan(real_runs))
    assert len(content.runs) == len(listed)
    by_folder = {run["folder"]: run for run in content.runs}
    for info in listed:
        row = by_folder[info.path.relative_to(real_runs).as_posix()]
        assert row["status"] == info.status
        assert row["val_acc"] == info.final.get("val_acc")
        assert row["tags"] == list(info.tags) and row["note"] == info.note
    tagged = next(r for r in content.runs if r["name"] == "adam-small")
    assert tagged["tags"] == ["adam", "baseline"]
    assert {"diverged", "pruned", "completed"} <= {r["status"] for r in content.runs}
    assert "optimizer.name" in [c["key"] for c in content.columns]


def test_a_runs_curves_are_its_records_thinned_and_rounded(real_runs):
    folder = group_folder(real_runs, "compare-optimizers") / "sgd-seed0"
    curves = run_curves(folder)
    steps = read_steps(folder)
    history = metric_values(read_metrics(folder))
    assert len(steps) == 60 and list(curves.iterations) == list(steps[:, 0])
    assert curves.loss[0] == pytest.approx(steps[0, 2])  # a trailing mean starts at the first loss
    assert curves.loss[-1] == pytest.approx(steps[-curves.window:, 2].mean())
    assert list(curves.evals["iteration"]) == [row["iteration"] for row in history]
    assert curves.series("val_acc")[1].tolist() == [row["val_acc"] for row in history if row["val_acc"] is not None]
    shown = curves_json(curves)
    assert shown["loss"]["y"][-1] == float(f"{curves.loss[-1]:.4g}")


def test_a_diverged_runs_loss_is_null_where_it_was_not_finite(real_runs):
    folder = next(p for p in real_runs.iterdir() if p.name.endswith("_boom"))
    steps = read_steps(folder)
    curves = curves_json(run_curves(folder))
    assert not np.isfinite(steps[:, 2]).all()
    assert None in curves["loss"]["y"]


def test_thinning_keeps_the_ends_and_at_most_the_limit():
    assert thin(10, MAX_POINTS).tolist() == list(range(10))
    kept = thin(100_000, MAX_POINTS)
    assert len(kept) <= MAX_POINTS and kept[0] == 0 and kept[-1] == 99_999
    assert numbers(np.array([1.234567, np.nan, np.inf, -2e-7])) == [1.235, None, None, -2e-7]


def test_log_ticks_are_real_units_powers_of_ten_or_finer_in_a_short_range():
    assert [real_units(t) for t in log_ticks(-6, -2)] == ["1e-6", "1e-5", "0.0001", "0.001", "0.01"]
    assert [real_units(t) for t in log_ticks(math.log10(0.004), math.log10(0.06))] == ["0.005", "0.01", "0.02", "0.05"]


def test_a_searchs_parallel_coordinates_hold_every_trial_on_the_scale_it_was_sampled_on(real_runs):
    folder = group_folder(real_runs, "search-small-search")
    content = gather([str(folder)], real_runs)
    (group,) = content.groups
    parcoords = next(f for f in group.figures if f["name"] == "parcoords")["data"][0]
    trials = read_trials(folder)
    dims = {d["label"]: d for d in parcoords["dimensions"]}
    assert len(trials) == 12 and all(len(d["values"]) == 12 for d in dims.values())
    lr = dims["optimizer.lr (log)"]
    assert lr["values"] == pytest.approx([math.log10(t["optimizer.lr"]) for t in trials])
    assert lr["ticktext"] == ["0.0001", "0.001", "0.01", "0.1", "1"] and lr["range"] == pytest.approx([-4, 0])
    assert dims["model.weight_decay"]["values"] == [t["model.weight_decay"] for t in trials]
    assert dims["optimizer.name"]["ticktext"] == ["sgd", "adam"]
    assert dims["optimizer.name"]["values"] == [["sgd", "adam"].index(t["optimizer.name"]) for t in trials]
    assert dims["status"]["ticktext"][dims["status"]["values"][0]] == trials[0]["status"]
    assert {"pruned", "completed"} <= set(dims["status"]["ticktext"])
    assert dims["round"]["values"] == [t["round"] for t in trials]


def test_a_searchs_rounds_figure_shades_the_narrowed_ranges_of_round_two(real_runs):
    from scratchrun.experiments.sampling import best_trials, narrow
    from scratchrun.experiments.search_folder import read_plan

    folder = group_folder(real_runs, "search-small-search")
    (group,) = gather([str(folder)], real_runs).groups
    rounds = next(f for f in group.figures if f["name"] == "rounds")
    plan, trials = read_plan(folder), read_trials(folder)
    narrowed = narrow(plan.space, best_trials([t for t in trials if t["round"] == 1], plan.metric, plan.keep,
                                              with_pruned=True))
    shapes = rounds["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [(narrowed[0].low, narrowed[0].high),
                                                    (narrowed[1].low, narrowed[1].high)]
    assert all(min(s["x0"], s["x1"]) >= d.low for s, d in zip(shapes, plan.space))
    assert rounds["layout"]["xaxis"]["type"] == "log" and rounds["layout"]["xaxis3"]["type"] == "category"
    assert sum(len(t["x"]) for t in rounds["data"] if t["xaxis"] == "x") == sum(
        t["val_acc"] is not None for t in trials)
    pruned = [t for t in rounds["data"] if "pruned" in t["name"]]
    assert pruned and all(t["marker"]["symbol"] == "x" for t in pruned)


def test_a_studys_bands_are_the_mean_and_std_over_its_seeds(real_runs):
    folder = group_folder(real_runs, "compare-optimizers")
    (group,) = gather([str(folder)], real_runs).groups
    val = next(f for f in group.figures if f["name"] == "val_acc")
    band, mean = val["data"][0], val["data"][1]
    assert band["fill"] == "toself" and mean["name"] == "sgd (mean of 2)"
    seeds = [np.array([r["val_acc"] for r in metric_values(read_metrics(folder / f"sgd-seed{s}"))]) for s in (0, 1)]
    assert mean["y"] == numbers(np.mean(seeds, axis=0))
    n = len(mean["x"])
    assert band["y"][:n] == numbers(np.mean(seeds, axis=0) + np.std(seeds, axis=0))
    assert [i["title"] for i in group.images] == ["paths.png"]  # drawn as is: it has no interactive version


@pytest.mark.parametrize("kind, figures", [("bn-study", ["bn"]), ("overfit-study", ["overfit", "gap"])])
def test_the_book_studies_get_their_own_figures(real_runs, kind, figures):
    (group,) = gather([str(group_folder(real_runs, kind))], real_runs).groups
    assert [f["name"] for f in group.figures] == figures and not group.images
    if kind == "bn-study":
        panels = [a["text"] for a in group.figures[0]["layout"]["annotations"]]
        assert panels == ["weight std 1", "weight std 0.0001"]


def test_a_study_gets_the_figures_its_study_yaml_declares_whatever_its_kind_is_called(real_runs, tmp_path):
    """Nothing reads a figure from the study's kind or a variant's name; a study.yaml that declares no figures (an
    earlier version's) gets its PNG files embedded."""
    import shutil

    import yaml

    folder = shutil.copytree(group_folder(real_runs, "bn-study"), tmp_path / "2026-01-01_00-00-00_my-study")
    study = yaml.safe_load((folder / "study.yaml").read_text())
    (folder / "study.yaml").write_text(yaml.safe_dump({**study, "study": "my-study"}, sort_keys=False))
    (group,) = gather([str(folder)], tmp_path).groups
    assert group.title == "my-study" and [f["name"] for f in group.figures] == ["bn"] and not group.images
    del study["figures"]
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    (group,) = gather([str(folder)], tmp_path).groups
    assert group.figures == [] and [i["title"] for i in group.images] == ["bn.png"]


def test_a_run_named_inside_a_group_that_is_also_named_appears_once(real_runs):
    study = group_folder(real_runs, "compare-optimizers")
    content = gather([str(study), str(study / "adam-seed1")], real_runs)
    assert len(content.runs) == 4 and len(content.groups) == 1


def test_no_runs_or_an_unknown_name_is_one_sentence(tmp_path, real_runs):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="There are no runs to report in .*empty"):
        gather([], tmp_path / "empty")
    with pytest.raises(ConfigError, match="`nothing-like-it` matches no run"):
        gather(["nothing-like-it"], real_runs)
