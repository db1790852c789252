"""`scratchrun runs` and `scratchrun compare`: list, filter and compare run folders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from scratchrun.cli.common import PANEL_RUNS, RunsDir, app, console, edge, out, say
from scratchrun.errors import ConfigError, ScratchrunError
from scratchrun.records.status import LISTED, counts_text, style
from scratchrun.text import duration_text, printable

HEADERS = {"val_acc": "val acc", "test_acc": "test acc", "wall_time_s": "wall time"}
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


@app.command(rich_help_panel=PANEL_RUNS)
def runs(
    runs_dir: Annotated[Path, typer.Argument(metavar="RUNS_DIR", help="The folder of run folders.")] = Path("runs"),
    where: Annotated[list[str] | None, typer.Option(
        "--where", show_default=False,
        help="KEY=VALUE (YAML): only runs whose config has this value, e.g. optimizer.name=adam, status=completed or "
             "tag=baseline; repeatable.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", show_default=False,
        help="Only runs with this status (stale = running, but its process died: its pid is gone, or it has been "
             "silent for over a minute; incomplete = completed, but a file is missing or damaged).")] = None,
    sort: Annotated[str, typer.Option(
        "--sort",
        help="A column or config key to sort by; -KEY for descending.")] = "time",
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, show_default=False,
        help="Only the last N rows after sorting.")] = None,
    expand: Annotated[bool, typer.Option(
        "--expand",
        help="A row per run of each study or search, instead of one per folder.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (full precision) instead of a table.")] = False,
    as_md: Annotated[bool, typer.Option("--md", help="Print a Markdown table instead.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Redraw every --interval seconds (Ctrl-C stops); piped, a "
                                                        "listing per change, until no run is training.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.05, max=3600, help="Seconds between redraws with "
                                                                                   "--watch.")] = 2.0,
) -> None:
    """List the runs, studies and searches: time, name, status, the config values that differ, accuracy and time."""
    arguments = (runs_dir, where, status, sort, limit, expand, as_csv, as_md)
    if watch:
        with edge("no run was touched.", label="stopped watching"):
            _watch(arguments, interval)
    else:
        with edge():
            _listing(*arguments)


def _watch(arguments: tuple, interval: float) -> None:
    """The listing again and again: in place on a terminal until Ctrl-C; piped, whenever a status changes, until no
    run of the folder is training."""
    import time

    shown = None
    while True:
        if out.is_terminal:
            out.clear()
            _listing(*arguments)
        else:
            with out.capture() as listing, console.capture() as notes:  # a frame, whichever console says what
                training = _listing(*arguments)
            text = listing.get() + notes.get()
            if text != shown:
                shown = text
                out.print(text, end="", highlight=False, soft_wrap=True)
            if not training:
                return
        time.sleep(interval)


def _listing(runs_dir: Path, where, status, sort, limit, expand, as_csv, as_md) -> bool:
    """Print the listing; whether any run of the folder is training."""
    from scratchrun.records import index as ix
    from scratchrun.records import table as tb

    if as_csv and as_md:
        raise ConfigError("--csv and --md each choose the output: give one of them.")
    if status is not None and status not in LISTED:
        raise ConfigError(f"--status `{status}` is not a status; statuses: {', '.join(LISTED)}.")
    entries = ix.scan(runs_dir)
    training = any(run.status == "running" for run in ix.runs_of(entries))
    if not ix.runs_of(entries):
        console.print(f"no runs in {runs_dir}")
        return training
    keys = {key for run in ix.runs_of(entries) for key in run.config}
    filters = tb.parse_where(where or [], keys)
    selected = tb.select(entries, filters, status)
    table = tb.sort_rows(tb.rows(selected, expand), sort, keys)
    table = table[-limit:] if limit else table
    groups = not expand and any(isinstance(e, ix.GroupInfo) for e in selected)
    columns = ["time", "name", "status", *(["runs"] if groups else []),
               *tb.differing_keys([row.config for row in table]), "val_acc", "test_acc", "wall_time_s"]
    if as_csv:
        _print_csv(table, columns)
    elif as_md:
        cells = [[_cell(row, c).replace("|", "\\|") for c in columns] for row in table]
        out.print("\n".join("| " + " | ".join(line) + " |" for line in
                            [[HEADERS.get(c, c) for c in columns], ["---"] * len(columns), *cells]), soft_wrap=True)
    elif not table:
        console.print(f"no runs in {runs_dir} match --where/--status")
    else:
        _print_table(table, columns, f"{runs_dir}: {counts_text(r.status for r in ix.runs_of(selected))}")
    return training


@app.command(rich_help_panel=PANEL_RUNS)
def compare(
    targets: Annotated[list[str], typer.Argument(
        metavar="RUN_OR_STUDY", show_default=False,
        help="Run folders, study or search folders (all their runs), or names of them in the runs folder.")],
    all_params: Annotated[bool, typer.Option(
        "--all-params",
        help="Every config value, not only those that differ.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", show_default=False,
        help="Also draw the runs' loss and accuracy curves into this .png, .svg or .pdf file.")] = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Compare runs side by side: a column per run with its config values and final metrics."""
    with edge():
        if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
            raise ConfigError(f"--plot {plot}: the file must end in {', '.join(PLOT_SUFFIXES)}.")
        chosen = _runs_to_compare(targets, runs_dir)
    labels = _short_labels(chosen)
    table, same = _comparison(chosen, labels, all_params)
    out.print(table)
    if same:
        console.print("the runs' configs are the same (apart from their names); --all-params shows them")
    if plot is not None:
        from scratchrun.plots.compare import compare_figure

        with edge():
            try:
                left_out = compare_figure(plot, chosen, labels)
            except OSError as e:
                raise ScratchrunError(f"--plot {plot} cannot be written ({e.strerror or e}).") from None
        for label in left_out:
            say(f"{label}:", "yellow", "no readable steps.csv or metrics.csv; left out of the figure")
        out.print(str(plot), soft_wrap=True)


