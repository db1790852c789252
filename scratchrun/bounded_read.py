"""The one way scratchrun reads a file it did not just write: a regular file, up to a size limit, and (for a
record inside a run folder) never through a symbolic link.

A record is something anyone could have edited. Read naively, a `note.md` linked to /dev/zero fills memory, a
`tags.json` that is a named pipe blocks `scratchrun runs` forever, and a link to a file elsewhere makes `show` print
and the report embed it. Here such a file is never read: the caller gets `Unreadable` with the reason, a fragment
that fits "<file> cannot be read (<reason>)", and words its own sentence (a listing names the file and goes on).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from scratchrun.text import size_text

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)  # a FIFO opened so never blocks


class Unreadable(Exception):
    """A file that exists but is not read. `kind` says why: "link", "special" (a FIFO, a device, a socket, a
    folder: `reason` names which), "too large" (`size` is its size), "not text" or "error" (an OSError)."""

    def __init__(self, path: Path, reason: str, kind: str = "error", size: int | None = None) -> None:
        super().__init__(reason)
        self.path, self.reason, self.kind, self.size = path, reason, kind, size


def read_bounded(path: Path, limit: int, *, follow_links: bool = False) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    FileNotFoundError when there is no file (callers treat that as "not written yet"); `Unreadable` when there is
    one that is a symbolic link (unless `follow_links`: a path the user typed, such as a config), not a regular file,
    larger than `limit` or failing to read. The kind is checked on the open file, so swapping the path for a FIFO
    between a check and the open changes nothing.
    """
    flags = _READ if follow_links else _READ | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except NotADirectoryError:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path)) from None
    except OSError as e:
        if e.errno == errno.ELOOP and not follow_links:
            raise Unreadable(path, "it is a symbolic link, which a record never is; it was not followed",
                             "link") from None
        raise Unreadable(path, e.strerror or str(e)) from None
    except ValueError as e:  # a NUL byte in the path
        raise Unreadable(path, str(e)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
            raise Unreadable(path, f"it is {what}, not a regular file", "special")
        if info.st_size > limit:
            raise Unreadable(path, f"it is {size_text(info.st_size)}, over the {size_text(limit)} such a file may be",
                             "too large", info.st_size)
        chunks, total = [], 0
        while total <= limit:  # never more than limit + 1 bytes: a file that grows while read is cut here
            chunk = os.read(fd, min(limit + 1 - total, 4 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as e:
        raise Unreadable(path, e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if total > limit:
        raise Unreadable(path, f"it grew past the {size_text(limit)} such a file may be while it was read", "too large",
                         total)
    return b"".join(chunks)


def read_text_bounded(path: Path, limit: int, *, follow_links: bool = False) -> str:
    """`read_bounded` decoded as UTF-8; text that is not UTF-8 is `Unreadable` too, naming the first bad byte."""
    data = read_bounded(path, limit, follow_links=follow_links)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unreadable(path, f"it is not UTF-8 text: byte {e.start} is {data[e.start]:#04x}", "not text") from None
