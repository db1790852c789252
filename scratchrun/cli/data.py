"""`scratchrun data status|fetch|verify`: where the datasets are, whether they verify, and fetching ahead of time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from scratchrun.cli.common import PANEL_SETUP, DataDir, app, check_data_dir, console, edge, out, say
from scratchrun.text import size_text

if TYPE_CHECKING:
    from scratchrun.data.cache import DecodedCopy
    from scratchrun.data.registry import Located, Lookup

data_app = typer.Typer(no_args_is_help=True)
app.add_typer(
    data_app,
    name="data",
    rich_help_panel=PANEL_SETUP,
    help="Where each dataset's files are read from, whether they verify, and fetching them ahead of time.",
)


def _complete_dataset(incomplete: str) -> list[str]:
    """Shell completion for a dataset argument: the registered names (the registry is imported only here)."""
    from scratchrun.data.registry import DATASETS

    return [name for name in DATASETS if name.startswith(incomplete)]


AnyDataset = Annotated[
    str | None,
    typer.Argument(help="A registered dataset, e.g. mnist or fashion-mnist (default: every one).",
                   show_default=False, autocompletion=_complete_dataset),
]
OK, MISSING = Text("ok", style="green"), Text("missing", style="red")
ROLE_NAMES = {"train_images": "train images", "train_labels": "train labels",
              "test_images": "test images", "test_labels": "test labels"}


@data_app.command()
def status(dataset: AnyDataset = None, data_dir: DataDir = None) -> None:
    """Where each file would be read from and its size; fast, as nothing is hashed (see `data verify`)."""
    from scratchrun.data.cache import open_decoded

    lookups = _locate_all(dataset, data_dir)
    for lookup in lookups:
        checks = {role: "not checked" if found.path else "-" for role, found in lookup.files.items()}
        _print_lookup(lookup, checks, open_decoded(lookup.decoded, lookup.spec, full=False))
        missing = [found.file.filename for found in lookup.files.values() if found.path is None]
        if missing:
            out.print(f"{len(missing)} of {len(lookup.files)} files missing: run {_fetch_command(lookup)} to fetch "
                      f"them into {lookup.cache}.", soft_wrap=True)
        out.print()


@data_app.command()
def verify(dataset: AnyDataset = None, data_dir: DataDir = None) -> None:
    """Check every file found (IDX header, SHA-256) and the decoded copy (each array's hash); exit 1 if one is bad."""
    from scratchrun.data.cache import open_decoded
    from scratchrun.data.registry import file_problems

    problems = []
    for lookup in _locate_all(dataset, data_dir):
        checks: dict[str, str | Text] = dict.fromkeys(lookup.files, MISSING)
        for role, problem in file_problems(lookup).items():
            if problem is None:
                checks[role] = OK
            else:
                checks[role] = Text.assemble(("BAD", "red"), f": {_reason(problem, lookup.files[role])}")
                problems.append(_bad_sentence(problem, lookup.files[role], lookup))
        copy = open_decoded(lookup.decoded, lookup.spec)
        _print_lookup(lookup, checks, copy, verified=True)
        out.print()
        if missing := [found for found in lookup.files.values() if found.path is None]:
            problems.append(_missing_sentence(missing, lookup))
        if copy.problem:
            problems.append(f"The decoded copy {copy.folder} is damaged: {copy.problem}; the next run rebuilds it from "
                            f"the verified files, or run {_fetch_command(lookup)} to rebuild it now.")
    for sentence in problems:
        say("error:", "red", sentence)
    if problems:
        raise typer.Exit(1)


@data_app.command()
def fetch(
    dataset: Annotated[
        str, typer.Argument(help="A registered dataset, e.g. mnist or fashion-mnist.", autocompletion=_complete_dataset)
    ] = "mnist",
    data_dir: DataDir = None,
) -> None:
    """Fetch a dataset into the user cache now, for a machine that will be offline later; valid files are kept.

    The decoded copy is made (or rebuilt if damaged) too, so the first run maps it at once.
    """
    from scratchrun.cli.display.progress import DownloadBar
    from scratchrun.data.cache import open_decoded
    from scratchrun.data.registry import fetch_dataset

    # SIGTERM, too, stops it as Ctrl-C does and discards the partial downloads
    def replacing(path: Path) -> None:
        console.print(f"{path} is damaged; fetching a good copy in its place.", style="yellow", soft_wrap=True)

    with edge("files fetched completely are in the cache; partial ones were discarded."):
        lookup, todo = fetch_dataset(dataset, data_dir, DownloadBar(console), on_replace=replacing)
    fetched = Text.assemble(OK, ", fetched")
    _print_lookup(lookup, {role: fetched if role in todo else OK for role in lookup.files},
                  open_decoded(lookup.decoded, lookup.spec, full=False))
    out.print(f"{dataset}: {len(todo)} file(s) fetched into {lookup.cache}, {len(lookup.files) - len(todo)} already "
              "present and valid; runs will not need the network for it.", soft_wrap=True)


def _locate_all(dataset: str | None, data_dir: Path | None) -> list[Lookup]:
    """The named dataset, or every registered one; an unknown name or data folder ends the command (exit 2)."""
    from scratchrun.data.registry import DATASETS, locate

    with edge():
        check_data_dir(data_dir)
        return [locate(name, data_dir) for name in ([dataset] if dataset is not None else list(DATASETS))]


def _print_lookup(lookup: Lookup, checks: dict[str, str | Text], copy: DecodedCopy, verified: bool = False) -> None:
    """The folders searched, one row per file (where it would be read from, its size, `checks`), the decoded copy."""
    from rich import box
    from rich.table import Table

    out.print(Text.assemble((lookup.spec.name, "bold"), ", searched in this order:"))
    if "data dir" not in lookup.folders:
        out.print("  data dir  (none: --data-dir or SCRATCHRUN_DATA_DIR)")
    for kind, folder in lookup.folders.items():
        out.print(f"  {kind:<9} {folder}", soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("role", "file", "source", "size", "verified"):  # narrow terminals wrap the last
        table.add_column(header, justify="right" if header == "size" else "left", no_wrap=header != "verified")
    for role, found in lookup.files.items():
        table.add_row(ROLE_NAMES.get(role, role), found.path.name if found.path else found.file.filename,
                      found.source or MISSING, size_text(found.path.stat().st_size) if found.path else "-",
                      checks[role])
    out.print(table)
    out.print(_decoded_line(copy, verified), soft_wrap=True)


def _decoded_line(copy: DecodedCopy, verified: bool) -> str | Text:
    """One line on the decoded copy: none yet, damaged (and why), or present (rebuilt, and why, if it was)."""
    if copy.state == "absent":
        return "decoded copy: none yet (the first run that reads the files verifies them and writes it)"
    if copy.state == "damaged":
        return Text.assemble("decoded copy: ", ("damaged", "red"), f" in {copy.folder}: {copy.problem}; the next run "
                             "rebuilds it from the verified files")
    checked = (Text.assemble(OK, ", each array matches its SHA-256") if verified
               else "sizes and headers match; runs check each array's SHA-256 when they map it")
    rebuilt = (f"; rebuilt {copy.created or ''} because the copy before it was damaged: {copy.replaced}"
               if copy.replaced else "")
    return Text.assemble(f"decoded copy: present in {copy.folder} (", checked, f"){rebuilt}")




def _reason(message: str, found: Located) -> str:
    """The problem alone, for a table cell: the message without its path and without its remedy or details."""
    text = message.removeprefix(f"{found.path} ")
    for stop in (";", ":"):
        text = text.split(stop, 1)[0]
    return text.strip()


def _bad_sentence(message: str, found: Located, lookup: Lookup) -> str:
    """The verification error, plus the one-command fix when the damaged file is in the cache."""
    if found.source != "cache":
        return message
    return f"{message.rstrip('.')}, or run {_fetch_command(lookup)}, which fetches a good copy in its place."


def _missing_sentence(missing: list[Located], lookup: Lookup) -> str:
    """Which files are in none of the folders, and the command that fetches them."""
    names = ", ".join(found.file.filename for found in missing)
    folders = ", ".join(str(folder) for folder in lookup.folders.values())
    return (f"{lookup.spec.name} file(s) {names} are in none of {folders}; run {_fetch_command(lookup)} "
            f"to fetch them into {lookup.cache}, or copy the *-ubyte.gz files into one of those folders.")


def _fetch_command(lookup: Lookup) -> str:
    """The fetch command for this dataset, with the same data folder so files already there are not fetched."""
    data_dir = f" --data-dir {lookup.data_dir}" if lookup.data_dir is not None else ""
    return f"`scratchrun data fetch {lookup.spec.name}{data_dir}`"
