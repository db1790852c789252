"""Random search without training: parsing the space, sampling it, and narrowing it round by round."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.errors import ConfigError
from scratchrun.schema import is_config_key
from scratchrun.search import Dimension, best_trials, narrow, parse_search, sample

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
    trials = [{"optimizer.lr": 1e-3, "optimizer.name": "adam", "val_acc": 0.9},
              {"optimizer.lr": 5e-3, "optimizer.name": "sgd", "val_acc": 0.8},
              {"optimizer.lr": 1e-5, "optimizer.name": "momentum", "val_acc": 0.2},
              {"optimizer.lr": 1e-4, "optimizer.name": "adam", "val_acc": float("nan")}]
    best = best_trials(trials, "val_acc", keep=2)
    assert [t["val_acc"] for t in best] == [0.9, 0.8]
    lr, name = narrow(space, best)
    assert (lr.low, lr.high) == (1e-3, 5e-3)
    assert name.choices == ("sgd", "adam")
    assert [t["val_acc"] for t in best_trials(trials, "val_acc", keep=10)] == [0.9, 0.8, 0.2]
    losses = [{"val_loss": 0.3}, {"val_loss": 0.1}]
    assert best_trials(losses, "val_loss", keep=1) == [{"val_loss": 0.1}]


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

    from scratchrun.cli import app

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
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(trials_two) == strip(trials) and ranges_two == ranges


def test_search_without_a_search_section_is_a_config_error(tiny, tmp_path):
    from typer.testing import CliRunner

    from scratchrun.cli import app

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
def test_a_small_book_search_on_mnist_finds_a_working_lr(mnist_dir, tmp_path):
    import csv

    from typer.testing import CliRunner

    from scratchrun.cli import app

    config = __import__("pathlib").Path(__file__).resolve().parents[1] / "configs" / "book-search.yaml"
    result = CliRunner().invoke(app, ["search", str(config), "--trials", "12", "train.epochs=5", "data.train_size=3000",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "trials.csv", newline="") as f:
        trials = [t for t in csv.DictReader(f) if t["val_acc"]]
    best = max(trials, key=lambda t: float(t["val_acc"]))
    assert float(best["optimizer.lr"]) > 1e-4, best


def test_prune_is_refused_until_it_is_implemented(tiny, tmp_path):
    from typer.testing import CliRunner

    from scratchrun.cli import app

    path = tmp_path / "s.yaml"
    path.write_text(SEARCH + "  prune: {min_epochs: 1, eta: 3}\n")
    result = CliRunner().invoke(app, ["search", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "not implemented yet" in result.output
    assert not (tmp_path / "runs").exists()
