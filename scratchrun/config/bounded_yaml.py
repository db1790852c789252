"""YAML from a file or a command line, within bounds, so a hostile config costs milliseconds and one sentence.

A config is a few dozen lines. What YAML allows beyond that is refused before anything is built from it: a file
over MAX_BYTES, nesting deeper than MAX_DEPTH (a 10,000-deep `{a: {a: ...}}` would otherwise end in a
RecursionError), and more than MAX_NODES nodes once every alias is expanded (a "billion laughs" file is a few
hundred bytes whose aliases name lists of aliases: 10⁹ strings to anyone who walks or copies it). The composer
below counts an alias as the size of the node it names, so such a file is refused without being expanded, and a
recursive alias (`&a [*a]`) is refused outright. The text is parsed once (by libyaml when PyYAML has it): the
node graph gives both the data and each key's line. A FIFO, a device such as /dev/zero or a socket is never
opened for reading: only a regular file is a config.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from scratchrun.bounded_read import Unreadable, read_bounded, read_text_bounded
from scratchrun.errors import ConfigError
from scratchrun.text import size_text

MAX_BYTES = 1_000_000  # 1 MB: a config is a few kB
MAX_DEPTH = 32  # nested mappings and lists; a config needs 5 (search.space.KEY.{kind: [low, high]})
MAX_NODES = 10_000  # keys and values, every alias expanded; a config has a few dozen


def read_config_text(path: Path) -> str:
    """The text of the config file at `path`: a regular file of at most MAX_BYTES of UTF-8, else one sentence."""
    from scratchrun.config.examples import example_names

    hint = (f"give the path of a YAML config, or the name of a shipped example ({', '.join(example_names())}); "
            "`scratchrun new FILE` writes a starter config")
    if os.path.isdir(path):
        raise ConfigError(f"Config file {path} is a folder, not a file: {hint}.")
    try:
        data = read_bounded(path, MAX_BYTES, follow_links=True)  # the user named it: a link to a config is fine
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist: {hint}.") from None
    except Unreadable as e:
        if e.kind == "special":  # reading a FIFO blocks, /dev/zero never ends: neither is opened to read
            raise ConfigError(f"Config file {path} is {e.reason.removeprefix('it is ')}: {hint} (save a generated "
                              "config to a file first).") from None
        if e.kind == "too large":
            raise ConfigError(f"Config file {path} is {size_text(e.size)}, over the {size_text(MAX_BYTES)} a config "
                              "may be: a config is a few dozen lines; check that this is the file you meant.") from None
        raise ConfigError(f"Config file {path} cannot be read ({e.reason}): {hint}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"Config file {path} is not UTF-8 text (byte {e.start} is {data[e.start]:#04x}): save it "
                          "as UTF-8.") from None


def read_yaml_record(path: Path) -> Any:
    """The data of a YAML record a run, study or search folder holds (config.yaml, study.yaml, search.yaml), read
    as a config is: a regular file (never through a link) of at most MAX_BYTES, parsed within the same bounds.
    FileNotFoundError when it is missing; `Unreadable`, ConfigError or yaml.YAMLError when it cannot be read."""
    data, _ = parse_bounded(read_text_bounded(path, MAX_BYTES), str(path))
    return data


def parse_bounded(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """One YAML document as data, and its node graph (None when empty); bounds refused as a `ConfigError` naming
    `source`, a syntax error raised as PyYAML's `yaml.YAMLError` for the caller to word."""
    if len(text) > MAX_BYTES:  # characters: at least as many bytes
        raise ConfigError(f"{source} is {size_text(len(text.encode('utf-8')))}, over the {size_text(MAX_BYTES)} a "
                          "config may be.")
    loader = _BoundedLoader(text, source)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


class _BoundedComposer(Composer):
    """PyYAML's composer, counting depth and expanded nodes as it goes, so it stops at the first bound crossed."""

    def compose_document(self):
        self._depth, self._nodes, self._sizes = 0, 0, {}  # _sizes: id(node) -> its size with aliases expanded
        return super().compose_document()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)  # an undefined alias: PyYAML's own error, below
            if target is not None:
                if id(target) not in self._sizes:  # still being composed: the alias is inside what it names
                    raise self._refuse(event, f"the alias *{event.anchor} is inside the node it names, so it never "
                                              "ends; a config cannot refer to itself")
                self._count(self._sizes[id(target)], event)
            return super().compose_node(parent, index)
        collection = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        self._depth += collection
        if self._depth > MAX_DEPTH:
            raise self._refuse(event, f"the YAML nests deeper than {MAX_DEPTH} levels of mappings and lists; a "
                                      "config needs at most 5")
        before = self._nodes
        node = super().compose_node(parent, index)
        self._depth -= collection
        self._count(1, event)
        self._sizes[id(node)] = self._nodes - before
        return node

    def _count(self, nodes: int, event) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise self._refuse(event, f"the YAML has more than {MAX_NODES:,} keys and values once its aliases (*name) "
                                      "are expanded; a config has a few dozen")

    def _refuse(self, event, problem: str) -> ConfigError:
        mark = event.start_mark
        return ConfigError(f"{self._source}, line {mark.line + 1}, column {mark.column + 1}: {problem}.")


class _ReadableConstructor(SafeConstructor):
    """SafeConstructor whose bad values (an integer of 5,000 digits, the 45th of a month) are YAML errors that
    point at the value, not a ValueError from deep inside PyYAML."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as e:
            kind, reason, value = node.tag.rpartition(":")[2], str(e).split(":")[0], str(node.value)
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise ConstructorError(None, None, f"the {kind} `{shown}` cannot be read ({reason})",
                                   node.start_mark) from None


try:  # libyaml parses a MB in milliseconds; the pure-Python parser gives the same events, a little slower
    from yaml._yaml import CParser as _Parser

    def _init_parser(loader, text: str) -> None:
        _Parser.__init__(loader, text)

    _PARSER_BASES: tuple[type, ...] = (_Parser,)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    def _init_parser(loader, text: str) -> None:
        Reader.__init__(loader, text)
        Scanner.__init__(loader)
        Parser.__init__(loader)

    _PARSER_BASES = (Reader, Scanner, Parser)


class _BoundedLoader(_BoundedComposer, *_PARSER_BASES, _ReadableConstructor, Resolver):
    """yaml.SafeLoader, with the composer above (it comes first, so it replaces libyaml's own)."""

    def __init__(self, text: str, source: str) -> None:
        _init_parser(self, text)
        _BoundedComposer.__init__(self)
        _ReadableConstructor.__init__(self)
        Resolver.__init__(self)
        self._source = source


# YAML 1.1 (PyYAML) reads `1e-3` as text: its floats need a dot (`1.0e-3`). People write learning rates as 1e-3, and
# YAML 1.2 reads that as a number, so this loader does too: an exponent without a dot makes a float.
_BoundedLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
                                     list("-+0123456789"))
