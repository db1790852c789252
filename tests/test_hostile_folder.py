"""A newcomer's hostile runs folder: symlinks to files outside it planted at the names scratchrun writes, a
hand-edited `../` origin, a `.trash` and a study lock that point outside.

Every command is run on it in its own process (memory-limited, with a time-out only as a safety net against a hang),
and afterwards nothing outside the runs folder has changed and no run is lost: each is still in the runs folder or in
its trash, byte for byte. Each command either does its work or says in one sentence what it refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scratchrun.cli.app import app

SMALL = ("name: small\ndata: {dataset: tiny, val_fraction: 0.2}\nmodel: {hidden: [8]}\n"
         "train: {epochs: 1, batch_size: 32}\n")
MEMORY = 3 << 30  # bytes of address space each command may use: far above what it needs, far below /dev/zero's


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` as it is on disk (links as their targets, files as their hashes), not followed."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = "special"
    return found


def runs_byte_for_byte(runs: Path) -> dict[str, str]:
    """Each run's measured records (summary, config, curves, weights) wherever it now is: the runs folder or the
    trash."""
    kept = {}
    for summary in runs.rglob("summary.json"):
        if any(p.is_symlink() for p in summary.parents if runs in p.parents):
            continue
        run = summary.parent
        for name in ("summary.json", "config.yaml", "steps.csv", "metrics.csv", "model.npz"):
            if (run / name).is_file() and not (run / name).is_symlink():
                kept[f"{run.name}/{name}"] = hashlib.sha256((run / name).read_bytes()).hexdigest()
    return kept


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def command(*args, cwd: Path) -> subprocess.CompletedProcess:
    """`scratchrun ARGS` in its own process, bounded in memory; a hang fails the test instead of blocking it."""
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    try:
        return subprocess.run([sys.executable, "-m", "scratchrun", *map(str, args)], cwd=cwd, env=env, text=True,
                              capture_output=True, timeout=60, preexec_fn=limited, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`scratchrun {' '.join(map(str, args))}` hung: {e}")


def outcome(result: subprocess.CompletedProcess) -> str:
    """What the command did, checked to be a result or one sentence, never a traceback or a crash."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text and result.returncode in (0, 1, 2, 3, 4, 5), (result.args, result.returncode, text)
    assert "\x1b]" not in text and "\x07" not in text, (result.args, text)  # no control sequence a user wrote
    return text


