"""The run folder: created without collisions, written as training goes, closed with a summary; and the one
writer of every record file (atomic: a reader never sees half of one).

Layout of `runs/<YYYY-MM-DD_HH-MM-SS>_<name>/`: config.yaml (the resolved config), steps.csv (every
minibatch loss), metrics.csv (every evaluation), summary.json (outcome, environment and provenance),
model.npz and curves.png.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scratchrun import __version__
from scratchrun.config.loader import Config, dump_yaml
from scratchrun.errors import RunDirError
from scratchrun.records.layout import METRIC_COLUMNS, STEP_COLUMNS
from scratchrun.records.provenance import UNKNOWN, Provenance
from scratchrun.records.reader import read_summary

STATUSES = ("running", "completed", "diverged", "interrupted", "failed", "pruned", "stale")  # stale: derived on read
HEARTBEAT_EVERY_S = 5.0  # how often a running record says it is alive; records.index calls it stale after 60 s of silence


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
        raise RunDirError(f"Runs folder {runs_dir} cannot be created ({e.strerror}): pass --runs-dir with a writable folder.") from None
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


def write_text_atomic(path: Path, text: str, newline: str | None = None) -> None:
    """Write a file through a temporary one in the same folder and a rename, so a reader never sees half a file.

    `newline` is `open`'s: None writes the system's line ends, "" writes `text`'s own.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline=newline)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    """Writes a run's files as training goes; `close` writes the summary whatever the outcome.

    It is a training callback by its three hooks alone: records sit below training and never import it. While
    training, summary.json says `running` with a heartbeat refreshed every few seconds, so a reader can tell a
    live run from one whose process died without a word (`records.index` calls that `stale`).
    """

    clock = staticmethod(time.monotonic)  # a class attribute so that tests can move time on

    def __init__(self, path: Path, config: Config, provenance: Provenance = UNKNOWN) -> None:
        self.path = path
        self.config = config
        self.provenance = provenance
        self.started = time.time()
        write_text_atomic(path / "config.yaml", dump_yaml(config))
        self.summary: dict = {"status": "running", "seed": config.seed, "started": datetime.now().isoformat(timespec="seconds"),
                              "pid": os.getpid(), **provenance.fields()}
        self._beat()
        self._steps_file = open(path / "steps.csv", "w", newline="", encoding="utf-8")
        self._steps = csv.writer(self._steps_file)
        self._steps.writerow(STEP_COLUMNS)
        self._metrics_file = open(path / "metrics.csv", "w", newline="", encoding="utf-8")
        self._metrics = csv.writer(self._metrics_file)
        self._metrics.writerow(METRIC_COLUMNS)

    @classmethod
    def create(cls, runs_dir: Path, config: Config, stamp: bool = True, provenance: Provenance = UNKNOWN) -> RunRecord:
        return cls(create_run_dir(runs_dir, config.name, stamp=stamp), config, provenance)

    def on_train_start(self, total_iterations: int, per_epoch: int) -> None: ...

    def on_step(self, iteration: int, epoch: int, loss: float) -> None:
        self._steps.writerow([iteration, epoch, repr(loss)])
        if self.clock() - self._last_beat >= HEARTBEAT_EVERY_S:  # a clock read per step; a file write every few seconds
            self._beat()

    def on_eval(self, row: dict) -> None:
        self._metrics.writerow(["" if row[c] is None else row[c] for c in METRIC_COLUMNS])
        self._metrics_file.flush()
        self._steps_file.flush()
        if self.clock() - self._last_beat >= HEARTBEAT_EVERY_S:
            self._beat()

    def _beat(self) -> None:
        """Rewrite the running summary with the time now (UTC, so any reader's time zone agrees)."""
        self._last_beat = self.clock()
        self.summary["heartbeat"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json_atomic(self.path / "summary.json", self.summary)

    def close(self, status: str, final: dict, history: list[dict], extra: dict) -> dict:
        """Flush the logs and write summary.json; returns the summary."""
        self._steps_file.close()
        self._metrics_file.close()
        with_val = [row for row in history if row.get("val_acc") is not None]
        best = max(with_val, key=lambda row: row["val_acc"], default=None)  # first of equals: the earliest
        self.summary = {
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
        write_json_atomic(self.path / "summary.json", _finite_or_none(self.summary))
        return self.summary

    def save_model(self, state: dict[str, np.ndarray]) -> None:
        """model.npz: plain arrays, loadable with `np.load(..., allow_pickle=False)`."""
        np.savez(self.path / "model.npz", **state)


def _finite_or_none(value):
    """JSON has no NaN or infinity: a diverged run's non-finite numbers are stored as null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
