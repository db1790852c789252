"""Record files written so that no reader, and no crash, ever sees half of one.

A whole file (config.yaml, summary.json, model.npz, curves.png, a study's tables) goes through a temporary file in the
same folder, is fsynced and renamed over its name. Every file is created exclusively and never through a symbolic link
(O_EXCL|O_NOFOLLOW): a link planted at a temporary name, or at a log's name, is never written through. A log that grows
while a run trains (steps.csv, metrics.csv) is appended in whole rows, and a write that fails is cut back to the last
whole row. Every file is opened through `_open`, the one place tests replace to make a write fail the way a full disk
does.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Fill a temporary file with `write`, fsync it, rename it over `path`, fsync the folder: the old file or the
    new one, whatever happens; a failure (a full disk, an I/O error) leaves the old file and no temporary one."""
    tmp, f = _create_temporary(path)
    try:
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _create_temporary(path: Path) -> tuple[Path, BinaryIO]:
    """A new temporary file beside `path`: `.<name>.tmp`, or a name with a random part when that is taken (left by a
    crash, or planted there: it is never opened, written through or deleted)."""
    for attempt in range(100):
        tmp = path.with_name(f".{path.name}.tmp" if attempt == 0 else f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, _open(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open(path: Path, buffering: int = -1) -> BinaryIO:
    """A new record file opened for writing (bytes): created here and now, so never an existing file or a symbolic
    link (FileExistsError then)."""
    fd = os.open(path, _CREATE, 0o644)
    try:
        return open(fd, "wb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def append_synced(path: Path, text: str) -> None:
    """Add `text` (whole lines) to the end of a log such as a search's journal, on disk before this returns; the log
    is created if missing and never opened through a symbolic link."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    with open(fd, "ab", buffering=0) as log:
        view = memoryview(text.encode("utf-8"))
        while view:
            view = view[log.write(view):]
        os.fsync(log.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable, as far as the system lets us.

    Best effort: the new file is in place and whole whatever happens here, so a folder that cannot be opened or
    fsynced (a file system that does not support it, a folder we may write but not read) is not a failed write.
    """
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A new hidden folder inside `folder` for files that are to replace others there only once every one of them is
    whole (`move_in`); created exclusively (so it is ours), and removed with whatever is left in it, whatever
    happens."""
    stage = Path(tempfile.mkdtemp(prefix=".scratchrun-staging-", dir=folder))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_in(stage: Path, folder: Path, names: Sequence[Path]) -> None:
    """Rename each staged file `stage / name` over `folder / name`: first every subfolder is made (never through a
    link or over a file), then the renames run with Ctrl-C and SIGTERM held until the last is done, so `folder`
    holds all the old files or all the new ones, never some of each; the signal then takes effect."""
    made: list[Path] = []
    try:
        for name in names:
            _make_folders(folder, name.parent, made)
    except BaseException:
        for path in reversed(made):
            with suppress(OSError):
                path.rmdir()
        raise
    with uninterrupted():
        for name in names:
            os.replace(stage / name, folder / name)
    for parent in {(folder / name).parent for name in names}:
        _fsync_folder(parent)


def _make_folders(folder: Path, relative: Path, made: list[Path]) -> None:
    path = folder
    for part in relative.parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise NotADirectoryError(errno.ENOTDIR, "a link or a file is where a folder goes", str(path))
        if not path.exists():
            path.mkdir()
            made.append(path)


@contextmanager
def uninterrupted():
    """Hold Ctrl-C and SIGTERM for a few steps that must not be cut short (renames, a swap): they are noted and raised
    again at the end, to the handlers that were there. (Masking the signal would not do: any other thread, a
    progress bar's, would take it.) Only the main thread is ever interrupted by them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    previous = {number: handler for number, handler in previous.items() if handler is not None}  # None: set in C
    for number in previous:
        signal.signal(number, lambda received, frame: caught.append(received))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])


NAME_MAX, PATH_MAX = 255, 4096  # bytes: what Linux and macOS file systems take for a name and a whole path


def too_long(path: Path) -> str | None:
    """Why no file system takes `path` (a name over 255 bytes, a path over 4096), as a sentence's end; else None."""
    parts = [part.encode("utf-8", "surrogateescape") for part in path.parts]
    if longest := max((part for part in parts if len(part) > NAME_MAX), key=len, default=None):
        return f"a name in it is {len(longest):,} bytes long, and a file or folder name may be at most {NAME_MAX}"
    if len(bytes(path)) > PATH_MAX:
        return f"the path is {len(bytes(path)):,} bytes long, and a path may be at most {PATH_MAX}"
    return None


def check_output(path: Path, example: str, force: bool = False, given_as: str = "") -> None:
    """A file a command is about to write: not a folder, in a folder that exists, and not there already unless
    `force`; else one sentence (`given_as` names the option it came from, e.g. "-o ")."""
    from scratchrun.errors import ConfigError

    if why := too_long(path):
        raise ConfigError(f"{given_as}{path.name[:40]}… cannot be written: {why}; give a shorter name.")
    if path.is_dir():
        raise ConfigError(f"{given_as}{path} is a folder: give a file's name, e.g. {path / example}.")
    if path.exists() and not force:
        raise ConfigError(f"{given_as}{path} already exists; give --force to replace it, or another name.")
    if not path.parent.is_dir():
        raise ConfigError(f"{given_as}{path}: the folder {path.parent} does not exist; create it, or give another.")


def write_text_atomic(path: Path, text: str, newline: str | None = None) -> None:
    """A text file in UTF-8, written atomically.

    `newline` is `open`'s: None writes the system's line ends, "" the text's own.
    """
    if newline != "":
        text = text.replace("\n", newline or os.linesep)
    data = text.encode("utf-8")
    write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> None:
    """A table with a header row, written atomically; None is an empty cell, a key not in `columns` is left out."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    write_text_atomic(path, buffer.getvalue(), newline="")


@contextmanager
def folder_writes(folder: Path, what: str):
    """A study's or a search's own files (tables, figures, journal): a write that fails becomes one sentence naming
    the file, the cause and `what` was kept, instead of a traceback."""
    from scratchrun.errors import RunDirError

    try:
        yield
    except OSError as e:
        raise RunDirError(f"{e.filename or folder} cannot be written ({cause(e)}); {what}") from None


def cause(error: OSError) -> str:
    """Why a write failed, as a person and a search engine read it: `No space left on device, ENOSPC`."""
    name = errno.errorcode.get(error.errno) if isinstance(error.errno, int) else None
    text = error.strerror or str(error) or type(error).__name__
    return f"{text}, {name}" if name else text


class CsvLog:
    """A CSV file that grows row by row while a run trains, and is only ever seen in whole rows.

    Rows gather in memory and go to the file as whole lines on `flush` (and whenever 64 KiB have gathered). A write
    that fails part-way is cut back to the last whole row and its rows stay pending, so the file on disk always
    ends at a line end. csv's own line ends (\\r\\n), as a study's tables have.
    """

    FLUSH_AT = 1 << 16  # bytes gathered before they are written without being asked

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        # a log written anew: an old one (or a link planted there) is removed, never followed
        with suppress(FileNotFoundError):
            os.unlink(path)
        self._file: BinaryIO | None = _open(path, buffering=0)  # unbuffered: a failed write leaves nothing behind
        self._size = 0  # bytes of whole rows on disk
        self._rows = io.StringIO()
        self._csv = csv.writer(self._rows)
        self.row(columns)
        self.flush()

    def row(self, cells: Sequence) -> None:
        self._csv.writerow(cells)
        if self._rows.tell() >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Write the gathered rows; on any failure the file is cut back to its whole rows and the error raised."""
        data = self._rows.getvalue().encode("utf-8")
        if not data or self._file is None:
            return
        try:
            view = memoryview(data)
            while view:  # a raw write may write only part (a disk filling up): go on from where it stopped
                view = view[self._file.write(view):]
        except BaseException:
            with suppress(OSError):
                os.ftruncate(self._file.fileno(), self._size)
                self._file.seek(self._size)
            raise
        self._size += len(data)
        self._rows.seek(0)
        self._rows.truncate()

    def close(self) -> None:
        """Flush and fsync, then close; the file is closed even when that fails (rows not written are dropped)."""
        if self._file is None:
            return
        try:
            self.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None
