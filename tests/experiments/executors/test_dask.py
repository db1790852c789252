"""The Dask executor: the same run folders as the local executor, and one sentence when Dask cannot be used."""

from __future__ import annotations

import csv
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchrun.errors import ScratchrunError
from scratchrun.experiments.executors import dask as dask_executor
from scratchrun.experiments.executors import run_all
from scratchrun.experiments.specs import Variant, expand

BASE = {"name": "small", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]},
        "train": {"epochs": 2, "batch_size": 32}}  # validated by `expand`, once the `tiny` fixture has registered it
FILES = {"config.yaml", "steps.csv", "metrics.csv", "summary.json", "model.npz"}  # curves.png: drawn on first show


def four_specs():
    """sgd and adam, each with seeds 0 and 1, on the tiny fixture."""
    variants = [Variant(name, (("optimizer.name", name),)) for name in ("sgd", "adam")]
    return expand(BASE, variants, [0, 1])


def metrics_without_seconds(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.mark.dask
def test_dask_writes_the_same_run_folders_as_the_local_executor(tiny, tmp_path):
    pytest.importorskip("distributed")
    specs = four_specs()
    local = run_all(specs, tmp_path / "local", None, 1)
    seen = []
    remote = run_all(specs, tmp_path / "dask", None, 2, seen.append, executor="dask")
    assert sorted(r.index for r in seen) == [0, 1, 2, 3]  # on_result saw each run once
    assert [(r.index, r.variant, r.seed, r.status) for r in remote] == [(r.index, r.variant, r.seed, r.status)
                                                                        for r in local]
    assert all(r.status == "completed" for r in remote)
    for mine, theirs in zip(local, remote):
        here, there = Path(mine.run_dir), Path(theirs.run_dir)
        assert there.parent == tmp_path / "dask" and there.name == here.name
        assert {p.name for p in there.iterdir()} == {p.name for p in here.iterdir()} == FILES
        assert metrics_without_seconds(there / "metrics.csv") == metrics_without_seconds(here / "metrics.csv")
        assert (there / "steps.csv").read_bytes() == (here / "steps.csv").read_bytes()
        assert (there / "config.yaml").read_bytes() == (here / "config.yaml").read_bytes()
        assert theirs.summary["final"] == mine.summary["final"]
        with np.load(here / "model.npz") as a, np.load(there / "model.npz") as b:
            assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)



class Enough(Exception):
    pass


@pytest.mark.dask
def test_an_exception_from_on_result_stops_the_cluster_and_writes_nothing_more(tiny, tmp_path):
    pytest.importorskip("distributed")
    import multiprocessing

    def stop(result):
        raise Enough

    with pytest.raises(Enough):
        run_all(four_specs(), tmp_path / "dask", None, 2, stop, executor="dask")
    assert len(list((tmp_path / "dask").iterdir())) == 1  # only the run that was handed over
    assert multiprocessing.active_children() == []  # the LocalCluster's worker processes are gone

@pytest.mark.dask
def test_an_unreachable_scheduler_is_one_sentence_after_the_connect_timeout(tiny, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 1)
    timeouts = []  # what the client is told to wait for, rather than how long it took on this machine
    real_client = distributed.Client

    def client(*args, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return real_client(*args, **kwargs)

    monkeypatch.setattr(distributed, "Client", client)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ScratchrunError) as info:
        run_all(four_specs(), tmp_path / "runs", None, 2, executor="dask", scheduler=address)
    assert timeouts == [1]  # one attempt, given up after CONNECT_TIMEOUT (Dask waits 30 s by default)
    message = str(info.value)
    assert f"Cannot reach a Dask scheduler at {address}" in message and "\n" not in message
    assert "`dask scheduler`" in message and f"`dask worker {address}`" in message
    assert list((tmp_path / "runs").iterdir()) == []


def test_without_dask_the_error_says_what_to_install(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    with pytest.raises(ScratchrunError) as info:
        run_all(four_specs(), tmp_path / "runs", None, 2, executor="dask")
    assert str(info.value) == "--executor dask needs dask.distributed: pip install 'scratchrun[dask]'."


@pytest.mark.dask
def test_a_search_on_a_local_cluster_gives_the_local_executors_trials(tiny, tmp_path):
    """The issue's check: both executors give the same trials.csv (pruning and all), timings aside."""
    import csv

    from typer.testing import CliRunner

    from scratchrun.cli.app import app
    from tests.cli.test_search import PRUNED

    config = tmp_path / "search.yaml"
    config.write_text(PRUNED)
    tables = []
    for executor in ("local", "dask"):
        result = CliRunner().invoke(app, ["search", str(config), "--executor", executor, "--jobs", "2",
                                          "--runs-dir", str(tmp_path / executor)])
        assert result.exit_code == 0, result.output
        (folder,) = (tmp_path / executor).iterdir()
        with open(folder / "trials.csv", newline="") as f:
            tables.append([{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)])
    assert tables[0] == tables[1] and {row["status"] for row in tables[0]} == {"completed", "pruned"}
