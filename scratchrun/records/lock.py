"""One writer per study or search folder: a lock file held by the process working in it, and by its workers.

`<folder>/.lock` holds the holder's pid, host and start time, for the sentence another process shows when it
is refused. The exclusion itself is the kernel's `flock` on that file, which a process loses however it dies
(`kill -9` included), so a lock left by a dead process is taken over without guessing from its pid. The local
executor's worker processes receive the same open file (`shared_locks`), so a parent killed with `kill -9`
keeps its folder locked until the last of its workers has stopped writing into it.

Where `flock` is refused (some network file systems), the recorded pid and host decide instead: a lock on this
host whose pid is gone is taken over. A lock written on another host is always respected, since its pid cannot
be looked up from here; the sentence says which file to delete if that process is gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from datetime import datetime
from pathlib import Path

from scratchrun.errors import RunDirError
from scratchrun.processes import process_gone
from scratchrun.records.host import host_name

LOCK = ".lock"
_held: dict[int, FolderLock] = {}  # fd -> lock, every folder lock this process holds


class FolderLock:
    """A held lock on one folder; `release` deletes the file and lets it go."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd
        _held[fd] = self

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            if _same_file(self.fd, self.path):  # delete it while still holding it: a waiter then opens a new file
                self.path.unlink()
        except OSError:
            pass
        _held.pop(self.fd, None)
        os.close(self.fd)
        self.fd = -1


def lock_folder(folder: Path) -> FolderLock:
    """Take `folder`'s lock for this process, or raise RunDirError naming the process (pid and host) that holds it."""
    path = folder / LOCK
    for _ in range(100):  # each pass loses only to a holder that released between our open and our flock
        try:  # never through a symbolic link, and only a regular file: the pid record is written into it
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise RunDirError(f"{path} is a symbolic link, which scratchrun did not make, so {folder} is not "
                                  "locked and nothing was changed; delete the link and try again.") from None
            raise RunDirError(f"{path} cannot be created ({e.strerror}), so {folder} cannot be locked for this "
                              "process; check that the folder is writable.") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunDirError(f"{path} is not a regular file, so {folder} is not locked and nothing was changed; "
                              "remove it and try again.")
        try:
            kernel = _flock(fd)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise _busy(folder, holder) from None
        if not _same_file(fd, path):
            os.close(fd)
            continue
        holder = _read(fd)
        if holder is not None and not _abandoned(holder, kernel):
            os.close(fd)
            raise _busy(folder, holder)
        record = {"pid": os.getpid(), "host": host_name(), "started": datetime.now().isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
            os.fsync(fd)
        except OSError as e:
            os.close(fd)
            raise RunDirError(f"{path} cannot be written ({e.strerror}), so {folder} cannot be locked.") from None
        return FolderLock(path, fd)
    raise RunDirError(f"{path} keeps changing hands, so {folder} cannot be locked; try again.")


def shared_locks() -> list[SharedLock]:
    """Every folder lock this process holds, to hand to a spawned worker process (as an argument of its start)."""
    return [SharedLock(fd) for fd in _held]


class SharedLock:
    """A held lock passed to a spawned process: pickling it there gives the child the same open file, so the
    child holds the lock too until it exits, whatever happens to the parent."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        from multiprocessing import reduction

        return _adopt, (reduction.DupFd(self.fd),)


def _adopt(duplicate) -> SharedLock:
    return SharedLock(duplicate.detach())  # the fd stays open until this process exits


def _flock(fd: int) -> bool:
    """Lock `fd` exclusively without waiting: True when locked, False where the file system has no `flock`;
    BlockingIOError when another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        raise
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise RunDirError(f"The lock file of this folder cannot be locked ({e.strerror}).") from None


def _abandoned(holder: dict, kernel: bool) -> bool:
    """A recorded holder we may take over: one of this host whose process is gone (with `flock`, being free says so)."""
    if holder.get("host") != host_name():
        return False
    return kernel or process_gone(holder.get("pid"))


def _read(fd: int) -> dict | None:
    """The holder recorded in the lock file; None when there is none (a new file, or one whose writer died at once)."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except OSError:
        return False


def _busy(folder: Path, holder: dict | None) -> RunDirError:
    """The sentence for a folder another process works in: who, where, since when, and what to do."""
    if holder is None:
        return RunDirError(f"{folder} is in use by another scratchrun process that is starting; wait for it to "
                           "finish, or stop it first.")
    pid, host, since = holder.get("pid"), holder.get("host"), holder.get("started")
    who = f"scratchrun process {pid} on {host}" + (f" (since {since})" if since else "")
    if host != host_name():
        return RunDirError(f"{folder} is in use by {who}; wait for it to finish, or, if that process is gone, "
                           f"delete {folder / LOCK} and try again.")
    if process_gone(pid):
        return RunDirError(f"{folder} was in use by {who}, which has stopped, but its worker processes are still "
                           "finishing; try again in a few seconds.")
    return RunDirError(f"{folder} is in use by {who}; wait for it to finish, or stop it first.")
