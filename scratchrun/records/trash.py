"""Removing runs that can be brought back: `rm` moves run, study and search folders into `<runs>/.trash/`,
`restore` moves them back unchanged, `gc` deletes the trash for good.

A move is a rename within the runs folder, so a restored folder is the same bytes it was. Each trash item is
`.trash/<name>/` (`<name>-2`, ... when removed again) holding the folder and `origin.json` (where it was, when it was
removed), written before the move, so a crash leaves either the folder where it was or an item that says where it came
from. A run still training is never moved, nor a study or search another process works in (its folder lock is taken
first). Listings skip `.trash` like every folder whose name starts with a dot.

Nothing in the trash is trusted: `.trash` and each item must be real folders (not symbolic links), an item's
origin.json a small regular file naming a plain folder name (no `/`, no `..`), and its content a real folder; what
is not is named and left alone, never moved or deleted. `rm`, `restore` and `gc` hold the trash's lock, so they
never act on the same item at once.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from scratchrun.errors import ConfigError, RunDirError, ScratchrunError
from scratchrun.records.files import cause, too_long, write_json_atomic
from scratchrun.records.index import Entry, GroupInfo, RunInfo, resolve, runs_of, scan, strip_stamp
from scratchrun.records.layout import ORIGIN
from scratchrun.records.reader import read_origin

TRASH = ".trash"
_AGE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}




@dataclass(frozen=True)
class TrashItem:
    folder: Path  # .trash/<id>/, holding the removed folder and origin.json
    name: str  # the removed folder's name
    removed: str  # when, as recorded
    problem: str = ""  # why it cannot be restored or deleted: not as scratchrun left it ("" when it is)

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def content(self) -> Path:
        return self.folder / self.name


def parse_age(text: str) -> timedelta:
    """`30m`, `12h`, `7d`, `2w` as a timedelta."""
    match = _AGE.fullmatch(text.strip())
    allowed = "allowed: a whole number and a unit, m, h, d or w (30m, 12h, 7d, 2w), up to 100 years"
    if not match:
        raise ConfigError(f"--older-than `{text}` is not allowed; {allowed}.")
    try:
        age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        age = timedelta.max
    if age > timedelta(days=36525):
        raise ConfigError(f"--older-than `{text}` is longer than anything was ever started; {allowed}.")
    return age


def _trash(runs_dir: Path) -> Path | None:
    """The trash folder, None when there is none yet; a `.trash` that is a link or a file is refused."""
    if why := too_long(runs_dir):
        raise RunDirError(f"Runs folder {str(runs_dir)[:40]}… cannot be a folder: {why}.")
    trash = runs_dir / TRASH
    if trash.is_symlink() or (trash.exists() and not trash.is_dir()):
        raise RunDirError(f"{trash} is not a folder scratchrun made (a symbolic link or a file); nothing was moved or "
                          "deleted through it. Remove it, and scratchrun makes a new trash.")
    return trash if trash.is_dir() else None


@contextmanager
def _trash_locked(runs_dir: Path, create: bool = False):
    """The trash folder, held by this process (rm, restore and gc one at a time); None when there is none."""
    from scratchrun.records.lock import lock_folder

    trash = _trash(runs_dir)
    if trash is None and create:
        try:
            (runs_dir / TRASH).mkdir(exist_ok=True)
        except OSError as e:
            raise ScratchrunError(f"{runs_dir / TRASH} cannot be created ({cause(e)}); nothing was moved.") from None
        trash = _trash(runs_dir)
    if trash is None:
        yield None
        return
    lock = lock_folder(trash)
    try:
        yield trash
    finally:
        lock.release()


def select(runs_dir: Path, names: Sequence[str] = (), status: str | None = None, older_than: timedelta | None = None,
           now: datetime | None = None) -> tuple[list[Entry], list[Entry]]:
    """What `rm` would move: the named folders (runs, studies, searches at the top of `runs_dir`) or every one, kept
    when it matches `status` (a study or search: every one of its runs) and is older than `older_than`. Returns
    (to move, left because they are still running)."""
    entries = scan(runs_dir)
    if names:
        by_path = {entry.path.resolve(): entry for entry in entries}
        chosen = []
        for name in names:
            if name.strip() in ("", ".", ".."):
                raise ConfigError(f"`{name}` names no run; give a run, study or search folder, or its name in "
                                  f"{runs_dir}. Nothing was removed.")
            path = resolve(name, runs_dir).resolve()
            if path not in by_path:
                raise ConfigError(f"`{name}` is {path}, which is not a run, study or search folder at the top of "
                                  f"{runs_dir}; a run inside a study or search goes with its folder.")
            if by_path[path] not in chosen:
                chosen.append(by_path[path])
        entries = chosen
    now = now or datetime.now()
    kept = [e for e in entries if (status is None or all(r.status == status for r in runs_of([e])))
            and (older_than is None or (e.started is not None and now - e.started > older_than))]
    running = [e for e in kept if any(r.status == "running" for r in runs_of([e]))]
    return [e for e in kept if e not in running], running


def remove(runs_dir: Path, entries: Sequence[Entry]) -> list[TrashItem]:
    """Move each folder into the trash; a study or search only while no other process holds its lock."""
    from scratchrun.records.lock import LOCK, lock_folder

    moved = []
    for entry in entries:
        if entry.path.is_symlink() or not entry.path.is_dir():
            raise RunDirError(f"{entry.path} is not a folder (a symbolic link?); it was not removed.")
        if isinstance(entry, RunInfo) and entry.status == "running":
            raise RunDirError(f"{entry.path} is still training; it was not removed.")
        lock = lock_folder(entry.path) if isinstance(entry, GroupInfo) else None
        try:
            with _trash_locked(runs_dir, create=True):
                moved.append(_move_to_trash(runs_dir, entry.path))
            if lock is not None:  # the lock file moved with its folder: released (and deleted) where it is now
                lock.path = moved[-1].content / LOCK
        finally:
            if lock is not None:
                lock.release()
    return moved


def _move_to_trash(runs_dir: Path, path: Path) -> TrashItem:
    removed = datetime.now()
    base = runs_dir / TRASH / path.name
    folder, n = base, 1
    try:
        while True:
            try:
                folder.mkdir(parents=True)
                break
            except FileExistsError:
                n += 1
                folder = base.with_name(f"{base.name}-{n}")
        write_json_atomic(folder / ORIGIN, {"name": path.name, "removed": removed.isoformat(timespec="seconds")})
        os.rename(path, folder / path.name)
    except OSError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise ScratchrunError(f"{path} could not be moved into {runs_dir / TRASH} ({cause(e)}); it is where it was.") \
            from None
    return TrashItem(folder, path.name, removed.isoformat(timespec="seconds"))


def items(runs_dir: Path) -> list[TrashItem]:
    """What is in the trash, oldest first; an item without a readable origin.json is listed by its folder's name."""
    trash = _trash(runs_dir)
    if trash is None:
        return []
    found = []
    for folder in sorted(p for p in trash.iterdir() if not p.name.startswith(".")):
        if folder.is_symlink() or not folder.is_dir():
            found.append(TrashItem(folder, folder.name, "", "it is not a folder scratchrun made (a link or a file)"))
            continue
        name, removed, problem = read_origin(folder)
        if not problem and (not (folder / name).is_dir() or (folder / name).is_symlink()):
            problem = f"it holds no folder {name} (or a link in its place)"
        found.append(TrashItem(folder, name, removed, problem))
    return found