@pytest.fixture
def hostile(tiny, tmp_path):
    """(runs folder, outside folder): two runs and a study, and an outside folder the links point into."""
    runner = CliRunner()
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    runs = tmp_path / "runs"
    for name in ("first", "second", "third"):
        result = runner.invoke(app, ["train", str(config), f"name={name}", "--runs-dir", str(runs), "--quiet"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sweep", str(config), "optimizer.name=sgd,adam", "--jobs", "1",
                                 "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output

    outside = tmp_path / "outside"
    (outside / "home").mkdir(parents=True)
    (outside / "secret.txt").write_text("SECRET-CONTENT do not read me\n")
    for name in ("tags", "note", "curves", "report", "lock", "tb"):
        (outside / f"{name}-target").write_text(f"{name} target, keep me\n")
    (outside / "home" / "precious").mkdir()
    (outside / "home" / "precious" / "data.txt").write_text("precious\n")
    (outside / "live-run").mkdir()
    (outside / "live-run" / "summary.json").write_text("{}\n")
    return runs, outside


def run_named(runs: Path, name: str) -> Path:
    (found,) = [p for p in runs.iterdir() if p.name.endswith(f"_{name}")]
    return found


def test_symlinks_planted_at_every_name_reach_nothing_outside(hostile, tmp_path):
    runs, outside = hostile
    first, second, third = (run_named(runs, n) for n in ("first", "second", "third"))
    (study,) = [p for p in runs.iterdir() if p.name.endswith("sweep-small")]

    # temporary names of the atomic writes, pointing outside
    (first / ".tags.json.tmp").symlink_to(outside / "tags-target")
    (first / ".note.md.tmp").symlink_to(outside / "note-target")
    if (first / "curves.png").exists():
        (first / "curves.png").unlink()
    (first / ".curves.png.tmp").symlink_to(outside / "curves-target")
    (runs / ".report.html.tmp").symlink_to(outside / "report-target")
    # a study lock pointing outside
    (study / ".lock").symlink_to(outside / "lock-target")

    before_outside = snapshot(outside)
    before_runs = runs_byte_for_byte(runs)

    texts = {}
    for args in (["runs", runs], ["runs", runs, "--csv"], ["show", first], ["show", second], ["show", third],
                 ["compare", first, second, third], ["tag", first, "kept"], ["note", first, "plain note"],
                 ["report", "--runs-dir", runs, "-o", runs / "report.html"],
                 ["rm", study.name, "--runs-dir", runs], ["restore", "--runs-dir", runs]):
        texts[" ".join(map(str, args[:1]))] = outcome(command(*args, cwd=tmp_path))

    assert snapshot(outside) == before_outside
    after = runs_byte_for_byte(runs)
    assert {k: v for k, v in before_runs.items()} == {k: after.get(k) for k in before_runs}, "a run was lost or changed"
    everything = "".join(texts.values())
    assert "SECRET-CONTENT" not in everything
    report = runs / "report.html"
    assert not report.exists() or "SECRET-CONTENT" not in report.read_text(errors="replace")


def test_a_hand_edited_origin_and_a_trash_that_points_outside_move_and_delete_nothing_there(hostile, tmp_path):
    runs, outside = hostile
    first = run_named(runs, "first")
    second = run_named(runs, "second")

    assert outcome(command("rm", first.name, "--runs-dir", runs, cwd=tmp_path)) is not None
    (item,) = [p for p in (runs / ".trash").iterdir() if p.is_dir()]
    origin = item / "origin.json"
    record = json.loads(origin.read_text())
    record["name"] = f"../../{second.name}"  # the item's content would be a live run, its target outside
    origin.write_text(json.dumps(record))
    before_outside = snapshot(outside)
    before_runs = runs_byte_for_byte(runs)

    outcome(command("restore", item.name, "--runs-dir", runs, cwd=tmp_path))
    outcome(command("restore", first.name, "--runs-dir", runs, cwd=tmp_path))
    assert snapshot(outside) == before_outside and not (tmp_path.parent / second.name).exists()
    assert runs_byte_for_byte(runs) == before_runs  # the trashed run is still there, where it was or restored

    # a .trash that is a link to a folder scratchrun never made
    for p in list((runs / ".trash").iterdir()):
        os.rename(p, tmp_path / f"moved-{p.name}")
    (runs / ".trash").rmdir()
    (runs / ".trash").symlink_to(outside / "home")
    outcome(command("gc", "--runs-dir", runs, cwd=tmp_path))
    outcome(command("rm", second.name, "--runs-dir", runs, cwd=tmp_path))
    outcome(command("gc", "--runs-dir", runs, cwd=tmp_path))
    assert snapshot(outside) == before_outside
    assert second.is_dir() or any(p.name == second.name for p in runs.rglob(second.name))


# window title, clear screen, clipboard, 8-bit CSI
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;Y3VybCBldmlsLnNo\x07\x9b31m"


def test_records_that_are_fifos_devices_links_or_escape_sequences_are_named_not_read_or_obeyed(hostile, tmp_path):
    runs, outside = hostile
    first, second, third = (run_named(runs, n) for n in ("first", "second", "third"))
    secret = outside / "secret.txt"
    os.mkfifo(first / "tags.json")  # read, it would block `runs` for ever
    (first / "note.md").symlink_to("/dev/zero")  # read whole, it would fill memory
    (second / "note.md").symlink_to(secret)  # followed, `show` would print a file outside the runs folder
    (second / "tags.json").symlink_to(secret)
    (third / "config.yaml").unlink()
    (third / "config.yaml").symlink_to("/dev/zero")
    assert outcome(command("note", third, f"looks harmless{ESCAPES} but is not", cwd=tmp_path)) is not None
    assert ESCAPES in (third / "note.md").read_text()  # kept as written: it is the output that must be safe

    texts = {}
    for args in (["runs", runs], ["runs", runs, "--csv"], ["runs", runs, "--where", "status=completed"],
                 ["show", first], ["show", second], ["show", third], ["compare", first, second, third],
                 ["report", "--runs-dir", runs, "-o", tmp_path / "report.html"]):
        texts[" ".join(map(str, args))] = text = outcome(command(*args, cwd=tmp_path))
        assert "\x1b" not in text and "\x9b" not in text, (args, text)  # NO_COLOR: scratchrun writes no escape itself
    everything = "".join(texts.values())
    assert "SECRET-CONTENT" not in everything
    assert "SECRET-CONTENT" not in (tmp_path / "report.html").read_text(errors="replace")
    shown = texts[f"show {first}"] + texts[f"show {second}"]
    assert "tags.json cannot be read (it is a named pipe (FIFO), not a regular file)" in shown
    assert "note.md cannot be read (it is a symbolic link" in shown
    assert "config.yaml cannot be read" in texts[f"show {third}"]
    assert "looks harmless\\x1b]0;pwned" in texts[f"show {third}"]  # the note, its escapes made visible
    # the files behind the links are untouched, and a tag refuses to rewrite what it could not read
    assert secret.read_text() == "SECRET-CONTENT do not read me\n"
    result = command("tag", second, "new", cwd=tmp_path)
    assert result.returncode == 1 and "so it was not changed" in outcome(result)
    assert (second / "tags.json").is_symlink() and secret.read_text() == "SECRET-CONTENT do not read me\n"
