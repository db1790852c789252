"""Shared fixtures (a tiny synthetic dataset registered as `tiny`, a learnable one as `digits`, the real MNIST folder)
and the rule that under CI=true a test needing MNIST, the browser or Dask may not skip: it fails, saying why it would
have skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from idx_fixtures import write_tiny_dataset

from scratchrun.data.registry import DATASETS

# Read once, before any test changes the environment.
REAL_DATA_DIR = os.environ.get("SCRATCHRUN_DATA_DIR")
IN_CI = os.environ.get("CI") == "true"

# What a test needs, by the fixtures it uses (directly or through another fixture): each such test gets the marker,
# whether or not its file says so, so that `-m mnist` selects it and CI=true refuses its skip.
NEEDS = {"mnist_dir": "mnist", "real_runs": "mnist", "browser": "browser"}
ESSENTIAL = frozenset({"mnist", "browser", "dask"})


def pytest_collection_modifyitems(items):
    for item in items:
        for name in sorted({NEEDS[f] for f in getattr(item, "fixturenames", ()) if f in NEEDS}):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true, a skipped test marked mnist, browser or dask is a failure: CI has the data, chromium and Dask."""
    report = (yield).get_result()
    needs = sorted(ESSENTIAL & {m.name for m in item.iter_markers()})
    if IN_CI and needs and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, but this test needs {' and '.join(needs)}: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Under CI=true a whole test file may not skip either (a module-level importorskip, say)."""
    report = (yield).get_result()
    if IN_CI and report.skipped and isinstance(collector, pytest.Module):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{collector.path.name} skipped as a whole under CI=true: {reason}"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real dataset cache."""
    monkeypatch.setenv("SCRATCHRUN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def fresh_dataset_memo():
    """A study keeps each dataset it loaded for the rest of the process; a test that stands in for one (a guarded
    test set, say) must not leave it to the next test."""
    from scratchrun.experiments.executors import local

    yield
    local._datasets.clear()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A 300/60-image MNIST-shaped dataset named `tiny`, found through SCRATCHRUN_DATA_DIR."""
    root = tmp_path / "data"
    spec = write_tiny_dataset(root, "tiny", n_train=300, n_test=60)
    monkeypatch.setitem(DATASETS, "tiny", spec)
    monkeypatch.setenv("SCRATCHRUN_DATA_DIR", str(root))
    return root


@pytest.fixture
def digits(tmp_path, monkeypatch):
    """A 300/100-image dataset named `digits` that a network can learn (tests/idx_fixtures.py, digit_arrays)."""
    root = tmp_path / "data"
    spec = write_tiny_dataset(root, "digits", n_train=300, n_test=100, learnable=True)
    monkeypatch.setitem(DATASETS, "digits", spec)
    monkeypatch.setenv("SCRATCHRUN_DATA_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory) -> Path:
    """A runs folder of real MNIST runs of every kind, made once per session (tests/real_runs.py); tests only read
    it."""
    from real_runs import make_real_runs

    if not REAL_DATA_DIR or not (Path(REAL_DATA_DIR) / "mnist").is_dir():
        pytest.skip("real MNIST not available: set SCRATCHRUN_DATA_DIR to the folder that holds mnist/")
    return make_real_runs(tmp_path_factory.mktemp("real-runs"), Path(REAL_DATA_DIR))


@pytest.fixture
def mnist_dir(monkeypatch) -> Path:
    """The real MNIST folder from SCRATCHRUN_DATA_DIR (CI sets it to ../shared/data)."""
    if not REAL_DATA_DIR or not (Path(REAL_DATA_DIR) / "mnist").is_dir():
        pytest.skip("real MNIST not available: set SCRATCHRUN_DATA_DIR to the folder that holds mnist/")
    monkeypatch.setenv("SCRATCHRUN_DATA_DIR", REAL_DATA_DIR)
    return Path(REAL_DATA_DIR)
