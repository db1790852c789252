"""The run folder: created without collisions, written as training goes, closed with a summary written last; and
the one writer of every record file (through `records.files`: a reader never sees half of one).

Layout of `runs/<YYYY-MM-DD_HH-MM-SS>_<name>/`: config.yaml (the resolved config), steps.csv (every
minibatch loss), metrics.csv (every evaluation), summary.json (outcome, environment and provenance),
model.npz, and curves.png (drawn from steps.csv and metrics.csv: by `train` as the run ends, on first `show` for
the runs of a study or search).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchrun import __version__
from scratchrun.config.loader import Config, dump_yaml
from scratchrun.errors import RecordError, RunDirError
from scratchrun.numbers import finite_or_none
from scratchrun.records.files import CsvLog, cause, write_atomic, write_json_atomic, write_text_atomic
from scratchrun.records.host import host_name
from scratchrun.records.layout import METRIC_COLUMNS, STEP_COLUMNS
from scratchrun.records.provenance import UNKNOWN, Provenance
from scratchrun.records.reader import read_summary

# how often a running record says it is alive; records.index calls it stale after 60 s of silence
HEARTBEAT_EVERY_S = 5.0
# held in `.reserve` while a run trains, freed for its final summary: a full disk still gets one
RESERVE_BYTES = 16 * 1024


NAME_CHARS, NAME_BYTES = 64, 128  # a run name's part of a folder name; with the stamp, far below 255 bytes


def safe_name(name: str | None) -> str:
    """A run name as a safe file-name part: letters and digits of any script (NFC, with their accents and vowel
    signs) and `_.+-`, every other run of characters one `-`; no `/`, no `..`, no control or invisible characters,
    no leading dot; at most NAME_CHARS characters and NAME_BYTES bytes of UTF-8. ASCII only where the file system's
    encoding cannot hold the letters."""
    import sys
    import unicodedata

    chars, on_letter = [], False
    for ch in unicodedata.normalize("NFC", name or ""):
        keep = ch.isalnum() or (on_letter and unicodedata.category(ch).startswith("M"))  # a mark stays on its letter
        chars.append(ch if keep or ch in "_.+-" else "\0")
        on_letter = keep
    text = re.sub(r"\.{2,}", ".", re.sub("\0+", "-", "".join(chars))).strip("-.")
    text = text[:NAME_CHARS].encode("utf-8")[:NAME_BYTES].decode("utf-8", "ignore").strip("-.")
    try:
        text.encode(sys.getfilesystemencoding())
    except UnicodeEncodeError:
        text = re.sub(r"-*[^A-Za-z0-9_.+-]+-*", "-", text).strip("-.")
    return text or "run"


def check_runs_dir(runs_dir: Path) -> Path:
    """Make sure the runs folder exists and is writable before any work starts."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RunDirError(f"Runs folder {runs_dir} is not a folder: pass --runs-dir with a folder path.") from None
    except OSError as e:
        raise RunDirError(f"Runs folder {runs_dir} cannot be created ({e.strerror}): pass --runs-dir with a writable "
                          "folder.") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise RunDirError(f"Runs folder {runs_dir} is not writable: pass --runs-dir with a writable folder.")
    return runs_dir


def create_run_dir(runs_dir: Path, name: str | None, now: datetime | None = None, stamp: bool = True) -> Path:
    """Make `<runs_dir>/<stamp>_<name>` with an exclusive mkdir, adding -2, -3, ... when the name is taken.

    Inside a study folder the stamp is left out (`stamp=False`): the study's own folder carries the time.
    """
    check_runs_dir(runs_dir)
    base = f"{(now or datetime.now()):%Y-%m-%d_%H-%M-%S}_{safe_name(name)}" if stamp else safe_name(name)
    for attempt in range(1, 10_000):
        path = runs_dir / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise RunDirError(f"Run folder {path} cannot be created ({e.strerror}).") from None
    raise RunDirError(f"Too many runs named {base} in {runs_dir}.")


def update_summary(run_dir: Path, **changes) -> dict:
    """Change keys of a finished run's summary.json: read through the reader (a damaged one is an error naming it),
    written atomically. Returns the new summary."""
    summary = {**read_summary(run_dir), **changes}
    write_json_atomic(run_dir / "summary.json", _finite_or_none(summary))
    return summary


def environment() -> dict:
    """The versions that decide the numbers."""
    return {"versions": {"python": platform.python_version(), "numpy": np.__version__, "scratchrun": __version__}}


def blas_description() -> str | None:
    """The BLAS library NumPy calls and its thread count right now, e.g. "openblas 0.3.27, 1 thread(s)"."""
    from threadpoolctl import threadpool_info

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(f"{p['internal_api']} {p.get('version')}, {p['num_threads']} thread(s)" for p in pools) or None


