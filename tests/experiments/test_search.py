"""run_search (experiments/search.py, search_rounds.py): a search another process works in is not resumed, and
successive halving on real MNIST promotes each rung's best trials by the configured metric."""

from __future__ import annotations

import json
import math
import os
import socket

import pytest

from scratchrun import api
from scratchrun.errors import RunDirError
from scratchrun.records.lock import lock_folder

SEARCH = """name: s
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
optimizer: {name: sgd}
train: {epochs: 1, batch_size: 32}
search: {trials: 2, space: {optimizer.lr: {log_uniform: [1.0e-3, 1.0e-1]}}}
"""


def test_a_search_in_use_is_not_resumed_and_a_released_one_is(tiny, tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH)
    runs = tmp_path / "runs"
    api.search(config, jobs=1, runs_dir=runs)
    (folder,) = runs.iterdir()
    assert not (folder / ".lock").exists()  # released at the end
    (folder / "journal.jsonl").write_text("")  # as if nothing had finished: a resume would retrain both trials
    before = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}
    held = lock_folder(folder)  # what a live `scratchrun search` holds (another open file: flock says no)
    try:
        with pytest.raises(RunDirError, match=f"{folder} is in use by scratchrun process {os.getpid()} on "
                                              f"{socket.gethostname()}"):
            api.search(config, jobs=1, runs_dir=runs, resume=folder)
        after = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*") if p.name != ".lock"}
        assert after == before  # nothing read-and-rewritten, nothing deleted
    finally:
        held.release()
    resumed = api.search(config, jobs=1, runs_dir=runs, resume=folder)
    assert [row["status"] for row in resumed.trials] == ["completed", "completed"]
    assert not (folder / ".lock").exists()


def test_a_search_is_set_up_once_and_tells_one_observer_everything(tiny, tmp_path, monkeypatch):
    import scratchrun.config.search as config_search
    from scratchrun.experiments.observer import Observer

    built = []
    real = config_search.edge_configs
    monkeypatch.setattr(config_search, "edge_configs", lambda *a: built.append(a) or real(*a))

    class Seen(Observer):
        def __init__(self):
            self.calls = []

        def __getattribute__(self, name):
            if name in ("started", "stage", "finished", "narrowed", "final_run"):
                object.__getattribute__(self, "calls").append(name)
            return object.__getattribute__(self, name)

    config = tmp_path / "s.yaml"
    config.write_text(SEARCH.replace("trials: 2,", "trials: 2, rounds: 2,"))
    seen = Seen()
    found = api.search(config, jobs=1, runs_dir=tmp_path / "runs", final_test=True, observer=seen)
    assert len(built) == 1  # the range ends are built and checked once, not again before the trials
    assert seen.calls == ["started", "stage", "finished", "finished", "narrowed", "stage", "finished", "finished",
                          "final_run"]
    assert found.final_test["status"] == "completed"


HALVING = """name: halving
seed: 0
data: {{dataset: mnist, train_size: 2000, val_size: 500}}
model: {{hidden: [32]}}
optimizer: {{name: sgd}}
train: {{epochs: 8, batch_size: 100}}
search:
  trials: 8
  metric: {metric}
  prune: {{min_epochs: 1, eta: 2}}
  space:
    optimizer.lr: {{log_uniform: [1.0e-4, 1.0]}}
"""


@pytest.mark.mnist
@pytest.mark.parametrize("metric, best_first", [("val_acc", True), ("val_loss", False)])
def test_each_rung_promotes_exactly_its_best_trials_by_the_configured_metric(mnist_dir, tmp_path, metric, best_first):
    """The journal holds every trial's score at every rung (8 -> 4 -> 2 -> 1 over epochs 1, 2, 4, 8): the trials
    trained at the next rung must be this rung's best n // eta by `metric`, and the rest pruned there. A search that
    ranked by another metric, or the wrong way round, keeps the worst trials and still has the 8-4-2-1 shape."""
    config = tmp_path / "halving.yaml"
    config.write_text(HALVING.format(metric=metric))
    search = api.search(config, jobs=1, runs_dir=tmp_path / "runs")
    rungs: dict[int, dict[int, float | None]] = {}  # epochs -> {trial: its score after that many}
    for line in (search.folder / "journal.jsonl").read_text().splitlines():
        row = json.loads(line)
        rungs.setdefault(row["stop_epochs"] or 8, {})[row["trial"]] = row[metric]
    assert [len(rungs[e]) for e in sorted(rungs)] == [8, 4, 2, 1]
    rows = {row["trial"]: row for row in search.trials}
    for epochs, after in zip(sorted(rungs), sorted(rungs)[1:]):
        scores = rungs[epochs]
        finite = {t: s for t, s in scores.items() if isinstance(s, float) and math.isfinite(s)}
        ranked = sorted(finite, key=lambda t: finite[t], reverse=best_first)
        keep = max(1, len(scores) // 2)
        assert len(ranked) > keep and finite[ranked[keep - 1]] != finite[ranked[keep]], \
            f"no clear cut at epoch {epochs}, the test would prove nothing: {scores}"
        assert set(rungs[after]) == set(ranked[:keep]), f"epoch {epochs}: {scores} promoted {sorted(rungs[after])}"
        for trial in ranked[keep:]:  # the rest stop here, marked pruned at this rung
            assert (rows[trial]["status"], rows[trial]["epochs"]) == ("pruned", epochs), rows[trial]
    (winner,) = rungs[8]
    assert rows[winner]["status"] == "completed"
