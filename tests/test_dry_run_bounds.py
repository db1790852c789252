"""A study, sweep or search larger than MAX_RUNS is refused up front in one sentence, dry run or not, within a few
gigabytes of address space; a dry run under the bound counts and times its runs without building them."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from scratchrun import api
from scratchrun.errors import ConfigError
from scratchrun.experiments.specs import MAX_RUNS

ADDRESS_SPACE = 3 * 2**30  # bytes: what a refusal may reserve; the unbounded dry run grew to 23.9 GB
SAFETY_TIMEOUT_S = 120  # only so a regression cannot hang the suite: no assertion is made on time
REPO = Path(__file__).resolve().parents[1]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def scratchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in its own process, with its address space capped (`ulimit -v`)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "scratchrun", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, preexec_fn=_limited, timeout=SAFETY_TIMEOUT_S)


@pytest.mark.parametrize("command, option, count, unit", [
    (["sweep", "mnist", "optimizer.name=sgd", "--seeds", "1000000000"], "--seeds 1000000000", "1,000,000,000", "runs"),
    (["search", "book-search", "--trials", "1000000000"], "--trials (search.trials) 1000000000", "1,000,000,000",
     "trials"),
    (["bn-study", "--scales", "100000"], "--scales 100000", "200,000", "runs"),
    (["sweep", "mnist", "optimizer.lr=" + ",".join(f"{i}e-4" for i in range(1, 201)),
      "model.dropout=" + ",".join(f"0.{i:03d}" for i in range(1, 101))], "200 optimizer.lr × 100 model.dropout",
     "20,000", "runs"),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_plan_beyond_the_bound_is_refused_in_one_sentence(tmp_path, command, option, count, unit, dry_run):
    done = scratchrun(*command, *(["--dry-run"] if dry_run else []), "--runs-dir", "runs", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert option in lines[0] and f"makes {count} {unit}" in lines[0] and f"at most {MAX_RUNS:,} {unit}" in lines[0]
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- under the bound: counted, not built
CONFIG = """name: dry
data: {dataset: tiny, val_fraction: 0.2}
model: {hidden: [8]}
optimizer: {name: sgd}
train: {epochs: 3, batch_size: 32}
search:
  trials: 5
  space:
    optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}
    model.weight_decay: {uniform: [1.0e-6, 1.0e-3]}
"""


@pytest.fixture
def built(tiny, tmp_path, monkeypatch):
    """How many RunSpecs and Configs a command builds, and how many network shapes it times (each timing stubbed)."""
    from scratchrun.config.schema import Config
    from scratchrun.experiments.specs import RunSpec
    from scratchrun.training import estimate

    counts = {"RunSpec": 0, "Config": 0, "measured": 0}

    def counting(cls, name):
        real = cls.__init__

        def init(self, *args, **kwargs):
            counts[name] += 1
            real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)

    counting(RunSpec, "RunSpec")
    counting(Config, "Config")

    def measured(config, sizes):
        counts["measured"] += 1
        return 1e-6, 1e-7  # seconds per training and per evaluated sample: no network is timed

    monkeypatch.setattr(estimate, "_speeds", {})
    monkeypatch.setattr(estimate, "_measure", measured)
    (tmp_path / "dry.yaml").write_text(CONFIG)
    return counts


def invoke(tmp_path, *args):
    from typer.testing import CliRunner

    from scratchrun.cli.app import app

    result = CliRunner().invoke(app, [str(a) for a in args] + ["--dry-run", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "runs").exists()
    return result.output


def test_a_sweep_of_as_many_runs_as_allowed_builds_one_config_per_shape(built, tmp_path):
    output = invoke(tmp_path, "sweep", tmp_path / "dry.yaml", "optimizer.lr=0.1,0.01", "--seeds", MAX_RUNS // 2)
    assert f"{MAX_RUNS} run(s) would train" in output and "are counted too" in output
    assert built["measured"] == 1 and built["RunSpec"] == 0
    assert built["Config"] <= 3  # the base config, its seed, and the one network shape: not one per run


def test_a_bn_study_of_as_many_runs_as_allowed_times_its_two_shapes_only(built, tmp_path):
    output = invoke(tmp_path, "bn-study", tmp_path / "dry.yaml", "--scales", MAX_RUNS // 2)
    assert f"{MAX_RUNS} run(s) would train" in output
    assert built["measured"] == 2 and built["RunSpec"] == 0  # with and without batch norm
    assert built["Config"] <= 4


@pytest.mark.parametrize("space, shapes, ends", [
    ("", 1, 4),  # a learning rate and a weight decay > 0: one shape for every trial
    ("search.space.model.hidden={choice: [[8], [16], [8, 8]]}", 3, 7),
])
def test_a_search_of_as_many_trials_as_allowed_builds_one_trial_per_shape(built, tmp_path, space, shapes, ends):
    output = invoke(tmp_path, "search", tmp_path / "dry.yaml", *([space] if space else []), "--trials", MAX_RUNS)
    assert f"{MAX_RUNS} trials × 1 round(s)" in output and "are counted too" in output
    assert built["measured"] == shapes and built["RunSpec"] == shapes
    assert built["Config"] <= 1 + 2 * ends + shapes  # the base, each range's ends (checked twice), the shapes


@pytest.mark.parametrize("call, words", [
    (lambda tmp: api.sweep(tmp / "dry.yaml", {"optimizer.lr": [0.1]}, seeds=MAX_RUNS + 1, runs_dir=tmp / "runs"),
     f"--seeds {MAX_RUNS + 1} × 1 variant(s) makes {MAX_RUNS + 1:,} runs"),
    (lambda tmp: api.bn_study(tmp / "dry.yaml", scales=MAX_RUNS // 2 + 1, runs_dir=tmp / "runs"),
     f"--scales {MAX_RUNS // 2 + 1}"),
    (lambda tmp: api.search(tmp / "dry.yaml", trials=MAX_RUNS + 1, runs_dir=tmp / "runs"),
     f"--trials (search.trials) {MAX_RUNS + 1} × search.rounds 1 makes {MAX_RUNS + 1:,} trials"),
])
def test_the_python_api_refuses_the_same_plans_before_building_them(built, tmp_path, monkeypatch, call, words):
    from scratchrun.experiments import executors, specs

    def never(*args, **kwargs):
        raise AssertionError("the plan was built, or its data loaded, before it was refused")

    monkeypatch.setattr(specs, "expand", never)
    monkeypatch.setattr(executors, "preload", never)
    with pytest.raises(ConfigError, match=re.escape(words)):
        call(tmp_path)
    assert built["RunSpec"] == 0 and built["Config"] <= 8 and not (tmp_path / "runs").exists()
