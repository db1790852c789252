"""Random search without training: parsing the space, sampling it, and narrowing it round by round."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.config.schema import is_config_key
from scratchrun.config.search import Dimension, Prune, parse_search
from scratchrun.errors import ConfigError
from scratchrun.experiments.sampling import best_trials, narrow, promote, rung_epochs, sample, successive_halving

BOOK = {"trials": 100, "space": {"optimizer.lr": {"log_uniform": [1.0e-6, 1.0e-2]},
                                 "model.weight_decay": {"log_uniform": [1.0e-8, 1.0e-4]}}}


def test_the_book_search_parses():
    search = parse_search(BOOK, "cfg.yaml", is_config_key)
    assert (search.trials, search.rounds, search.keep, search.metric, search.prune) == (100, 1, 10, "val_acc", None)
    assert search.space[0] == Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2)


@pytest.mark.parametrize("raw, fragment", [
    ({"space": {"optimizer.lrr": {"uniform": [0, 1]}}}, "`optimizer.lrr` is not a config key"),
    ({"space": {"optimizer.lr": {"log_uniform": [1e-2, 1e-6]}}}, "empty or inverted"),
    ({"space": {"optimizer.lr": {"log_uniform": [0, 1e-2]}}}, "needs low > 0"),
    ({"space": {"model.dropout": {"uniform": [0.1]}}}, "two finite numbers"),
    ({"space": {"optimizer.name": {"choice": []}}}, "non-empty list"),
    ({"space": {"optimizer.lr": {"normal": [0, 1]}}}, "must be one of"),
    ({"space": {}}, "at least one config key"),
    ({"metric": "test_acc", **BOOK}, "never a test metric"),
    ({"trials": 0, **{k: v for k, v in BOOK.items() if k != "trials"}}, "search.trials = `0`"),
    ({"tirals": 5, **BOOK}, "unknown key `search.tirals`"),
    ({"prune": {"min_epochs": 0, "eta": 3}, **BOOK}, "min_epochs"),
    ({"prune": {"min_epochs": True, "eta": 3}, **BOOK}, "min_epochs"),
    ({"metric": [10], **BOOK}, "search.metric"),
])
def test_bad_search_sections_are_named(raw, fragment):
    with pytest.raises(ConfigError, match="cfg.yaml") as info:
        parse_search(raw, "cfg.yaml", is_config_key)
    assert fragment in str(info.value)


def test_samples_respect_bounds_and_depend_only_on_seed_and_trial():
    space = parse_search({"space": {"optimizer.lr": {"log_uniform": [1e-6, 1e-2]}, "model.dropout": {"uniform": [0.0, 0.5]},
                                    "optimizer.name": {"choice": ["sgd", "adam"]}}}, "s", is_config_key).space
    draws = [sample(space, 7, i) for i in range(500)]
    assert all(1e-6 <= d["optimizer.lr"] <= 1e-2 and 0 <= d["model.dropout"] <= 0.5 for d in draws)
    assert {d["optimizer.name"] for d in draws} == {"sgd", "adam"}
    assert [sample(space, 7, i) for i in reversed(range(500))][::-1] == draws  # order never matters
    assert sample(space, 8, 0) != draws[0]


def test_log_uniform_is_uniform_in_log_space():
    dim = (Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2),)
    logs = np.array([math.log10(sample(dim, 0, i)["optimizer.lr"]) for i in range(4000)])
    # uniform on [-6, -2]: each of the 4 decades holds a quarter (binomial std of a share ≈ 0.007)
    shares = np.histogram(logs, bins=4, range=(-6, -2))[0] / len(logs)
    assert np.all(np.abs(shares - 0.25) < 0.03), shares
    assert abs(logs.mean() + 4) < 0.06


def test_narrowing_keeps_the_span_of_the_best_trials():
    space = (Dimension("optimizer.lr", "log_uniform", 1e-6, 1e-2), Dimension("optimizer.name", "choice", choices=("sgd", "momentum", "adam")))
    trials = [{"trial": 0, "status": "completed", "optimizer.lr": 1e-3, "optimizer.name": "adam", "val_acc": 0.9},
              {"trial": 1, "status": "completed", "optimizer.lr": 5e-3, "optimizer.name": "sgd", "val_acc": 0.8},
              {"trial": 2, "status": "completed", "optimizer.lr": 1e-5, "optimizer.name": "momentum", "val_acc": 0.2},
              {"trial": 3, "status": "completed", "optimizer.lr": 1e-4, "optimizer.name": "adam", "val_acc": float("nan")},
              {"trial": 4, "status": "pruned", "optimizer.lr": 1e-2, "optimizer.name": "sgd", "val_acc": 0.95}]
    best = best_trials(trials, "val_acc", keep=2)
    assert [t["val_acc"] for t in best] == [0.9, 0.8]
    lr, name = narrow(space, best)
    assert (lr.low, lr.high) == (1e-3, 5e-3)
    assert name.choices == ("sgd", "adam")
    assert [t["val_acc"] for t in best_trials(trials, "val_acc", keep=10)] == [0.9, 0.8, 0.2]
    losses = [{"trial": 0, "status": "completed", "val_loss": 0.3}, {"trial": 1, "status": "completed", "val_loss": 0.1}]
    assert best_trials(losses, "val_loss", keep=1) == [losses[1]]


SEARCH = """name: s
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
optimizer: {name: sgd}
train: {epochs: 2, batch_size: 32}
search:
  trials: 4
  rounds: 3
  keep: 2
  space:
    optimizer.lr: {log_uniform: [1.0e-4, 1.0]}
    optimizer.name: {choice: [sgd, momentum]}
