"""The package's shape holds: no import circles, only the CLI talks to typer/rich/click, imports point down the layers.

Every import counts, those inside functions too (a lazy import still ties two modules together) and those under
`if TYPE_CHECKING:` (an annotation that names a module above still makes the lower one depend on it).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import scratchrun

PACKAGE = Path(scratchrun.__file__).parent
LAYERS = ("scratchrun.errors", "scratchrun.nn", "scratchrun.data", "scratchrun.config", "scratchrun.records",
          "scratchrun.plots", "scratchrun.training", "scratchrun.experiments", "scratchrun.reporting",
          "scratchrun.exports", "scratchrun.api", "scratchrun.cli")
# the top, the entry point, a compatibility shim
EXEMPT = {"scratchrun", "scratchrun.__main__", "scratchrun.optimizers"}
CLI_LIBRARIES = {"typer", "rich", "click"}


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name; a package by its own name (its __init__.py)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = (package.name, *path.relative_to(package).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


class _Imports(ast.NodeVisitor):
    """The modules one file imports, anywhere in it (under `if TYPE_CHECKING:` too)."""

    def __init__(self, name: str, is_package: bool, known: set[str]):
        self.base = name if is_package else name.rpartition(".")[0]  # what `from . import x` is relative to
        self.known, self.found = known, set()

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.base.rsplit(".", node.level - 1)[0] if node.level else ""  # each dot past the first: a package up
        source = ".".join(filter(None, (base, node.module)))
        for alias in node.names:  # `from scratchrun.records import reader` imports the module scratchrun.records.reader
            self.found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in self.known else source)


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    visitor = _Imports(name, is_package, known)
    visitor.visit(ast.parse(source))
    return visitor.found


def all_imports() -> dict[str, set[str]]:
    """Each scratchrun module and every module it imports (scratchrun's own by full name, others as written)."""
    found = modules()
    return {name: imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", set(found))
            for name, path in found.items()}


def own_edges(imports: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between scratchrun modules, with `scratchrun.x.y` imported as a module when it is one."""
    known = set(imports)

    def module(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    return {name: {m for t in targets if t.split(".")[0] == "scratchrun" and (m := module(t)) and m != name}
            for name, targets in imports.items()}


def inside(module: str, package: str) -> bool:
    return module.startswith(package + ".")


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan's algorithm).

    An edge between a package's __init__ and a module inside that package is left out: a package re-exporting
    its own modules, and those modules importing their siblings through it, is how packages are built.
    """
    graph = {a: {b for b in targets if not inside(a, b) and not inside(b, a)} for a, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer(module: str) -> int | None:
    return next((i for i, top in enumerate(LAYERS) if module == top or inside(module, top)), None)


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Each import of a module from a higher layer than the importer's, as `importer (layer) -> imported (layer)`."""
    found = []
    for importer, targets in sorted(edges.items()):
        for target in sorted(targets):
            mine, theirs = layer(importer), layer(target)
            if importer not in EXEMPT and mine is not None and theirs is not None and theirs > mine:
                found.append(f"{importer} ({LAYERS[mine]}) -> {target} ({LAYERS[theirs]})")
    return found


def cli_leaks(imports: dict[str, set[str]]) -> list[str]:
    """Modules outside scratchrun.cli that import typer, rich, click or scratchrun.cli (the entry point may)."""
    found = []
    for importer, targets in sorted(imports.items()):
        if importer == "scratchrun.cli" or inside(importer, "scratchrun.cli"):
            continue
        for target in sorted(targets):
            leaks = target.split(".")[0] in CLI_LIBRARIES or (
                importer != "scratchrun.__main__" and (target == "scratchrun.cli" or inside(target, "scratchrun.cli")))
            if leaks:
                found.append(f"{importer} imports {target}")
    return found


def report(problems: list, what: str) -> str:
    return f"{len(problems)} {what}:\n  " + "\n  ".join(map(str, problems))


# ----------------------------------------------------------------------------- the package
def test_the_walk_finds_every_subpackage_and_lazy_imports():
    imports = all_imports()
    assert {layer(name) for name in imports} >= set(range(len(LAYERS))) - {LAYERS.index("scratchrun.api")}
    assert "scratchrun.records.reader" in own_edges(imports)["scratchrun.records.frames"]
    assert any(t.startswith("rich") for t in imports["scratchrun.cli.runs"])  # imported inside a function there


def test_no_module_imports_itself_round_a_circle():
    found = circles(own_edges(all_imports()))
    assert not found, report(found, "import circle(s)")


def test_only_the_cli_imports_typer_rich_click_or_the_cli():
    found = cli_leaks(all_imports())
    assert not found, report(found, "import(s) of the CLI or its libraries outside scratchrun.cli")


def test_imports_point_down_the_layers():
    found = upward(own_edges(all_imports()))
    assert not found, report(found, "import(s) of a higher layer (" + " < ".join(LAYERS) + ")")


def test_importing_the_cli_loads_neither_numpy_nor_matplotlib_nor_pandas():
    code = "import json, sys, scratchrun.cli.app; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                       check=True).stdout)
    assert "scratchrun.cli.app" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("numpy", "matplotlib", "pandas"))
    assert not heavy, f"`import scratchrun.cli.app` loads {', '.join(heavy[:8])}: --help would be slow"


# ----------------------------------------------------------------------------- the checks themselves can fail
def test_the_walker_sees_imports_in_functions_relative_ones_and_type_checking_ones():
    source = """
from typing import TYPE_CHECKING
import typing
from . import sibling
from ..nn import layers
if TYPE_CHECKING:
    import pandas
if typing.TYPE_CHECKING:
    from scratchrun.cli import app
else:
    import yaml
def f():
    from scratchrun.training.trainer import train
"""
    known = {"scratchrun.records.sibling", "scratchrun.nn.layers", "scratchrun.training.trainer"}
    found = imports_of("scratchrun.records.frames", source, False, known)
    assert found == {"typing", "scratchrun.records.sibling", "scratchrun.nn.layers", "pandas", "scratchrun.cli", "yaml",
                     "scratchrun.training.trainer"}


def test_the_checks_report_a_circle_a_layer_breach_and_a_cli_leak():
    edges = {
        "scratchrun.experiments.executors.dask": {"scratchrun.experiments.executors.local"},
        "scratchrun.experiments.executors.local": {"scratchrun.experiments.executors.dask", "scratchrun.cli.display"},
        "scratchrun.records": {"scratchrun.records.reader"},  # a package and its module: no circle
        "scratchrun.records.reader": {"scratchrun.records", "scratchrun.errors"},
        "scratchrun.records.writer": {"scratchrun.training.trainer"},
        "scratchrun.optimizers": {"scratchrun.nn.optimizers", "scratchrun.cli.app"},  # exempt from layers
        "scratchrun.cli.app": {"scratchrun.training.trainer"},
    }
    assert circles(edges) == [["scratchrun.experiments.executors.dask", "scratchrun.experiments.executors.local"]]
    assert upward(edges) == [
        "scratchrun.experiments.executors.local (scratchrun.experiments) -> scratchrun.cli.display (scratchrun.cli)",
        "scratchrun.records.writer (scratchrun.records) -> scratchrun.training.trainer (scratchrun.training)"]
    imports = {**edges, "scratchrun.plots.run": {"rich.console", "matplotlib"}, "scratchrun.cli.runs": {"typer"},
               "scratchrun.__main__": {"scratchrun.cli.app"}}
    assert cli_leaks(imports) == ["scratchrun.experiments.executors.local imports scratchrun.cli.display",
                                  "scratchrun.optimizers imports scratchrun.cli.app",
                                  "scratchrun.plots.run imports rich.console"]


def test_no_cli_module_registers_commands_through_importlib():
    """Every command module is imported by name (cli/app.py), so a reader and an editor can follow a command."""
    found = [f"{path.relative_to(PACKAGE)}: {line.strip()}" for path in sorted((PACKAGE / "cli").rglob("*.py"))
             for line in path.read_text(encoding="utf-8").splitlines()
             if "importlib" in line or "import_module" in line or "__signature__" in line or "__wrapped__" in line]
    assert found == []


# the calls that read a file's content; a record is read only in records/reader.py
READ_CALLS = {"read_bounded", "read_text_bounded", "read_yaml_record", "np.load", "json.loads", "json.load",
              "read_text", "read_bytes", "yaml.safe_load"}
# besides the reader: the bounded readers themselves, the config loader, the datasets (data/, not records), a lock's
# holder (read from the lock's own open descriptor), Optuna's journal (text built in memory), files shipped in the
# package (the report's assets, the example configs, one `new` just wrote), the machine's memory limit (/sys) and a
# Dask worker's own temporary run folder, sent back whole
READERS = {"scratchrun.records.reader", "scratchrun.bounded_read", "scratchrun.config.bounded_yaml",
           "scratchrun.data.cache", "scratchrun.data.idx", "scratchrun.records.lock", "scratchrun.exports.optuna_study",
           "scratchrun.reporting.page", "scratchrun.config.starter", "scratchrun.cli.config",
           "scratchrun.training.footprint", "scratchrun.experiments.executors.dask"}


def reads(path: Path) -> list[str]:
    """The file-reading calls in a module, as `name`, `module.name` or `.method`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute):
            dotted = f"{func.value.id}.{func.attr}" if isinstance(func.value, ast.Name) else ""
            name = dotted if dotted in READ_CALLS else func.attr
        else:
            continue
        if name in READ_CALLS:
            found.append(f"{name} (line {node.lineno})")
    return sorted(found)


def test_the_records_reader_is_the_only_module_that_reads_a_record():
    elsewhere = {name: calls for name, path in modules().items() if name not in READERS and (calls := reads(path))}
    assert elsewhere == {}


def test_the_read_check_sees_a_record_read_outside_the_reader(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import json\nfrom scratchrun.bounded_read import read_text_bounded as r\n"
                      "def f(p):\n    return json.loads(read_text_bounded(p, 10)), p.read_text(), yaml.safe_load('')\n")
    assert reads(module) == ["json.loads (line 4)", "read_text (line 4)", "read_text_bounded (line 4)",
                             "yaml.safe_load (line 4)"]
