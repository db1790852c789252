""".ci/run fails whenever a step did not complete: a failed install, pytest finding no test, no chromium.

Each case runs the real script on a copy of it, with stand-ins for python3, python, pip, apt-get and chromium on a
PATH that holds nothing else (no network, nothing installed); each stand-in logs its arguments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README_COMMAND = 'pip install ".[test]" && SCRATCHRUN_DATA_DIR=../shared/data python -m pytest'
MNIST = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason=".ci/run is a bash script")


def stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CI_LOG"\n{body}\n')
    path.chmod(0o755)


def ci(tmp_path: Path, *, pip: int = 0, pytest_code: int = 0, chromium: bool = True, apt_get: int = 0,
       mnist: tuple[str, ...] = MNIST) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a copy of .ci/run with `pip install` exiting `pip`, `python -m pytest` exiting `pytest_code`, ..."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", repo / ".ci" / "run")
    (repo / ".ci" / "wheel-check").write_text('echo "wheel-check" >> "$CI_LOG"\n')
    data = tmp_path / "shared" / "data" / "mnist"
    data.mkdir(parents=True)
    for name in mnist:
        (data / f"{name}.gz").write_bytes(b"")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("bash", "dirname", "id", "mkdir"):
        os.symlink(shutil.which(tool), bin_ / tool)
    stand_in(bin_, "python3", 'mkdir -p .ci-venv/bin && : > .ci-venv/bin/activate')  # activate: keeps this PATH
    stand_in(bin_, "python", f'case "$2" in pytest) echo "pytest SCRATCHRUN_DATA_DIR=$SCRATCHRUN_DATA_DIR CI=$CI" '
                             f'>> "$CI_LOG"; exit {pytest_code};; esac')
    stand_in(bin_, "pip", f"exit {pip}")
    stand_in(bin_, "apt-get", f"exit {apt_get}")
    stand_in(bin_, "sudo", 'shift; exec "$@"')  # `sudo -n apt-get ...` where the tests do not run as root
    if chromium:
        stand_in(bin_, "chromium", "")
    log = tmp_path / "log"
    log.touch()
    done = subprocess.run(["/bin/bash", str(repo / ".ci" / "run")], env={"PATH": str(bin_), "CI_LOG": str(log)},
                          capture_output=True, text=True, timeout=60)
    return done, log.read_text().splitlines()


def test_ci_runs_the_readme_command_verbatim():
    readme = (REPO / "README.md").read_text()
    script = (REPO / ".ci" / "run").read_text()
    assert README_COMMAND in readme and f"if ! ( {README_COMMAND} ); then" in script


def test_a_complete_ci_passes_and_runs_pytest_on_the_shared_data(tmp_path):
    done, log = ci(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pip install .[test]" in log and "wheel-check" in log
    assert "pytest SCRATCHRUN_DATA_DIR=../shared/data CI=true" in log


def test_a_failed_install_fails_ci_and_runs_no_test(tmp_path):
    done, log = ci(tmp_path, pip=1)
    assert done.returncode != 0
    assert "pip install .[test]" in log
    assert not any(line.startswith("pytest") for line in log) and "wheel-check" not in log
    assert "README's test command" in done.stderr


@pytest.mark.parametrize("code", [1, 5])  # 5: pytest collected no test
def test_failing_or_testless_pytest_fails_ci(tmp_path, code):
    done, log = ci(tmp_path, pytest_code=code)
    assert done.returncode != 0 and "wheel-check" not in log


def test_chromium_that_cannot_be_installed_fails_ci(tmp_path):
    done, log = ci(tmp_path, chromium=False, apt_get=100)
    assert done.returncode != 0 and "could not install chromium" in done.stderr
    assert any(line.startswith("apt-get install") for line in log)
    assert not any(line.startswith(("pip", "pytest")) for line in log)


def test_chromium_installed_by_apt_get_lets_ci_go_on(tmp_path):
    done, log = ci(tmp_path, chromium=False)
    assert done.returncode == 0, done.stderr
    assert "apt-get install -y -qq chromium" in log


@pytest.mark.parametrize("missing", MNIST)
def test_each_missing_mnist_file_fails_ci(tmp_path, missing):
    done, log = ci(tmp_path, mnist=tuple(name for name in MNIST if name != missing))
    assert done.returncode != 0 and missing in done.stderr and log == []
