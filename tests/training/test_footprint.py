"""A network is sized before it is allocated: the footprint is an honest upper bound of what a run allocates, and
a config that needs more than this machine allows is refused in one sentence by train, --dry-run, sweep and
search, with the process staying small and no folder left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scratchrun.config.loader import config_from_dict
from scratchrun.errors import ConfigError
from scratchrun.nn.optimizers import OPTIMIZERS
from scratchrun.text import size_text
from scratchrun.training import footprint as fp
from scratchrun.training import run as run_module
from scratchrun.training.footprint import MEMORY_SHARE, MemoryLimit, check_fits, footprint, memory_limit
from scratchrun.training.run import build, prepare_data, run_experiment
from scratchrun.training.trainer import evaluate

TESTS = Path(__file__).resolve().parents[1]
HUGE = "model.hidden=[100000,100000]"  # 10¹⁰ weights: 40 GB a copy, refused on any machine of today


def tiny_config(**model) -> object:
    return config_from_dict({"name": "t", "data": {"dataset": "tiny", "val_fraction": 0.2},
                             "model": {"hidden": [64, 32], **model}, "train": {"epochs": 1, "batch_size": 50}})


def test_parameters_are_counted_as_the_network_holds_them(tiny):
    from scratchrun.data.registry import load_raw

    for model in ({}, {"batch_norm": True}, {"dropout": 0.5, "batch_norm": True}):
        config = tiny_config(**model)
        data = prepare_data(config, load_raw("tiny"))
        network, _, _ = build(config, data)
        assert footprint(config).parameters == network.n_parameters


def test_the_optimizer_state_is_sized_per_optimizer(tiny):
    params = footprint(tiny_config()).parameters
    states = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}
    assert set(states) == set(OPTIMIZERS)
    for name, n_state in states.items():
        config = replace(tiny_config(), optimizer=replace(tiny_config().optimizer, name=name))
        assert footprint(config).optimizer == (1 + n_state) * params * 4  # the scratch copy and the state, float32


@pytest.mark.parametrize("model", [{}, {"batch_norm": True, "dropout": 0.3}, {"activation": "sigmoid"}])
def test_the_footprint_bounds_what_a_run_really_allocates(tiny, model):
    """Build, train a few steps and evaluate under tracemalloc (NumPy reports its arrays to it): the peak stays below
    the footprint, and the footprint is not a wild overestimate either."""
    from scratchrun.data.registry import load_raw

    config = tiny_config(**model)
    data = prepare_data(config, load_raw("tiny"))
    tracemalloc.start()
    try:
        network, optimizer, _ = build(config, data)
        x = np.random.default_rng(0).random((config.train.batch_size, data.n_features), dtype=np.float32)
        y = np.arange(config.train.batch_size) % 10
        for _ in range(3):
            network.train_step(x, y)
            network.update(optimizer)
            evaluate(network, data.train)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    need = footprint(config).total
    assert peak <= need, (peak, need)
    assert need < 4 * peak, (peak, need)


def test_a_config_that_fits_passes_and_one_that_does_not_gets_its_size(tiny):
    config = tiny_config()
    need = footprint(config)
    assert check_fits(config, MemoryLimit(need.total, "a test's budget")) == need
    with pytest.raises(ConfigError) as info:
        check_fits(config, MemoryLimit(need.total - 1, "a test's 1 MB of memory"))
    message = str(info.value)
    assert message.startswith(f"Run `t` would need {size_text(need.total)} of memory, more than the ")
    assert (f"({MEMORY_SHARE:.0%} of a test's 1 MB of memory): model.hidden = [64, 32] is {need.parameters:,} "
            "parameters" in message)
    assert message.endswith("use smaller hidden layers or a smaller train.batch_size.")


def test_this_machine_has_a_limit_below_its_memory():
    limit = memory_limit()
    if limit is None:
        pytest.skip("no sysconf and no cgroup here")
    import os

    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < limit.bytes <= physical * MEMORY_SHARE
    assert "GB" in limit.source or "MB" in limit.source


@pytest.mark.parametrize("n_bytes, text", [(999, "0.999 kB"), (87_400_000, "87.4 MB"), (241e9, "241 GB"),
                                           (12_638_259_200, "12.6 GB"), (999.6e9, "1000 GB"), (2.5e12, "2.5 TB")])
def test_sizes_read_as_three_digits(n_bytes, text):
    assert size_text(n_bytes) == text


def test_run_experiment_refuses_before_it_builds_or_makes_a_folder(tiny, tmp_path, monkeypatch):
    from scratchrun.data.registry import load_raw

    monkeypatch.setattr(fp, "memory_limit", lambda: MemoryLimit(1_000_000, "a test's 2 MB of memory"))
    monkeypatch.setattr(run_module, "build", lambda *a: pytest.fail("the network must not be built"))
    with pytest.raises(ConfigError, match=r"^Run `t` would need .* more than the 1 MB one run may use"):
        run_experiment(tiny_config(), load_raw("tiny"), tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- every command, in a real process
REFUSE = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from idx_fixtures import write_tiny_dataset
    from scratchrun.data.registry import DATASETS
    root = Path({root!r})
    DATASETS["tiny"] = write_tiny_dataset(root / "data", "tiny", n_train=300, n_test=60)
    os.environ["SCRATCHRUN_DATA_DIR"] = str(root / "data")
    from scratchrun.cli.app import app
    try:
        app(json.loads({args!r}))
    except SystemExit as e:
        code = e.code
    # VmHWM, this process's peak RSS; not getrusage's ru_maxrss, which Linux carries over from the parent (pytest)
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({{"code": code, "max_rss_mb": peak_kb / 1024}}))
""")


@pytest.mark.parametrize("command", [
    ["train", "CONFIG", HUGE],
    ["train", "--dry-run", "CONFIG", HUGE],
    ["sweep", "CONFIG", HUGE],
    ["sweep", "--dry-run", "CONFIG", "model.hidden=[16],[100000,100000]"],
    ["search", "CONFIG", HUGE],
    ["search", "--dry-run", "CONFIG", "search.space.model.hidden={choice: [[16], [100000, 100000]]}"],
])
def test_a_huge_network_is_refused_by_every_command_without_allocating(tmp_path, command):
    if not Path("/proc/self/status").is_file():
        pytest.skip("no /proc here to read a process's peak memory from")
    config = tmp_path / "cfg.yaml"
    config.write_text("name: big\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [16]}\n"
                      "train: {epochs: 1, batch_size: 32}\n"
                      "search: {trials: 2, space: {optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}}}\n")
    runs = tmp_path / "runs"
    args = [str(config) if part == "CONFIG" else part for part in command] + ["--runs-dir", str(runs)]
    script = REFUSE.format(tests=str(TESTS), root=str(tmp_path), args=json.dumps(args))
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    sentence = " ".join(done.stderr.split())
    assert report["code"] == 2, sentence
    assert sentence.startswith("error: Run `") and " would need " in sentence and "Traceback" not in sentence
    assert "model.hidden = [100000, 100000] is 10,079,600,010 parameters" in sentence
    assert report["max_rss_mb"] < 400, report
    assert not runs.exists() or not any(runs.iterdir())
