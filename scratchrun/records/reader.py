"""The one reader of the record files: a run's summary.json, config.yaml, steps.csv, metrics.csv, tags.json and
note.md; a study's study.yaml and results.csv; a search's search.yaml, search.json, journal.jsonl and trials.csv; a
trash item's origin.json. Every command and library module reads them through these functions, each file as a
regular file (never through a link) within its size limit (records/layout.py).

A damaged file is a ScratchrunError that names it. steps.csv and metrics.csv are read for one run at a time, and
numpy is imported only then, so that listing (`records.index`) stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scratchrun.bounded_read import Unreadable, read_bounded, read_text_bounded
from scratchrun.config.bounded_yaml import read_yaml_record
from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.numbers import finite_or_none, is_finite, is_number
from scratchrun.records.layout import (
    JOURNAL,
    METRIC_COLUMNS,
    NOTE,
    NOTE_BYTES,
    ORIGIN,
    ORIGIN_BYTES,
    RESULT_COLUMNS,
    SEARCH_JSON,
    SEARCH_YAML,
    SMALL_RECORD_BYTES,
    STUDY_YAML,
    TABLE_BYTES,
    TAG,
    TAGS,
    WEIGHTS_BYTES,
    plain_name,
    trial_columns,
)
from scratchrun.records.status import Status


def read_summary(run: Path) -> dict:
    """summary.json as a dict; a missing or unreadable one is an error that names the file."""
    path = run / "summary.json"
    text = _text(path, SMALL_RECORD_BYTES)
    if text is None:
        raise ScratchrunError(f"{path} does not exist: the run folder is incomplete.")
    try:
        summary = json.loads(text)
    except ValueError as e:
        raise ScratchrunError(f"{path} cannot be read ({e}).") from None
    if not isinstance(summary, dict):
        raise ScratchrunError(f"{path} does not hold a JSON object.")
    return _checked(summary, path)


def failure_message(run: Path) -> str:
    """Why a failed run's record says it stopped (its summary's message), or why that cannot be read."""
    try:
        return read_summary(run).get("message") or "no message recorded"
    except ScratchrunError as e:
        return str(e)


def read_config_text(run: Path) -> str:
    """A run's config.yaml as saved, or a line saying why it is not shown (the rest of the run still is)."""
    from scratchrun.config.bounded_yaml import MAX_BYTES

    try:
        return read_text_bounded(run / "config.yaml", MAX_BYTES)
    except FileNotFoundError:
        return "(no config.yaml)\n"
    except Unreadable as e:
        return f"(config.yaml cannot be read: {e.reason})\n"


def read_weights(run: Path) -> dict:
    """Every array of a run's model.npz, read in full and without pickle (a damaged file fails here, not half-way
    through a comparison). FileNotFoundError when there is none; `Unreadable` (a link, not a regular file, too
    large) or ValueError (not an npz of plain arrays) when it cannot be read."""
    import zipfile
    import zlib

    import numpy as np

    data = read_bounded(run / "model.npz", WEIGHTS_BYTES)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{type(e).__name__}: {e}") from None


def read_images(folder: Path, skip: set[str], limit: int) -> list[tuple[str, bytes]]:
    """The folder's PNG figures but those named in `skip`, by name, each a regular file of at most `limit` bytes (a
    link, or a larger or special file, is left out: it is not a figure scratchrun drew)."""
    images = []
    for path in sorted(folder.glob("*.png")):
        if path.name not in skip:
            try:
                images.append((path.name, read_bounded(path, limit)))
            except (FileNotFoundError, Unreadable):
                continue
    return images


# what a completed run holds besides its summary; curves.png is not one: it is drawn from these (plots/run.py)
COMPLETED_FILES = ("steps.csv", "metrics.csv", "model.npz")


def missing_parts(run: Path) -> list[str]:
    """What a run folder lacks to be a completed run, e.g. ["model.npz is missing"]; [] when it has it all.

    Cheap enough for listing a thousand runs (about 25 µs a run): one folder listing, and the end of model.npz,
    where a zip file keeps the record that locates its index (a truncated file has none); not the arrays, which
    `reproduce` loads in full.
    """
    try:
        present = {entry.name for entry in os.scandir(run) if entry.is_file()}
    except OSError as e:
        return [f"the folder cannot be read ({e.strerror or e})"]
    missing = [f"{name} is missing" for name in COMPLETED_FILES if name not in present]
    if "model.npz" in present and (problem := _weights_problem(run / "model.npz")):
        missing.append(problem)
    return missing


