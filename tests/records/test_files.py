"""Record files (records/files.py): whole files swapped in atomically, logs appended in whole rows, failures undone."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest

from scratchrun.records import files
from scratchrun.records.files import CsvLog, cause, write_atomic, write_text_atomic


class FillingFile(io.FileIO):
    """A file on a disk that fills up: `room` more bytes go in (a write may get only part in), then ENOSPC (or the
    error `code` given: EIO, EDQUOT, ...)."""

    def __init__(self, path, room: int, code: int = errno.ENOSPC) -> None:
        super().__init__(path, "wb")
        self.room, self.code = room, code

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(self.code, os.strerror(self.code))
        part = bytes(data[: self.room])
        self.room -= len(part)
        return super().write(part)


def filling(path, room: int, buffering: int = -1, code: int = errno.ENOSPC):
    """`files._open` on a disk with `room` bytes left: buffered like `open` unless asked not to be."""
    raw = FillingFile(path, room, code)
    return raw if buffering == 0 else io.BufferedWriter(raw)


def filling_disk(monkeypatch, name: str, room: int) -> None:
    """Opening `name` for writing gives a file with `room` bytes left; every other file is written as usual."""
    real = files._open
    monkeypatch.setattr(files, "_open", lambda path, buffering=-1: filling(path, room, buffering)
                        if Path(path).name == name else real(path, buffering))


def test_a_whole_file_that_cannot_be_written_leaves_the_old_one_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    write_text_atomic(path, '{"status": "running"}\n')
    filling_disk(monkeypatch, ".summary.json.tmp", room=5)
    with pytest.raises(OSError) as raised:
        write_text_atomic(path, '{"status": "completed"}\n')
    assert raised.value.errno == errno.ENOSPC
    assert path.read_text() == '{"status": "running"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_failed_fsync_is_a_failed_write(tmp_path, monkeypatch):
    """EIO surfaces at fsync on some file systems: the file is not swapped in."""
    path = tmp_path / "model.npz"

    def broken_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(path, lambda f: f.write(b"weights"))
    assert list(tmp_path.iterdir()) == []


def test_a_log_that_fills_the_disk_part_way_through_a_row_is_cut_back_to_its_whole_rows(tmp_path, monkeypatch):
    header = b"iteration,epoch,loss\r\n"
    filling_disk(monkeypatch, "steps.csv", room=len(header) + 30)
    log = CsvLog(tmp_path / "steps.csv", ["iteration", "epoch", "loss"])
    log.row([1, 1, "2.302"])  # 13 bytes: fits
    log.flush()
    for i in range(2, 5):  # 3 x 13 bytes: the disk fills in the middle of the second
        log.row([i, 1, "2.301"])
    with pytest.raises(OSError) as raised:
        log.flush()
    assert raised.value.errno == errno.ENOSPC
    assert (tmp_path / "steps.csv").read_bytes() == header + b"1,1,2.302\r\n"  # no half row
    log._file.room = 1000  # space again: the rows that did not fit are still there to write
    log.close()
    assert (tmp_path / "steps.csv").read_bytes() == header + b"".join(
        f"{i},1,{x}\r\n".encode() for i, x in [(1, "2.302"), (2, "2.301"), (3, "2.301"), (4, "2.301")])
    assert log.closed


def test_a_log_gathers_rows_and_writes_them_at_64_kib_without_being_asked(tmp_path):
    log = CsvLog(tmp_path / "steps.csv", ["iteration", "epoch", "loss"])
    row = [1, 1, "x" * 1000]
    for _ in range(60):
        log.row(row)
    assert (tmp_path / "steps.csv").stat().st_size == len("iteration,epoch,loss\r\n")  # gathered, not yet written
    for _ in range(10):
        log.row(row)
    assert (tmp_path / "steps.csv").stat().st_size > 65_536
    assert (tmp_path / "steps.csv").read_bytes().endswith(b"\r\n")
    log.close()


def test_the_cause_names_the_error_and_its_code():
    assert cause(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) == "No space left on device, ENOSPC"
    assert cause(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))) == "Disk quota exceeded, EDQUOT"
    assert cause(OSError("no code")) == "no code"


def test_check_output_refuses_a_folder_a_missing_folder_and_an_existing_file_unless_forced(tmp_path):
    from scratchrun.errors import ConfigError
    from scratchrun.records.files import check_output

    with pytest.raises(ConfigError, match=r"^-o .* is a folder: give a file's name, e\.g\. .*r\.html\.$"):
        check_output(tmp_path, "r.html", given_as="-o ")
    with pytest.raises(ConfigError, match=r"the folder .*missing does not exist"):
        check_output(tmp_path / "missing" / "r.html", "r.html")
    (tmp_path / "r.html").write_text("kept")
    with pytest.raises(ConfigError, match=r"r\.html already exists; give --force"):
        check_output(tmp_path / "r.html", "r.html")
    check_output(tmp_path / "r.html", "r.html", force=True)
    check_output(tmp_path / "new.html", "r.html")
    assert (tmp_path / "r.html").read_text() == "kept"


def test_staged_files_are_moved_in_whole_even_when_ctrl_c_comes_during_the_renames(tmp_path, monkeypatch):
    import signal

    folder = tmp_path / "out"
    folder.mkdir()
    names = [Path(f"{i}.txt") for i in range(5)] + [Path("sub/deep.txt")]
    for name in names[:5]:
        (folder / name).write_text("old")
    real, renamed = os.replace, []

    def replace(source, target):  # Ctrl-C arrives right after the first rename
        real(source, target)
        renamed.append(target)
        if len(renamed) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    # Ctrl-C as Python has it: a worker's code run in this process by another test may have left its own handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with files.staging(folder) as stage:
                for name in names:
                    (stage / name).parent.mkdir(exist_ok=True)
                    (stage / name).write_text("new")
                monkeypatch.setattr(os, "replace", replace)
                files.move_in(stage, folder, names)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    assert len(renamed) == len(names)
    assert {p.relative_to(folder): p.read_text() for p in folder.rglob("*") if p.is_file()} == {n: "new" for n in names}


def test_moving_in_refuses_a_link_where_a_subfolder_goes(tmp_path):
    folder, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "sub").symlink_to(elsewhere)
    with files.staging(folder) as stage:
        (stage / "first").mkdir()
        (stage / "first" / "a.txt").write_text("new")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.txt").write_text("new")
        with pytest.raises(NotADirectoryError, match="a link or a file is where a folder goes"):
            files.move_in(stage, folder, [Path("first/a.txt"), Path("sub/b.txt")])
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in folder.iterdir()) == ["sub"]