def restore(runs_dir: Path, names: Sequence[str]) -> list[Path]:
    """Move trash items back where they were: by id, or by the removed folder's name, with or without its time
    stamp, when only one item has it."""
    with _trash_locked(runs_dir):
        return _restore(runs_dir, names)


def _restore(runs_dir: Path, names: Sequence[str]) -> list[Path]:
    available = items(runs_dir)
    chosen = []
    for name in names:
        matching = ([i for i in available if i.id == name] or [i for i in available if i.name == name]
                    or [i for i in available if strip_stamp(i.name) == name])
        if len(matching) != 1:
            listed = ", ".join(i.id for i in (matching or available)) or "nothing (the trash is empty)"
            problem = "names several items" if matching else "is not in the trash"
            raise ConfigError(f"`{name}` {problem}; the trash holds: {listed}.")
        chosen.append(matching[0])
    restored = []
    for item in chosen:
        if item.problem:
            raise RunDirError(f"{item.folder} cannot be restored: {item.problem}; nothing was moved.")
        target = runs_dir / item.name
        if os.path.lexists(target):
            raise RunDirError(f"{target} exists, so {item.id} was not restored; move that folder away first.")
        try:
            os.rename(item.content, target)
        except OSError as e:
            raise ScratchrunError(f"{item.content} could not be moved back to {target} ({cause(e)}).") from None
        shutil.rmtree(item.folder, ignore_errors=True)  # origin.json and the emptied item
        restored.append(target)
    return restored


def empty(runs_dir: Path) -> int:
    """Delete everything in the trash for good; returns the number of items deleted."""
    with _trash_locked(runs_dir):
        return _empty(runs_dir)


def _empty(runs_dir: Path) -> int:
    deleted = 0
    for item in items(runs_dir):
        if item.problem:  # not as scratchrun left it: never deleted
            continue
        try:
            shutil.rmtree(item.folder)
        except OSError as e:
            raise ScratchrunError(f"{item.folder} could not be deleted ({cause(e)}); {deleted} item(s) were.") from None
        deleted += 1
    return deleted


def size(path: Path) -> int:
    """Bytes of every file under `path`, links not followed; a file that vanishes meanwhile counts nothing."""
    total = 0
    for dirpath, _, filenames in os.walk(path, followlinks=False):
        for name in filenames:
            with suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
