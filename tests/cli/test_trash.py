"""`scratchrun rm`, `restore` and `gc` (records/trash.py): what goes is listed first, comes back byte for byte, and a
run still training is never moved."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.errors import ConfigError
from scratchrun.records import trash

runner = CliRunner()
SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
         "train: {epochs: 1, batch_size: 32}\n")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def runs(tiny, tmp_path) -> Path:
    """Two runs and a study in one runs folder."""
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    runs = tmp_path / "runs"
    for name in ("first", "second"):
        assert invoke("train", config, f"name={name}", "--runs-dir", runs, "--quiet").exit_code == 0
    assert invoke("sweep", config, "optimizer.name=sgd,adam", "--jobs", "1", "--runs-dir", runs).exit_code == 0
    return runs


def listed(runs: Path) -> list[str]:
    result = invoke("runs", runs, "--csv")
    return [line.split(",")[1] for line in result.output.strip().splitlines()[1:]]


def test_dry_run_lists_exactly_what_would_go_and_moves_nothing(runs):
    before = sorted(p.name for p in runs.iterdir())
    result = invoke("rm", "first", "sweep-small", "--dry-run", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    would = [line.split()[2] for line in result.output.splitlines() if line.startswith("would move")]
    assert [Path(p).name.split("_", 2)[-1] for p in would] == ["first", "sweep-small"]
    assert "2 folder(s) would be moved; nothing was changed." in result.output
    assert sorted(p.name for p in runs.iterdir()) == before


def test_a_removed_study_comes_back_byte_for_byte_and_gc_deletes_for_good(runs):
    (study,) = [p for p in runs.iterdir() if p.name.endswith("sweep-small")]
    before = hashes(study)
    assert invoke("rm", "sweep-small", "--runs-dir", runs).exit_code == 0
    assert not study.exists() and listed(runs) == ["first", "second"]  # gone from the listing
    assert (runs / ".trash" / study.name / study.name).is_dir()
    items = invoke("restore", "--runs-dir", runs).output
    assert study.name in items and "1 item(s)" in items
    assert invoke("restore", "sweep-small", "--runs-dir", runs).exit_code == 0
    assert hashes(study) == before and not (runs / ".trash" / study.name).exists()

    assert invoke("rm", "first", "--runs-dir", runs).exit_code == 0
    assert "1 item(s), " in invoke("gc", "--dry-run", "--runs-dir", runs).output
    assert len(trash.items(runs)) == 1  # a dry run deletes nothing
    assert "deleted 1 item(s)" in invoke("gc", "--runs-dir", runs).output
    assert trash.items(runs) == [] and listed(runs) == ["second", "sweep-small"]


def test_a_run_still_training_is_never_moved(runs):
    (first,) = [p for p in runs.iterdir() if p.name.endswith("_first")]
    summary = json.loads((first / "summary.json").read_text())
    from scratchrun.records.host import host_name

    (first / "summary.json").write_text(json.dumps({**summary, "status": "running", "pid": os.getpid(),
                                                     "host": host_name(), "final": None}))
    result = invoke("rm", "first", "--runs-dir", runs)
    assert result.exit_code == 1 and "kept 1 still training" in result.output, result.output
    assert first.is_dir()
    result = invoke("rm", "--older-than", "0m", "--runs-dir", runs)  # everything else goes, the running run stays
    assert result.exit_code == 0 and first.is_dir() and listed(runs) == ["first"], result.output


def test_selection_by_status_and_age(runs):
    assert trash.select(runs, status="completed")[0] and not trash.select(runs, status="diverged")[0]
    later = datetime.now() + timedelta(days=8)
    assert len(trash.select(runs, older_than=timedelta(days=7), now=later)[0]) == 3
    assert trash.select(runs, older_than=timedelta(days=7))[0] == []
    assert trash.parse_age("12h") == timedelta(hours=12) and trash.parse_age("2w") == timedelta(weeks=2)
    with pytest.raises(ConfigError, match="--older-than `7 days` is not allowed"):
        trash.parse_age("7 days")


def test_a_run_inside_a_study_or_a_bare_rm_is_a_sentence(runs):
    (study,) = [p for p in runs.iterdir() if p.name.endswith("sweep-small")]
    inside = invoke("rm", study / "sgd-seed0", "--runs-dir", runs)
    assert inside.exit_code == 2 and "goes with its folder" in " ".join(inside.output.split()), inside.output
    bare = invoke("rm", "--runs-dir", runs)
    assert bare.exit_code == 2 and "Name the runs to remove" in bare.output
    missing = invoke("restore", "nothing-here", "--runs-dir", runs)
    assert missing.exit_code == 2 and "is not in the trash" in missing.output


def test_an_empty_or_dot_name_and_an_endless_age_are_one_sentence_and_move_nothing(runs):
    before = sorted(p.name for p in runs.iterdir())
    for name in ("", " ", ".", ".."):
        result = invoke("rm", name, "--runs-dir", runs)
        assert result.exit_code == 2 and "names no run" in result.output and "Traceback" not in result.output
    result = invoke("rm", "--older-than", "99999999999w", "--runs-dir", runs)
    assert result.exit_code == 2 and "99999999999w" in result.output and "up to 100 years" in result.output
    assert sorted(p.name for p in runs.iterdir()) == before


def _gc_loop(runs_dir: str, rounds: int) -> None:
    from scratchrun.errors import ScratchrunError

    for _ in range(rounds):
        try:
            trash.empty(Path(runs_dir))
        except ScratchrunError:
            pass  # the trash was locked by a restore: that is the point


def test_gc_racing_restore_never_empties_a_restored_folder(runs):
    """Real concurrent processes: gc in a loop while runs are removed and restored; each restore that says it
    restored a folder left it whole (the trash lock keeps gc from deleting an item being moved)."""
    import multiprocessing

    from scratchrun.errors import ScratchrunError

    (first,) = [p for p in runs.iterdir() if p.name.endswith("_first")]
    before = hashes(first)
    gc = multiprocessing.get_context("spawn").Process(target=_gc_loop, args=(str(runs), 400))
    gc.start()
    restored = 0
    try:
        while gc.is_alive() and restored < 30:
            try:
                trash.remove(runs, trash.select(runs, [first.name])[0])
            except ScratchrunError:
                continue
            try:
                trash.restore(runs, [first.name])
            except ScratchrunError:
                break  # gc deleted the item first: a run lost to gc, as asked, never a restore that lied
            assert hashes(first) == before
            restored += 1
    finally:
        gc.join(timeout=120)
        gc.kill()
    assert restored > 0 or not first.exists()
