"""What a block of code opens and reads, so a test can bound a command's work in files and bytes, not seconds."""

from __future__ import annotations

import builtins
import io
import os
from collections import Counter
from pathlib import Path


class FileReads:
    """Every open of a path (os.open, and open()/io.open, which pathlib and numpy use) and the bytes read from it
    through os.read and os.pread (bytes read from a Python file object are not counted, its open is)."""

    def __init__(self) -> None:
        self.opens: Counter[Path] = Counter()
        self.bytes: Counter[Path] = Counter()
        self._fds: dict[int, Path] = {}

    def under(self, folder: Path) -> tuple[Counter[Path], Counter[Path]]:
        """The opens and bytes of the paths inside `folder`."""
        inside = {path for path in self.opens if path.is_relative_to(folder)}
        return (Counter({p: n for p, n in self.opens.items() if p in inside}),
                Counter({p: n for p, n in self.bytes.items() if p in inside}))


def watch_files(monkeypatch) -> FileReads:
    """Count opens and reads from now until the test ends (monkeypatch undoes it)."""
    seen = FileReads()
    real_open, real_read, real_pread, real_close, real_builtin = os.open, os.read, os.pread, os.close, builtins.open

    def key(path) -> Path:
        return Path(os.path.abspath(os.fsdecode(os.fspath(path))))

    def os_open(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        seen.opens[key(path)] += 1
        seen._fds[fd] = key(path)
        return fd

    def os_read(fd, n):
        data = real_read(fd, n)
        if fd in seen._fds:
            seen.bytes[seen._fds[fd]] += len(data)
        return data

    def os_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        if fd in seen._fds:
            seen.bytes[seen._fds[fd]] += len(data)
        return data

    def os_close(fd):
        seen._fds.pop(fd, None)
        return real_close(fd)

    def python_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)):
            seen.opens[key(file)] += 1
        return real_builtin(file, *args, **kwargs)

    for module, name, spy in [(os, "open", os_open), (os, "read", os_read), (os, "pread", os_pread),
                              (os, "close", os_close), (builtins, "open", python_open), (io, "open", python_open)]:
        monkeypatch.setattr(module, name, spy)
    return seen