def _comparison(chosen: list, labels: list[str], all_params: bool):
    """The table of `compare` (a column per run: config values, final metrics, status, tags) and whether the runs'
    configs are the same."""
    from rich.table import Table
    from rich.text import Text

    from scratchrun.records.table import differing_keys

    table = Table(title=f"{len(chosen)} runs", title_justify="left")
    table.add_column("")
    for label in labels:
        table.add_column(Text(label), justify="right", overflow="fold")
    configs = [run.config for run in chosen]
    keys = list(dict.fromkeys(k for c in configs for k in c)) if all_params else differing_keys(configs)
    for key in keys:  # Text, not markup: a hand-edited config may hold brackets
        table.add_row(Text(key), *(Text(_show(c[key]) if key in c else "") for c in configs))
    if keys:
        table.add_section()
    for label, value in COMPARE_METRICS:
        table.add_row(label, *(Text(value(run)) for run in chosen))
    table.add_row("status", *(Text(run.status, style(run.status)) for run in chosen))
    if any(run.tags or run.note for run in chosen):  # what a person added (`scratchrun tag`, `scratchrun note`)
        table.add_section()
        table.add_row("tags", *(Text(", ".join(run.tags)) for run in chosen))
        table.add_row("note", *(Text((run.note or "").splitlines()[0] if run.note else "") for run in chosen))
    return table, not keys


def _runs_to_compare(targets: list[str], runs_dir: Path) -> list:
    """Each argument's run, or every run of its study or search folder; each run once, in the order given."""
    from scratchrun.records import index as ix

    chosen = ix.runs_of(ix.named_entries(targets, runs_dir))
    if len(chosen) < 2:
        raise ConfigError(f"compare needs at least two runs, and {' '.join(targets)} gave {len(chosen)}: "
                          "name another run, or a study or search folder.")
    return chosen


def _percent(value) -> str:
    return "–" if value is None else f"{value:.2%}"


def _number(value) -> str:
    return "–" if value is None else _show(value)


COMPARE_METRICS = [
    ("train acc", lambda r: _percent(r.final.get("train_acc"))),
    ("val acc", lambda r: _percent(r.final.get("val_acc"))),
    ("test acc", lambda r: _percent(r.final.get("test_acc"))),
    ("train loss", lambda r: _number(r.final.get("train_loss"))),
    ("val loss", lambda r: _number(r.final.get("val_loss"))),
    ("test loss", lambda r: _number(r.final.get("test_loss"))),
    ("best val acc", lambda r: _percent(r.summary.get("best_val_acc"))),
    ("best epoch", lambda r: _number(r.summary.get("best_epoch"))),
    ("epochs", lambda r: _number(r.summary.get("epochs"))),
    ("wall time", lambda r: _duration(r.wall_time_s)),
    ("samples/s", lambda r: _per_second(r.summary.get("samples_per_s"))),
]  # then the status


