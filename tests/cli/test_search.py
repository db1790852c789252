"""`scratchrun search` on the tiny fixture: narrowing rounds, successive halving, resume, failures, the final test."""

from __future__ import annotations

import pytest

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


PRUNED = (SEARCH.replace("rounds: 3", "rounds: 1").replace("epochs: 2", "epochs: 4")
          + "  prune: {min_epochs: 1, eta: 2}\n")


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



def test_a_resumed_final_test_keeps_its_score_instead_of_scoring_the_test_set_again(tiny, tmp_path):
    import json

    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    assert invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1", "--final-test").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    first = json.loads((folder / "search.json").read_text())["final_test"]
    result = invoke("search", config, "--resume", folder, "--runs-dir", tmp_path / "runs", "--jobs", "1",
                    "--final-test")
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "search.json").read_text())["final_test"] == first
    assert sorted(p.name for p in folder.glob("final*")) == ["final"]  # no second final run, no second look
    (folder / "final" / "model.npz").unlink()  # a final run no longer whole is not trusted: it is trained again
    result = invoke("search", config, "--resume", folder, "--runs-dir", tmp_path / "runs", "--jobs", "1",
                    "--final-test")
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "search.json").read_text())["final_test"]["run_dir"] == "final-2"


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
                    "search.space.optimizer.lr={log_uniform: [0.01, 0.1]}", "--runs-dir", tmp_path / "runs",
                    "--jobs", "1")
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
    assert [(t["trial"], t["status"]) for t in read_csv(folder / "trials.csv")] == [("0", "completed"),
                                                                                     ("1", "interrupted")]
    monkeypatch.setattr(MLP, "train_step", real_step)
    result = invoke("search", config, "--resume", folder, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert [t["status"] for t in read_csv(folder / "trials.csv")] == ["completed"] * 4


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


def test_a_failed_trial_does_not_stop_the_search_but_is_reported_and_exits_1(tiny, tmp_path, monkeypatch):
    from scratchrun.nn.optimizers import SGD

    def broken(self, params, grads):
        raise RuntimeError("boom")

    monkeypatch.setattr(SGD, "update", broken)
    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    result = invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 1, result.output  # the search finished, but a failure must not look like success
    (folder,) = (tmp_path / "runs").iterdir()
    statuses = {t["optimizer.name"]: t["status"] for t in read_csv(folder / "trials.csv")}
    assert statuses == {"sgd": "failed", "momentum": "completed"}
    output = " ".join(result.output.split())
    assert "trial(s) failed, e.g." in output and "RuntimeError: boom" in output and "error.txt" in output
    assert (folder / "search.json").is_file() and "Traceback" not in result.output


def test_resume_trains_again_a_finished_trial_whose_folder_is_no_longer_whole(tiny, tmp_path):
    config = write_config(tmp_path, SEARCH.replace("rounds: 3", "rounds: 1"))
    assert invoke("search", config, "--runs-dir", tmp_path / "runs", "--jobs", "1").exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    complete = read_csv(folder / "trials.csv")
    (folder / "trial-001" / "model.npz").unlink()  # lost after the trial finished: the record no longer holds up
    result = invoke("search", config, "--resume", folder, "--runs-dir", tmp_path / "runs", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert f"{len(complete) - 1} finished trial run(s) kept" in " ".join(result.output.split())
    assert (folder / "trial-001" / "model.npz").is_file()  # trained again, whole
    assert without_seconds(read_csv(folder / "trials.csv")) == without_seconds(complete)
