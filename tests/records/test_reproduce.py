"""The run comparison behind `scratchrun reproduce`, on real tiny runs (records/reproduce.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np

from scratchrun.records.reproduce import compare_runs
from tests.cli.test_inspect import raw_text, rewrite_cell, train


def test_comparison_names_the_first_differing_iteration_evaluation_and_environment_change(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    copy = shutil.copytree(run, tmp_path / "copy")
    same = compare_runs(run, copy)
    assert same.matches and same.report() == ("reproduced: every one of 24 losses and 4 evaluations matches exactly, "
                                              "and so do the 6 arrays of model.npz.")
    old_loss = rewrite_cell(copy / "steps.csv", 7, 2, "0.5")
    old_acc = rewrite_cell(copy / "metrics.csv", 3, 5, "0.125")
    rewrite_cell(copy / "metrics.csv", 4, 6, "999.0")  # seconds: wall-clock time, never compared
    summary = json.loads((copy / "summary.json").read_text())
    summary["versions"]["numpy"] = "1.26.4"
    (copy / "summary.json").write_text(json.dumps(summary))
    differs = compare_runs(run, copy)
    report = differs.report()
    assert not differs.matches
    assert f"the loss first differs at iteration 7: {old_loss} in the original, 0.5 in the rerun" in report
    assert f"the evaluation at iteration 16 (epoch 2) differs: val_acc {old_acc} vs 0.125." in report
    assert f"versions.numpy {np.__version__} → 1.26.4" in report
    assert "seconds" not in report and "final" not in report


def test_comparison_of_an_interrupted_original_checks_what_it_recorded(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    cut = shutil.copytree(run, tmp_path / "cut")
    (cut / "steps.csv").write_text("".join(raw_text(run / "steps.csv").splitlines(True)[:11]), newline="")
    (cut / "metrics.csv").write_text("".join(raw_text(run / "metrics.csv").splitlines(True)[:2]), newline="")
    summary = json.loads((cut / "summary.json").read_text())
    (cut / "summary.json").write_text(json.dumps({**summary, "status": "interrupted", "final": {"val_acc": 0.1}}))
    comparison = compare_runs(cut, run)
    assert comparison.matches and comparison.partial and comparison.n_losses == 10
    assert not compare_runs(run, cut).matches  # the other way round, losses are missing


def test_comparison_checks_the_weights_and_refuses_an_empty_record(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    copy = shutil.copytree(run, tmp_path / "copy")
    with np.load(copy / "model.npz", allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    arrays["W1"] = arrays["W1"].copy()
    arrays["W1"][0, 0] += 1e-3
    np.savez(copy / "model.npz", **arrays)
    weights = compare_runs(run, copy)
    assert not weights.matches and "the weights `W1` in model.npz differ" in weights.report()
    empty = shutil.copytree(run, tmp_path / "empty")
    for name in ("steps.csv", "metrics.csv"):
        (empty / name).unlink()
    summary = json.loads((empty / "summary.json").read_text())
    (empty / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    nothing = compare_runs(empty, run)
    assert not nothing.matches and "nothing to compare" in nothing.report()


def test_a_model_npz_that_is_a_link_is_not_followed(tiny, tmp_path):
    run = train(tmp_path, tmp_path / "runs")
    copy = shutil.copytree(run, tmp_path / "copy")
    (copy / "model.npz").unlink()
    (copy / "model.npz").symlink_to(run / "model.npz")  # the same arrays, through a link
    linked = compare_runs(run, copy)
    assert not linked.matches
    assert "cannot be read (it is a symbolic link, which a record never is; it was not followed)" in linked.report()