def _per_second(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _short_labels(chosen: list) -> list[str]:
    """Run names without time stamps (and without their study's name when all share one) when that keeps them
    apart, else the full names."""
    from scratchrun.records.index import strip_stamp

    short = [r.name if len({r.group for r in chosen}) == 1 else "/".join(strip_stamp(p) for p in r.label.split("/"))
             for r in chosen]
    for labels in ([strip_stamp(label) for label in short], [r.label for r in chosen]):
        if len(set(labels)) == len(labels):
            return labels
    return [f"{label} ({i})" for i, label in enumerate(labels, 1)]


# ----------------------------------------------------------------------------- formatting
def _print_table(table: list, columns: list[str], caption: str) -> None:
    """A rich table built a column at a time: rendering 1,000 rows cell by cell takes rich seconds."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # two lines: optimizer. / lr
    headers = [HEADERS.get(c, c).replace(".", ".\n", 1).replace(" ", "\n") for c in columns]
    cells = [[_cell(row, c) for row in table] for c in columns]
    # `optim…` may be cut
    natural = [max(len(text) for text in (*(h.split("\n")[-1:] if "." in c else h.split("\n")), *block))
               for c, h, block in zip(columns, headers, cells)]
    hidden = []
    while True:
        room = out.width - 2 * (len(columns) - 1)  # less a space and a blank rule between columns
        widths = list(natural)
        _fit(widths, columns, room)
        if sum(widths) <= room or not any(_is_config(c) for c in columns):
            break
        # what chapter 6 varies most goes last: seed, then data, train, model and optimizer keys
        i = min((i for i, c in enumerate(columns) if _is_config(c)), key=lambda i: (_priority(columns[i]), -i))
        hidden.append(columns[i])
        del columns[i], headers[i], cells[i], natural[i]
    if hidden:
        caption += (f"; {len(hidden)} more differing key(s) not shown ({', '.join(sorted(hidden))}): "
                    "a wider terminal, --where, or --csv shows them")
    if "name" in columns:  # a long name keeps its end, where a study's run or a search's trial is named
        i = columns.index("name")
        cells[i] = [name if len(name) <= widths[i] else "…" + name[len(name) - widths[i] + 1:] for name in cells[i]]
    view = Table(caption=Text(caption), caption_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0),
                 pad_edge=False,
                 show_edge=False)
    for column, header, width, block in zip(columns, headers, widths, cells):
        view.add_column(Text(header), width=width, no_wrap=True, overflow="ellipsis",
                        justify="left" if column in ("time", "name", "status") else "right")
    view.add_row(*(Text("\n").join(Text(value, style(value) if column == "status" else "") for value in block)
                   for column, block in zip(columns, cells)))
    out.print(view)


def _fit(widths: list[int], columns: list[str], room: int) -> None:
    """Narrow long config values such as lists (to 12 characters), then long names (to 12) and a study's status
    summary (to 11, the longest single status), until the table fits.

    Times, single statuses and numbers are never cut: when narrowing is not enough, the caller drops config columns.
    """
    floors = {"name": 12, "status": 11}
    floor = [floors.get(c, min(w, 12) if _is_config(c) else w) for c, w in zip(columns, widths)]
    floor = [min(f, w) for f, w in zip(floor, widths)]
    while sum(widths) > room:
        i = max(range(len(widths)), key=lambda i: widths[i] - floor[i])
        if widths[i] <= floor[i]:
            return
        widths[i] -= 1


def _priority(column: str) -> int:
    return ("seed", "data", "train", "model", "optimizer").index(column.split(".")[0]) if _is_config(column) else 9


def _is_config(column: str) -> bool:
    return "." in column or column == "seed"


def _print_csv(table: list, columns: list[str]) -> None:
    """Full-precision values, and the folder's path, for scripts."""
    import csv
    import io

    from scratchrun.records.table import Mixed

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*columns, "path"])
    for row in table:
        values = [row.value(column) for column in columns]
        values = [_show(v) if isinstance(v, Mixed | list) else "" if v is None else v for v in values]
        values[0] = row.time.isoformat() if row.time else ""
        writer.writerow([*values, row.path])
    out.file.write(printable(buffer.getvalue()))  # a name or note holding terminal commands prints as text
    out.file.flush()


def _cell(row, column: str) -> str:
    """A listing cell as a person reads it: compact numbers, percentages, durations."""
    if column == "time":
        return row.time.strftime("%Y-%m-%d %H:%M") if row.time else ""
    if column in ("val_acc", "test_acc"):
        return _percent(row.value(column))
    if column == "wall_time_s":
        return _duration(row.wall_time_s)
    if column in ("name", "status", "runs"):
        return str(row.value(column))
    return _show(row.config[column]) if column in row.config else ""


def _show(value) -> str:
    """A config value in YAML's spelling, floats in at most 4 significant digits."""
    from scratchrun.records.table import MISSING, Mixed

    if value is MISSING:
        return "–"
    if isinstance(value, Mixed):
        return ", ".join(_show(v) for v in value) if len(value) <= 3 else f"{len(value)} values"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float):
        return _compact(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _compact(value: float) -> str:
    """At most 4 significant digits, exponents without padding: 0.001, 3e-5, 1e+30, 0.9."""
    return re.sub(r"e([+-])0+(?=\d)", r"e\1", f"{value:.4g}")


def _duration(seconds) -> str:
    return "–" if seconds is None else duration_text(seconds)
