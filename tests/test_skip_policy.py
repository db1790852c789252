"""tests/conftest.py under CI=true: a skipped test that needs MNIST, the browser or Dask fails the run; without CI=true
it only skips.

Each case runs pytest in a fresh process (the conftest reads CI once, at import) on a folder that holds a verbatim copy
of tests/conftest.py and a few tests that skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
SKIPPING = '''
import pytest

@pytest.mark.mnist
def test_marked_mnist():
    pytest.skip("no MNIST here")

def test_through_the_mnist_dir_fixture(mnist_dir):
    pass

@pytest.mark.dask
def test_marked_dask():
    pytest.skip("no Dask here")

def test_unmarked():
    pytest.skip("needs nothing CI promises")

@pytest.mark.mnist
@pytest.mark.xfail(reason="expected to fail")
def test_expected_failure():
    assert False
'''


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None) -> pytest.RunResult:
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makeini('[pytest]\naddopts = -ra --strict-markers\nmarkers =\n    mnist: m\n    browser: b\n    dask: d\n')
    pytester.makepyfile(test_skipping=SKIPPING)
    monkeypatch.delenv("SCRATCHRUN_DATA_DIR", raising=False)  # so that mnist_dir skips
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess()


def test_under_ci_a_skipped_mnist_or_dask_test_fails_the_run(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "true")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=2, errors=1, skipped=1, xfailed=1)  # the fixture skips in setup: an error
    result.stdout.fnmatch_lines_random([
        "ERROR test_skipping.py::test_through_the_mnist_dir_fixture*needs mnist*real MNIST not available*",
        "FAILED test_skipping.py::test_marked_mnist*skipped under CI=true, but this test needs mnist*no MNIST here",
        "FAILED test_skipping.py::test_marked_dask*needs dask*no Dask here",
        "SKIPPED*needs nothing CI promises",
    ])


@pytest.mark.parametrize("ci", [None, "false", "1"])
def test_outside_ci_the_same_tests_only_skip(pytester, monkeypatch, ci):
    result = run(pytester, monkeypatch, ci)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=4, xfailed=1)


def test_under_ci_a_test_file_that_skips_as_a_whole_fails_the_run(pytester, monkeypatch):
    pytester.makepyfile(test_whole='import pytest\npytest.importorskip("no_such_module_here")\n')
    result = run(pytester, monkeypatch, "true")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the run before any test
    result.stdout.fnmatch_lines(["*test_whole.py skipped as a whole under CI=true*no_such_module_here*"])