class RunRecord:
    """Writes a run's files as training goes, then its weights and figure, then its summary, last.

    It is a training callback by its three hooks alone: records sit below training and never import it. While
    training, summary.json says `running` with a heartbeat refreshed every few seconds, so a reader can tell a
    live run from one whose process died without a word (`records.index` calls that `stale`). A write that fails
    raises `RecordError` naming the file and the cause; until the final summary is written, the folder never says
    `completed`, and room is held back for that summary so that a disk that fills up still gets it.
    """

    clock = staticmethod(time.monotonic)  # a class attribute so that tests can move time on

    def __init__(self, path: Path, config: Config, provenance: Provenance = UNKNOWN) -> None:
        self.path = path
        self.config = config
        self.provenance = provenance
        self.started = time.time()
        self.summary: dict = {"status": "running", "seed": config.seed,
                              "started": datetime.now().isoformat(timespec="seconds"),
                              "pid": os.getpid(), "host": host_name(), **provenance.fields()}
        self._steps = self._metrics = None
        writing = path / "config.yaml"
        try:  # nothing is measured yet: a folder that cannot even start is removed, not left half-made
            write_text_atomic(writing, dump_yaml(config))
            writing = path / ".reserve"
            write_atomic(writing, lambda f: f.write(bytes(RESERVE_BYTES)))
            writing = path / "summary.json"
            self._beat()
            writing = path / "steps.csv"
            self._steps = CsvLog(writing, STEP_COLUMNS)
            writing = path / "metrics.csv"
            self._metrics = CsvLog(writing, METRIC_COLUMNS)
        except BaseException as e:  # a write that failed, or Ctrl-C: no half-made folder either way
            for log in (self._steps, self._metrics):
                if log is not None:
                    with suppress(OSError):
                        log.close()
            shutil.rmtree(path, ignore_errors=True)
            if not isinstance(e, OSError):
                raise
            message = f"{writing} cannot be written ({cause(e)})"
            raise RecordError(f"{message}; nothing had been measured yet, so the run folder {path} was removed.", "",
                              {**self.summary, "status": "failed", "message": message}) from None

    @classmethod
    def create(cls, runs_dir: Path, config: Config, stamp: bool = True, provenance: Provenance = UNKNOWN) -> RunRecord:
        return cls(create_run_dir(runs_dir, config.name, stamp=stamp), config, provenance)

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None: ...

    def on_step(self, iteration: int, epoch: int, loss: float) -> None:
        try:
            self._steps.row([iteration, epoch, repr(loss)])
        except OSError as e:
            raise self._failed(self._steps.path, e) from None
        if self.clock() - self._last_beat >= HEARTBEAT_EVERY_S:  # a clock read per step; a file write every few seconds
            self.beat()

    def on_eval(self, row: dict) -> None:
        self._flush(self._metrics, ["" if row[c] is None else row[c] for c in METRIC_COLUMNS])
        self._flush(self._steps)  # every evaluation reaches the disk with the losses before it
        if self.clock() - self._last_beat >= HEARTBEAT_EVERY_S:
            self.beat()

    def _flush(self, log: CsvLog, row: list | None = None) -> None:
        """Add `row` (if any) to `log` and write what it has gathered; a failure is a RecordError naming the file."""
        try:
            if row is not None:
                log.row(row)
            log.flush()
        except OSError as e:
            raise self._failed(log.path, e) from None

    def beat(self) -> None:
        """The losses so far to disk, and the running summary rewritten with the time now."""
        self._flush(self._steps)
        try:
            self._beat()
        except OSError as e:
            raise self._failed(self.path / "summary.json", e) from None

    def _beat(self) -> None:
        """Rewrite the running summary with the time now (UTC, so any reader's time zone agrees)."""
        self._last_beat = self.clock()
        self.summary["heartbeat"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json_atomic(self.path / "summary.json", self.summary)

    def close_logs(self) -> None:
        """Write the rest of steps.csv and metrics.csv and close them (both, even when one fails)."""
        failure = None
        for log in (self._steps, self._metrics):
            try:
                log.close()
            except OSError as e:
                failure = failure or self._failed(log.path, e)
        if failure is not None:
            raise failure

    def save_model(self, state: dict[str, np.ndarray]) -> None:
        """model.npz: plain arrays, loadable with `np.load(..., allow_pickle=False)`."""
        self.save_file("model.npz", lambda f: np.savez(f, **state))

    def save_file(self, name: str, write: Callable[[BinaryIO], object]) -> None:
        """A file of the run (model.npz, curves.png, error.txt) written atomically by `write`."""
        try:
            write_atomic(self.path / name, write)
        except OSError as e:
            raise self._failed(self.path / name, e) from None

    def close(self, status: str, final: dict, history: list[dict], extra: dict) -> dict:
        """Close the logs and write the final summary.json, the last file of a run; returns the summary."""
        self.close_logs()
        with_val = [row for row in history if row.get("val_acc") is not None]
        best = max(with_val, key=lambda row: row["val_acc"], default=None)  # first of equals: the earliest
        summary = {
            "status": status,
            "final": final,
            "best_val_acc": best["val_acc"] if best else None,
            "best_epoch": best["epoch"] if best else None,
            **extra,
            "seed": self.config.seed,
            "started": self.summary["started"],
            **environment(),
            **self.provenance.fields(),
        }
        with suppress(OSError):  # the room held back for this file, on a disk that may have filled up meanwhile
            (self.path / ".reserve").unlink(missing_ok=True)
        try:
            write_json_atomic(self.path / "summary.json", _finite_or_none(summary))
        except OSError as e:
            raise RecordError(f"{self.path / 'summary.json'} cannot be written ({cause(e)})", self.path,
                              summary) from None
        self.summary = summary
        return summary

    def _failed(self, path: Path, error: OSError) -> RecordError:
        return RecordError(f"{path} cannot be written ({cause(error)})", self.path, dict(self.summary))


def _finite_or_none(value):
    """JSON has no NaN or infinity: a diverged run's non-finite numbers are stored as null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    return finite_or_none(value) if isinstance(value, float) else value