# a zip's end-of-central-directory record: signature, 2 disk numbers, 2 entry counts, index size and offset, comment
# length
_ZIP_END = struct.Struct("<4s4H2LH")


def _weights_problem(path: Path) -> str | None:
    """Why model.npz cannot be whole (no zip index at its end, or one pointing outside the file); None when it can be.

    np.savez writes no zip comment, so the record is the file's last 22 bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a link or a FIFO is no model.npz
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return "model.npz is not a regular file"
            size = info.st_size
            end = os.pread(fd, _ZIP_END.size, size - _ZIP_END.size) if size >= _ZIP_END.size else b""
        finally:
            os.close(fd)
    except OSError as e:
        return f"model.npz cannot be read ({e.strerror or e})"
    if len(end) < _ZIP_END.size or not end.startswith(b"PK\x05\x06"):
        return "model.npz is damaged (it does not end in a zip index: truncated or overwritten)"
    _, _, _, _, entries, index_size, index_offset, _ = _ZIP_END.unpack(end)
    if entries == 0:
        return "model.npz holds no arrays"
    if index_offset != 0xFFFFFFFF and index_offset + index_size > size - _ZIP_END.size:  # 0xFFFFFFFF: a zip64 file
        return "model.npz is damaged (its zip index points past its end)"
    return None


COUNT_KEYS = ("stop_epochs", "iterations", "train_samples", "val_samples", "test_samples")
# epochs: fractional when stopped
AMOUNT_KEYS = ("wall_time_s", "train_time_s", "samples_per_s", "epochs", "best_epoch")
NUMBER_KEYS = ("best_val_acc", *AMOUNT_KEYS, *COUNT_KEYS)
TEXT_KEYS = ("status", "message", "started", "heartbeat", "blas", "command", "git_commit")


def possible(key: str, value: float) -> str | None:
    """What `value` must be when it is `key` (an accuracy, a loss, a count) and is not; None when it is possible.

    One rule for every record: an accuracy is a fraction in [0, 1], a loss (cross-entropy, plus weight decay) and a
    time or an epoch are never negative, a count is a whole number >= 0. A record holding anything else was damaged.
    """
    name = key.rsplit(".", 1)[-1]
    if name.endswith("_acc"):
        return None if 0 <= value <= 1 else "an accuracy from 0 to 1"
    if name in COUNT_KEYS:
        return None if value >= 0 and float(value).is_integer() else "a whole number >= 0"
    if name.endswith("_loss") or name in AMOUNT_KEYS or name in ("seconds", "iteration", "epoch"):
        return None if value >= 0 else "a number >= 0"
    return None


def _checked(summary: dict, path: Path) -> dict:
    """A summary every reader can format without checking: numbers or null where numbers belong (a NaN or an
    infinity becomes null, as the writer stores them), each a possible value (`possible`), text or null where text
    belongs; anything else is named."""
    def bad(key: str, value, allowed: str) -> ScratchrunError:
        return ScratchrunError(f"{path}: `{key}` is {json.dumps(value)[:60]}, which a run summary never holds there; "
                               f"allowed: {allowed}. The file was damaged or written by something else.")

    def number(key: str, value):
        if not (value is None or is_number(value)):
            raise bad(key, value, "a number or null")
        if (value := finite_or_none(value)) is None:
            return None
        if allowed := possible(key, value):
            raise bad(key, value, f"{allowed}, or null")
        return int(value) if key in COUNT_KEYS else value

    clean = dict(summary)
    for key in NUMBER_KEYS:
        clean[key] = number(key, summary.get(key))
    for key in TEXT_KEYS:
        if summary.get(key) is not None and not isinstance(summary[key], str):
            raise bad(key, summary[key], "text or null")
    if summary.get("git_dirty") is not None and not isinstance(summary["git_dirty"], bool):
        raise bad("git_dirty", summary["git_dirty"], "true, false or null")
    final = summary.get("final")
    if final is not None and not isinstance(final, dict):
        raise bad("final", final, "a mapping of metrics, or null")
    clean["final"] = None if final is None else {k: number(f"final.{k}", v) for k, v in final.items()}
    for key in ("versions",):
        if summary.get(key) is not None and not isinstance(summary[key], dict):
            raise bad(key, summary[key], "a mapping or null")
    return clean


def read_steps(run: Path):
    """steps.csv as an (N, 3) float array of iteration, epoch, loss (nan/inf kept); a half-written last line is left
    out."""
    import numpy as np

    path = run / "steps.csv"
    text = _complete_lines(path)
    if text.count("\n") < 2:  # no file, or the header alone
        return np.empty((0, 3))
    try:
        steps = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2)
    except ValueError as e:
        raise ScratchrunError(f"{path} is not a steps table of iteration, epoch, loss ({e}).") from None
    if steps.shape[1] != 3:
        raise ScratchrunError(f"{path} has {steps.shape[1]} columns; a steps table has 3: iteration, epoch, loss.")
    if len(impossible := np.flatnonzero((steps < 0).any(axis=1))):
        row = int(impossible[0])
        raise ScratchrunError(f"{path}, row {row + 2}: {', '.join(f'{v:g}' for v in steps[row])} holds a negative "
                              "number; allowed: an iteration, an epoch and a loss, each >= 0 (or nan/inf for a loss). "
                              "The file was damaged or written by something else.")
    return steps


def read_metrics(run: Path) -> list[dict[str, str]]:
    """metrics.csv as rows of text, exactly as written (an empty cell is a metric that was not measured).

    Text, so that a rerun can be compared to the letter; `metric_values` turns the rows into numbers. A table without
    the iteration and epoch of its rows is damaged: nothing can place its evaluations.
    """
    path = run / "metrics.csv"
    rows = _csv_rows(path)
    if rows and (missing := [c for c in ("iteration", "epoch") if c not in rows[0]]):
        raise ScratchrunError(f"{path} has no {' and no '.join(missing)} column; a metrics table has "
                              f"{', '.join(METRIC_COLUMNS)}. The file was damaged or written by something else.")
    return rows


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_complete_lines(path), newline="")))


def metric_values(rows: Iterable[Mapping[str, str | None]]) -> list[dict[str, float | None]]:
    """metrics.csv rows as numbers, None where a metric was not measured; a row with a cell that is no number, or no
    possible value of its column (`possible`: a 1e10 accuracy, a negative loss), is left out."""
    values = []
    for row in rows:
        try:
            numbers = {key: None if text in (None, "") else float(text) for key, text in row.items()}
        except (TypeError, ValueError):  # TypeError: more cells than columns (csv files them under None, as a list)
            continue
        if not any(is_finite(v) and possible(k, v) for k, v in numbers.items()):
            values.append(numbers)
    return values


def _complete_lines(path: Path) -> str:
    """A CSV file's text up to its last line end (a running or killed run may be in the middle of a line); '' if
    none."""
    text = _text(path) or ""
    return text[: text.rfind("\n") + 1]


def _text(path: Path, limit: int = TABLE_BYTES) -> str | None:
    """A record file's text, None when there is no such file; one that cannot be read (a link, not a regular file,
    over `limit`) is an error that names it."""
    try:
        return read_text_bounded(path, limit)
    except FileNotFoundError:
        return None
    except Unreadable as e:
        raise ScratchrunError(f"{path} cannot be read ({e.reason}).") from None


def read_results(study: Path) -> list[dict[str, Any]]:
    """A study's results.csv, a dict per run: `seed` an int, the final metrics and `wall_time_s` floats (None where
    empty or not finite), `variant`, `status` and `run_dir` text."""
    def parsers(header: list[str]) -> list[Callable[[str], Any]] | None:
        text = ("variant", "status", "run_dir")
        if header != RESULT_COLUMNS:
            return None
        return [str if c in text else int if c == "seed" else _number for c in header]

    return _read_table(study / "results.csv", parsers, "a study's results")


def read_trials(search: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """A search's trials.csv, a dict per trial: `trial` and `round` ints; the score, `epochs` and `seconds` floats (None
    where empty or not finite); `status` and `run_dir` text; each sampled value a number when it reads as one, else
    text. A table of more than `limit` rows is refused once it has read that many (its rows' memory is bounded)."""
    def parsers(header: list[str]) -> list[Callable[[str], Any]] | None:
        keys = header[2:-5]
        if len(header) < 7 or header != trial_columns(keys, header[-4]):
            return None
        return [int, int, *(_value for _ in keys), str, _number, _number, _number, str]

    return _read_table(search / "trials.csv", parsers, "a search's trials", limit)


def _read_table(path: Path, parsers: Callable[[list[str]], list | None], what: str,
                limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a table whose header `parsers` accepts (returning a parser per column); damage is an error naming the
    file."""
    text = _text(path)
    if text is None:
        raise ScratchrunError(f"{path} does not exist.")
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, [])
    parse = parsers(header)
    if parse is None:
        raise ScratchrunError(f"{path} does not start with the header of {what} "
                              f"({','.join(header)[:80] or 'it is empty'}); it was damaged or written by something "
                              "else.")
    table = []
    for cells in rows:
        if not cells:  # a blank line
            continue
        if len(cells) != len(header):
            raise ScratchrunError(f"{path}, line {rows.line_num}, has {len(cells)} cells where its header names "
                                  f"{len(header)}; the file was damaged.")
        row = {}
        for key, cell, to_value in zip(header, cells, parse):
            try:
                row[key] = to_value(cell)
            except ValueError:
                raise ScratchrunError(f"{path}, line {rows.line_num}: `{key}` is {cell!r}, which that column never "
                                      "holds; the file was damaged.") from None
        table.append(row)
        if limit is not None and len(table) > limit:
            raise ScratchrunError(f"{path} holds more than {limit:,} rows, and {what} table holds at most {limit:,}; "
                                  "the file was damaged or written by something else.")
    return table


def _number(text: str) -> float | None:
    """A measured number: None where it was not measured (empty) or is not finite, as in a summary."""
    return None if text == "" else finite_or_none(float(text))


def _value(text: str) -> bool | int | float | str | None:
    """A sampled value as csv wrote it: a bool (`True`/`False`, as Python writes one), an int or a float when it
    reads as one, else its text; None when empty."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def flatten(mapping: Mapping, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one dict of dotted keys; lists stay values (`model.hidden: [100, 100]`)."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_run_config(run: Path) -> tuple[dict[str, Any], str | None]:
    """A run's config.yaml, flat (`optimizer.lr`), and, when it cannot be read, why (the config is then empty)."""
    try:
        return flatten(read_yaml_record(run / "config.yaml") or {}), None  # a hand-made bomb is refused, not expanded
    except FileNotFoundError:
        return {}, None
    except Unreadable as e:
        return {}, f"config.yaml cannot be read ({e.reason})"
    except (OSError, ValueError, yaml.YAMLError, AttributeError, ScratchrunError) as e:  # AttributeError: not a mapping
        return {}, f"config.yaml: {type(e).__name__}: {e}"


@dataclass(frozen=True)
class Annotations:
    """What a person added to a run (records/annotations.py writes it)."""

    tags: tuple[str, ...] = ()
    note: str | None = None
    problem: str | None = None  # why tags.json or note.md could not be read


def read_annotations(run: Path) -> Annotations:
    """The run's tags (sorted) and note; missing files are no tags and no note, unreadable ones a problem named,
    never an error that hides the run."""
    tags, why = read_tags(run)
    note = None
    problems = [f"{TAGS} cannot be read ({why})"] if why else []
    try:
        note = read_text_bounded(run / NOTE, NOTE_BYTES).rstrip("\n") or None
    except FileNotFoundError:
        pass
    except Unreadable as e:
        problems.append(f"{NOTE} cannot be read ({e.reason})")
    return Annotations(tags, note, "; ".join(problems) or None)


def read_tags(run: Path) -> tuple[tuple[str, ...], str | None]:
    """The tags in tags.json (sorted; none when there is no file) and, when it cannot be read, why (or None)."""
    try:
        data = json.loads(read_text_bounded(run / TAGS, SMALL_RECORD_BYTES))
    except FileNotFoundError:
        return (), None
    except Unreadable as e:
        return (), e.reason
    except ValueError as e:
        return (), f"it is not JSON: {e}"
    values = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(values, list) or not all(isinstance(t, str) and TAG.fullmatch(t) for t in values):
        return (), "it does not hold a list of tags"
    return tuple(sorted(set(values))), None


def read_origin(item: Path) -> tuple[str, str, str]:
    """(name, removed, problem) from a trash item's origin.json; the name only when it is a plain folder name, so
    that a hand-edited `../` can point nowhere (the item's own folder name otherwise)."""
    path = item / ORIGIN
    try:
        try:
            text = read_text_bounded(path, ORIGIN_BYTES)
        except Unreadable as e:
            return item.name, "", f"{ORIGIN} cannot be read ({e.reason})"
        origin = json.loads(text)
        name, removed = origin["name"], str(origin.get("removed", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return item.name, "", f"{ORIGIN} is missing or damaged"
    if not isinstance(name, str) or not plain_name(name):
        return item.name, removed, f"{ORIGIN} names {name!r}, which is not a plain folder name"
    return name, removed, ""


def read_study_yaml(study: Path) -> dict[str, Any]:
    """What a study's study.yaml asked for (experiments/study_folder.py writes it): `study` (its kind), `base` (a
    config mapping), `variants` (each a name and the keys it sets), `seeds` and, when saved, `figures`; anything
    else is one sentence naming the file."""
    path = study / STUDY_YAML
    try:
        saved = read_yaml_record(path)
        variants = [{"name": str(v["name"]), "set": dict(v["set"])} for v in saved["variants"]]
        if not isinstance(saved["base"], dict) or not isinstance(saved["study"], str):
            raise TypeError("its study is not a name, or its base is not a mapping of config keys")
        figures = saved.get("figures")
        if figures is not None and not isinstance(figures, list):
            raise TypeError("its figures are not a list")
        return {"study": saved["study"], "base": saved["base"], "variants": variants,
                "seeds": [int(s) for s in saved["seeds"]], "figures": figures}
    except (OSError, Unreadable, ValueError, yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
        raise not_a_study(path, e) from None


def not_a_study(path: Path, e: Exception) -> ConfigError:
    return ConfigError(f"{path} is not a study this version can resume ({type(e).__name__}: {e}); give the folder a "
                       "study command wrote.")


def read_search_yaml(search: Path) -> dict[str, Any]:
    """A search's search.yaml: the `search` section and `base` config it was started with, compared on --resume.
    FileNotFoundError when there is none; a damaged one is one sentence naming the file."""
    path = search / SEARCH_YAML
    try:
        saved = read_yaml_record(path)
    except (Unreadable, ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"{path} cannot be read ({type(e).__name__}: {e}).") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("search"), dict):
        raise ConfigError(f"{path} does not hold a search section; give a folder made by scratchrun search.")
    return saved


def read_search_json(search: Path) -> dict | None:
    """A search's search.json (its best trial and final test); None when it is missing or not one."""
    try:
        data = json.loads(read_text_bounded(search / SEARCH_JSON, SMALL_RECORD_BYTES))
    except (OSError, Unreadable, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_journal(search: Path) -> dict[tuple[int, int | None], dict]:
    """A search's journal.jsonl (experiments/search_rounds.py appends it): the finished runs of an earlier attempt,
    keyed by (trial, stop_epochs); a line cut short by a crash, or one this code never wrote, is ignored (that run is
    done again)."""
    path = search / JOURNAL
    entries = {}
    try:
        text = read_text_bounded(path, TABLE_BYTES)
    except FileNotFoundError:
        text = ""
    except Unreadable as e:
        raise ScratchrunError(f"{path} cannot be read ({e.reason}); move it away to run every trial again.") from None
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not (isinstance(row, dict) and isinstance(row.get("trial"), int) and row["trial"] >= 0
                and isinstance(row.get("stop_epochs"), int | None) and isinstance(row.get("status"), str)):
            continue
        stop = row.pop("stop_epochs", None)
        if row["status"] == "stopped":  # what scratchrun 0.2 called a run stopped at a rung
            row["status"] = Status.PRUNED.value
        row["run_dir"] = f"trial-{row['trial']:03d}"  # never a path taken from the file: it stays in the search
        entries[(row["trial"], stop)] = row
    return entries