"""


def run_search(tmp_path, runs: str, *extra: str):
    import csv

    from typer.testing import CliRunner

    from scratchrun.cli.app import app

    path = tmp_path / "search.yaml"
    path.write_text(SEARCH)
    result = CliRunner().invoke(app, ["search", str(path), "--runs-dir", str(tmp_path / runs), *extra])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / runs).iterdir()
    with open(folder / "trials.csv", newline="") as f:
        trials = list(csv.DictReader(f))
    with open(folder / "ranges.csv", newline="") as f:
        ranges = list(csv.DictReader(f))
    return folder, trials, ranges, result.output


def test_a_three_round_search_narrows_and_is_the_same_with_any_number_of_jobs(tiny, tmp_path):
    folder, trials, ranges, output = run_search(tmp_path, "one", "--jobs", "1")
    assert [int(t["trial"]) for t in trials] == list(range(12))
    assert [t["round"] for t in trials] == ["1"] * 4 + ["2"] * 4 + ["3"] * 4
    assert [r["round"] for r in ranges] == ["1", "2", "3"]
    assert ranges[0]["optimizer.lr"] == "[0.0001, 1] log"
    spans = [tuple(float(x) for x in r["optimizer.lr"].removesuffix(" log").strip("[]").split(", ")) for r in ranges]
    assert spans[1][0] >= spans[0][0] and spans[1][1] <= spans[0][1] and spans[1] != spans[0]
    for t in trials:  # every trial lies inside its round's range
        low, high = spans[int(t["round"]) - 1]
        assert low * 0.999 <= float(t["optimizer.lr"]) <= high * 1.001
    assert {"best.yaml", "search.png", "top.png", "search.yaml"} <= {p.name for p in folder.iterdir()}
    assert "→" in output  # the ranges' old -> new bounds are shown
    _, trials_two, ranges_two, _ = run_search(tmp_path, "two", "--jobs", "2")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(trials_two) == strip(trials) and ranges_two == ranges


def test_search_without_a_search_section_is_a_config_error(tiny, tmp_path):
    from typer.testing import CliRunner

    from scratchrun.cli.app import app

    path = tmp_path / "plain.yaml"
    path.write_text("data: {dataset: tiny}\n")
    result = CliRunner().invoke(app, ["search", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "no search: section" in result.output
    assert not (tmp_path / "runs").exists()


def test_search_trials_never_read_the_test_set(tiny, tmp_path):
    import json

    folder, trials, _, _ = run_search(tmp_path, "runs", "--jobs", "1")
    for t in trials:
        final = json.loads((folder / t["run_dir"] / "summary.json").read_text())["final"]
        assert final["test_acc"] is None and final["test_loss"] is None and final["val_acc"] is not None


@pytest.mark.mnist
def test_a_small_book_search_on_mnist_finds_a_working_lr_without_reading_the_test_set(mnist_dir, tmp_path, monkeypatch):
    import dataclasses
    from pathlib import Path

    from scratchrun.data import registry as datasets

    real = datasets.load_raw
    guarded = lambda *a, **k: dataclasses.replace(real(*a, **k), test_images=Untouchable(), test_labels=Untouchable())
    monkeypatch.setattr(datasets, "load_raw", guarded)  # in this process: --jobs 1 trains every trial here
    config = Path(__file__).resolve().parents[2] / "configs" / "book-search.yaml"
    result = invoke("search", config, "--trials", "12", "train.epochs=5", "data.train_size=3000", "--jobs", "1",
                    "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    trials = [t for t in read_csv(folder / "trials.csv") if t["val_acc"]]
    best = max(trials, key=lambda t: float(t["val_acc"]))
    assert float(best["optimizer.lr"]) > 1e-4 and float(best["val_acc"]) > 0.3, best  # chance is 0.1


def test_rungs_multiply_by_eta_up_to_the_budget():
    assert rung_epochs(50, Prune(5, 3)) == [5, 15, 45, 50]
    assert rung_epochs(4, Prune(1, 2)) == [1, 2, 4]
    assert rung_epochs(5, Prune(5, 3)) == [5]
    assert rung_epochs(20, None) == [20]


def test_successive_halving_keeps_the_best_third_at_each_rung():
    """A fake objective: at 1 epoch the higher trial numbers lead; at 3 epochs trial 6 overtakes 7 and 8."""
    calls = []

    def score(trials, epochs):
        calls.append((list(trials), epochs))
        if epochs == 1:
            return {t: (None if t == 2 else t / 10) for t in trials}  # trial 2 diverged: out, but not "pruned"
        return {t: (0.9 if t == 6 else t / 100) for t in trials}

    pruned_seen = []
    pruned = successive_halving(range(9), [1, 3, 9], 3, "val_acc", score, lambda t, e: pruned_seen.append((t, e)))
    assert calls == [(list(range(9)), 1), ([6, 7, 8], 3), ([6], 9)]
    assert pruned == {0: 1, 1: 1, 3: 1, 4: 1, 5: 1, 7: 3, 8: 3}
    assert pruned_seen == sorted(pruned.items(), key=lambda te: (te[1], te[0]))


def test_promotion_by_loss_keeps_the_lowest_and_at_least_one():
    assert promote({0: 0.5, 1: 0.2, 2: 0.9, 3: 0.1}, 2, "val_loss") == [1, 3]
    assert promote({0: 0.5, 1: float("nan")}, 3, "val_acc") == [0]
    assert promote({0: None}, 3, "val_acc") == []


def test_a_run_stopped_early_is_exactly_the_start_of_the_full_run(tiny, tmp_path):
    """What lets successive halving retrain a promoted trial from scratch: the prefix repeats to the last digit."""
    from scratchrun.config.loader import config_from_dict
    from scratchrun.data.registry import load_raw
    from scratchrun.training.run import run_experiment

    config = config_from_dict({"name": "r", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [16], "dropout": 0.2},
                               "train": {"epochs": 4, "batch_size": 32, "lr_schedule": "cosine"}})
    raw = load_raw("tiny", tiny)
    full = run_experiment(config, raw, tmp_path / "full", evaluate_test=False)
    part = run_experiment(config, raw, tmp_path / "part", evaluate_test=False, stop_epochs=2)
    assert (full.status, part.status, part.summary["epochs"]) == ("completed", "stopped", 2)
    full_steps = (full.run_dir / "steps.csv").read_text().splitlines()
    part_steps = (part.run_dir / "steps.csv").read_text().splitlines()
    assert part_steps == full_steps[: len(part_steps)] and len(part_steps) < len(full_steps)
    metrics = lambda run: [line.rsplit(",", 1)[0] for line in (run.run_dir / "metrics.csv").read_text().splitlines()]
    assert metrics(part) == metrics(full)[: len(metrics(part))]
    assert part.summary["final"]["test_acc"] is None


PRUNED = SEARCH.replace("rounds: 3", "rounds: 1").replace("epochs: 2", "epochs: 4") + "  prune: {min_epochs: 1, eta: 2}\n"


def write_config(tmp_path, text: str, name: str = "search.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: str):
    from typer.testing import CliRunner

    from scratchrun.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])


def read_csv(path):
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_successive_halving_search_prunes_and_records_the_rung(tiny, tmp_path):
    import json

    config = write_config(tmp_path, PRUNED)
    result = invoke("search", config, "--runs-dir", tmp_path / "one", "--jobs", "1")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "one").iterdir()
    trials = read_csv(folder / "trials.csv")
    by_status = sorted((t["status"], t["epochs"]) for t in trials)
    assert by_status == [("completed", "4"), ("pruned", "1"), ("pruned", "1"), ("pruned", "2")]  # 4 → 2 → 1
    for t in trials:
        summary = json.loads((folder / t["run_dir"] / "summary.json").read_text())
        assert summary["status"] == t["status"] and summary["epochs"] == int(t["epochs"])
        if t["status"] == "pruned":
            assert "successive halving" in summary["message"]
    assert len((folder / "journal.jsonl").read_text().splitlines()) == 4 + 2 + 1
    result = invoke("search", config, "--runs-dir", tmp_path / "two", "--jobs", "2")
    (other,) = (tmp_path / "two").iterdir()
    assert without_seconds(read_csv(other / "trials.csv")) == without_seconds(trials)


def test_resume_trains_only_what_is_missing_and_gives_the_same_trials(tiny, tmp_path):
    config = write_config(tmp_path, PRUNED)
    assert invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    complete = read_csv(folder / "trials.csv")
    journal = (folder / "journal.jsonl").read_text().splitlines()
    # as if stopped during the second rung: keep the first rung and half a line, drop the outputs
    (folder / "journal.jsonl").write_text("\n".join(journal[:5]) + "\n" + journal[5][:20])
    for name in ("trials.csv", "best.yaml", "search.json"):
        (folder / name).unlink()
    result = invoke("search", config, "--resume", folder, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "5 finished trial run(s) kept" in result.output
    assert without_seconds(read_csv(folder / "trials.csv")) == without_seconds(complete)
    assert len((folder / "journal.jsonl").read_text().splitlines()) == 7
    assert len(list((tmp_path / "runs").iterdir())) == 1  # no new search folder


def test_resume_refuses_a_changed_search_and_shows_the_difference(tiny, tmp_path):
    config = write_config(tmp_path, PRUNED)
    assert invoke("search", config, "--runs-dir", tmp_path / "runs").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    before = (folder / "trials.csv").read_text()
    result = invoke("search", config, "model.weight_decay=0.001", "--resume", folder)
    assert result.exit_code == 2
    assert "differs from the one it was started with" in result.output and "+    weight_decay: 0.001" in result.output
    result = invoke("search", config, "--trials", "6", "--resume", folder)
    assert result.exit_code == 2 and "-  trials: 4" in result.output and "+  trials: 6" in result.output
    assert (folder / "trials.csv").read_text() == before
    assert invoke("search", config, "--resume", tmp_path).exit_code == 2  # not a search folder


def test_max_failures_stops_the_search_and_keeps_what_finished(tiny, tmp_path):
    diverging = SEARCH.replace("rounds: 3", "rounds: 1").replace("trials: 4", "trials: 8").replace(
        "log_uniform: [1.0e-4, 1.0]", "log_uniform: [1.0e+30, 1.0e+35]")
    config = write_config(tmp_path, diverging)
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1", "--max-failures", "2")
    assert result.exit_code == 1 and "stopped after 2 diverged or failed trials" in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    trials = read_csv(folder / "trials.csv")
    assert [t["status"] for t in trials] == ["diverged", "diverged"]  # the other six never started
    result = invoke("search", config, "--runs-dir", tmp_path / "all", "--jobs", "2")
    assert result.exit_code == 0 and "no trial completed" in result.output  # without the limit, failures do not stop it
    (folder,) = (tmp_path / "all").iterdir()
    assert [t["status"] for t in read_csv(folder / "trials.csv")] == ["diverged"] * 8


def test_final_test_retrains_on_train_plus_validation_and_scores_the_test_set_once(tiny, tmp_path):
    import json

    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1", "--final-test")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    final = json.loads((folder / "final" / "summary.json").read_text())
    assert final["status"] == "completed" and final["final"]["test_acc"] is not None
    assert (final["train_samples"], final["val_samples"]) == (300, 0)  # 240 training + 60 validation images
    recorded = json.loads((folder / "search.json").read_text())["final_test"]
    assert recorded["test_acc"] == final["final"]["test_acc"] and "final test" in result.output
    for t in read_csv(folder / "trials.csv"):  # the search's own scores never include the test set
        assert json.loads((folder / t["run_dir"] / "summary.json").read_text())["final"]["test_acc"] is None


class Untouchable:
    """Stands in for the test arrays: any use at all fails the run."""

    def __getattr__(self, name):
        raise AssertionError(f"the test set was read ({name})")

    def __len__(self):
        raise AssertionError("the test set was read (len)")


def test_without_final_test_no_trial_touches_the_test_arrays(tiny, tmp_path, monkeypatch):
    import dataclasses

    from scratchrun.data import registry as datasets

    real = datasets.load_raw
    guarded = lambda *a, **k: dataclasses.replace(real(*a, **k), test_images=Untouchable(), test_labels=Untouchable())
    monkeypatch.setattr(datasets, "load_raw", guarded)
    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert {t["status"] for t in read_csv(folder / "trials.csv")} == {"completed"}


@pytest.mark.parametrize("space, fragment", [
    ("model.dropout: {uniform: [0.0, 1.5]}", "model.dropout"),
    ("train.batch_size: {uniform: [16, 64]}", "train.batch_size"),
    ("optimizer.name: {choice: [sgd, adamw]}", "adamw"),
])
def test_a_range_that_reaches_bad_values_is_refused_before_any_folder(tiny, tmp_path, space, fragment):
    config = write_config(tmp_path, SEARCH.split("  space:")[0] + "  space:\n    " + space + "\n")
    result = invoke("search", config, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and fragment in result.output and "search.space" in result.output, result.output
    assert not (tmp_path / "runs").exists()


def test_pruning_needs_an_epoch_budget(tiny, tmp_path):
    config = write_config(tmp_path, PRUNED)
    result = invoke("search", config, "train.iterations=50", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "fixed train.epochs budget" in result.output
    result = invoke("search", config, "--executor", "spark", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "--executor `spark`" in result.output
    assert not (tmp_path / "runs").exists()


def test_search_keys_can_be_overridden_on_the_command_line(tiny, tmp_path):
    config = write_config(tmp_path, SEARCH)
    result = invoke("search", config, "search.rounds=1", "search.trials=3", "search.prune.min_epochs=1",
                    "search.space.optimizer.lr={log_uniform: [0.01, 0.1]}", "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    trials = read_csv(folder / "trials.csv")
    assert len(trials) == 3 and all(0.01 <= float(t["optimizer.lr"]) <= 0.1 for t in trials)
    assert sum(t["status"] == "pruned" for t in trials) == 2  # eta 3 by default: one of three goes on
    result = invoke("search", config, "search.rounds=0", "--runs-dir", tmp_path / "bad")
    assert result.exit_code == 2 and "search.rounds = `0`" in result.output and not (tmp_path / "bad").exists()


def test_ctrl_c_in_a_one_process_search_stops_it_and_resume_finishes_it(tiny, tmp_path, monkeypatch):
    from scratchrun.nn.model import MLP

    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    real_step, calls = MLP.train_step, {"n": 0}

    def step(self, x, y):
        calls["n"] += 1
        if calls["n"] == 25:  # during the second trial (each trains 2 epochs of 8 updates)
            raise KeyboardInterrupt
        return real_step(self, x, y)

    monkeypatch.setattr(MLP, "train_step", step)
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 130 and "--resume" in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert [(t["trial"], t["status"]) for t in read_csv(folder / "trials.csv")] == [("0", "completed"), ("1", "interrupted")]
    monkeypatch.setattr(MLP, "train_step", real_step)
    result = invoke("search", config, "--resume", folder, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert [t["status"] for t in read_csv(folder / "trials.csv")] == ["completed"] * 4


def test_narrowing_after_pruning_ranks_trials_by_how_far_they_went():
    rows = [{"trial": 0, "status": "completed", "epochs": 9, "val_acc": 0.5},
            {"trial": 1, "status": "pruned", "epochs": 3, "val_acc": 0.4},
            {"trial": 2, "status": "pruned", "epochs": 1, "val_acc": 0.9},
            {"trial": 3, "status": "pruned", "epochs": 3, "val_acc": 0.45},
            {"trial": 4, "status": "diverged", "epochs": 2, "val_acc": 0.1}]
    assert [t["trial"] for t in best_trials(rows, "val_acc", 3, with_pruned=True)] == [0, 3, 1]
    assert [t["trial"] for t in best_trials(rows, "val_acc", 3)] == [0]  # the best trial is always a completed one


def test_a_dry_run_of_a_resume_reads_the_journal_and_writes_nothing(tiny, tmp_path):
    config = write_config(tmp_path, PRUNED)
    assert invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    journal = folder / "journal.jsonl"
    journal.write_text(journal.read_text() + "not json\n")
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    result = invoke("search", config, "--resume", folder, "--dry-run")
    assert result.exit_code == 0 and "(finished)" in result.output
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_a_tampered_journal_cannot_point_outside_the_search_or_crash_it(tiny, tmp_path):
    import json

    config = write_config(tmp_path, PRUNED)
    assert invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "summary.json").write_text('{"status": "completed"}')
    lines = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    lines = [{**row, "run_dir": "../../victim"} for row in lines]
    (folder / "journal.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n[1, 2]\n{\"round\": 1}\n")
    result = invoke("search", config, "--resume", folder, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (victim / "summary.json").read_text() == '{"status": "completed"}'
    assert {t["run_dir"] for t in read_csv(folder / "trials.csv")} == {f"trial-00{i}" for i in range(4)}


def test_a_failed_trial_does_not_stop_the_search_but_is_reported(tiny, tmp_path, monkeypatch):
    from scratchrun.nn.optimizers import SGD

    def broken(self, params, grads):
        raise RuntimeError("boom")

    monkeypatch.setattr(SGD, "update", broken)
    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    statuses = {t["optimizer.name"]: t["status"] for t in read_csv(folder / "trials.csv")}
    assert statuses == {"sgd": "failed", "momentum": "completed"}
    assert "trial(s) failed with an internal error" in result.output and "error.txt" in result.output
