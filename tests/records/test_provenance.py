"""Provenance: every run records the command that started it and the git commit and state of the folder it started
in."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.config.loader import config_from_dict
from scratchrun.data.registry import load_raw
from scratchrun.errors import ScratchrunError
from scratchrun.experiments.executors.local import run_one
from scratchrun.experiments.specs import RunSpec
from scratchrun.records.provenance import Provenance
from scratchrun.records.reader import read_summary
from scratchrun.records.reproduce import environment_changes
from scratchrun.training.run import run_experiment

SMALL = {"name": "small", "data": {"dataset": "tiny", "val_fraction": 0.2}, "model": {"hidden": [8]},
         "train": {"epochs": 1, "batch_size": 32}}


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def outside(tmp_path, monkeypatch) -> Path:
    """A folder in no git repository (git is told not to look above tmp_path), with no user or system git config."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "gitconfig").write_text("[user]\n\tname = t\n\temail = t@example.com\n[commit]\n\tgpgsign = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def repo(outside) -> Path:
    """A git repository with one commit."""
    folder = outside.parent / "project"
    folder.mkdir()
    git(folder, "init", "-q")
    (folder / "notes.txt").write_text("one\n")
    git(folder, "add", "notes.txt")
    git(folder, "commit", "-q", "-m", "first")
    return folder


def test_a_clean_repository_gives_its_commit_and_untracked_files_do_not_make_it_dirty(repo):
    (repo / "runs").mkdir()
    (repo / "runs" / "summary.json").write_text("{}")  # the runs a study leaves behind are not source changes
    assert Provenance.here("scratchrun train c.yaml", repo) == Provenance("scratchrun train c.yaml",
                                                                          git(repo, "rev-parse", "HEAD"), False)


def test_a_changed_tracked_file_makes_it_dirty(repo):
    (repo / "notes.txt").write_text("two\n")
    assert Provenance.here(None, repo) == Provenance(None, git(repo, "rev-parse", "HEAD"), True)


def test_outside_a_repository_without_a_commit_or_without_git_everything_is_null(outside, repo, monkeypatch):
    assert Provenance.here("x", outside) == Provenance("x", None, None)
    git(outside, "init", "-q")  # a repository with no commit yet
    assert Provenance.here("x", outside) == Provenance("x", None, None)
    monkeypatch.setenv("PATH", str(outside))  # no git to be found
    assert Provenance.here("x", repo) == Provenance("x", None, None)


def test_the_working_folder_is_the_default(repo, monkeypatch):
    monkeypatch.chdir(repo)
    assert Provenance.here("y").git_commit == git(repo, "rev-parse", "HEAD")


def test_a_run_started_in_a_dirty_repository_records_its_commit_and_the_command(tiny, repo, outside, monkeypatch):
    (repo / "notes.txt").write_text("changed\n")
    monkeypatch.chdir(repo)
    origin = Provenance.here("scratchrun study c.yaml")  # computed once, where the runs are started
    monkeypatch.chdir(outside)  # wherever they then train (another process, another machine), the record is the same
    outcome = run_experiment(config_from_dict(SMALL), load_raw("tiny", tiny), outside / "runs", provenance=origin)
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["command"] == "scratchrun study c.yaml"
    assert summary["git_commit"] == git(repo, "rev-parse", "HEAD") and summary["git_dirty"] is True


def test_a_library_call_without_provenance_records_the_working_folder(tiny, repo, outside, monkeypatch):
    monkeypatch.chdir(outside)
    outcome = run_experiment(config_from_dict(SMALL), load_raw("tiny", tiny), outside / "runs")
    assert {k: outcome.summary[k] for k in ("command", "git_commit", "git_dirty")} == dict.fromkeys(
        ("command", "git_commit", "git_dirty"))
    monkeypatch.chdir(repo)
    outcome = run_experiment(config_from_dict(SMALL), load_raw("tiny", tiny), outside / "runs")
    assert outcome.summary["git_commit"] == git(repo, "rev-parse", "HEAD") and outcome.summary["git_dirty"] is False


def test_a_study_run_carries_its_spec_provenance_and_it_pickles(tiny, outside):
    origin = Provenance("scratchrun sweep c.yaml optimizer.name=sgd,adam", "0" * 40, True)
    spec = RunSpec(0, "sgd", 0, config_from_dict(SMALL), None, origin)
    assert pickle.loads(pickle.dumps(spec)) == spec  # it crosses to worker processes and Dask workers
    result = run_one(spec, str(outside), str(tiny))
    assert {k: read_summary(Path(result.run_dir))[k] for k in ("command", "git_commit", "git_dirty")} == origin.fields()


def test_train_records_the_command_line_and_the_working_folder(tiny, repo, monkeypatch):
    config = repo / "small.yaml"
    config.write_text(json.dumps(SMALL))
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/scratchrun", "train", "small.yaml", "--runs-dir", "runs", "-q"])
    result = CliRunner().invoke(app, sys.argv[1:])
    assert result.exit_code == 0, result.output
    (run,) = (repo / "runs").iterdir()
    summary = read_summary(run)
    assert summary["command"] == "scratchrun train small.yaml --runs-dir runs -q"
    # small.yaml is untracked
    assert summary["git_commit"] == git(repo, "rev-parse", "HEAD") and summary["git_dirty"] is False


def test_reproduce_names_a_change_of_git_state(tmp_path):
    before = {"versions": {"numpy": "2.0"}, "git_commit": "a" * 40, "git_dirty": False}
    assert environment_changes(before, {**before, "git_dirty": True}) == ["git_dirty False → True"]


def test_a_summary_whose_dirty_flag_is_not_a_boolean_is_named(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "completed", "git_dirty": "yes"}')
    with pytest.raises(ScratchrunError, match="`git_dirty` is \"yes\".*allowed: true, false or null"):
        read_summary(tmp_path)
