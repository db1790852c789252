"""A study, sweep or search larger than MAX_RUNS is refused up front in one sentence, dry run or not, within a few
gigabytes of address space; a dry run under the bound counts and times its runs without building them."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

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
