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
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from scratchrun.errors import ConfigError

MAX_BYTES = 1_000_000  # 1 MB: a config is a few kB
MAX_DEPTH = 32  # nested mappings and lists; a config needs 5 (search.space.KEY.{kind: [low, high]})
MAX_NODES = 10_000  # keys and values, every alias expanded; a config has a few dozen

_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_config_text(path: Path) -> str:
    """The text of the config file at `path`: a regular file of at most MAX_BYTES of UTF-8, else one sentence."""
    from scratchrun.config.examples import example_names

    hint = (f"give the path of a YAML config, or the name of a shipped example ({', '.join(example_names())}); "
            "`scratchrun new FILE` writes a starter config")
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"Config file {path} does not exist: {hint}.") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise ConfigError(f"Config file {path} cannot be read ({getattr(e, 'strerror', None) or e}): {hint}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"Config file {path} is a folder, not a file: {hint}.")
    if not stat.S_ISREG(info.st_mode):  # reading a FIFO blocks, /dev/zero never ends: neither is opened to read
        what = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
        raise ConfigError(f"Config file {path} is {what}, not a regular file: {hint} (save a generated config to a "
                          "file first).")
    try:
        # non-blocking and checked again once open: the path may have been swapped for a FIFO since the stat
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ConfigError(f"Config file {path} is not a regular file: {hint}.")
            data = file.read(MAX_BYTES + 1)  # never more: a file that grows while read is cut here
    except OSError as e:
        raise ConfigError(f"Config file {path} cannot be read ({e.strerror or e}): {hint}.") from None
    if len(data) > MAX_BYTES:
        size = max(info.st_size, len(data))
        raise ConfigError(f"Config file {path} is {_megabytes(size)}, over the {_megabytes(MAX_BYTES)} a config may be: "
                          "a config is a few dozen lines; check that this is the file you meant.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"Config file {path} is not UTF-8 text (byte {e.start} is {data[e.start]:#04x}): save it "
                          "as UTF-8.") from None


def parse_bounded(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """One YAML document as data, and its node graph (None when empty); bounds refused as a `ConfigError` naming
    `source`, a syntax error raised as PyYAML's `yaml.YAMLError` for the caller to word."""
    if len(text) > MAX_BYTES:  # characters: at least as many bytes
        raise ConfigError(f"{source} is {_megabytes(len(text.encode('utf-8')))}, over the {_megabytes(MAX_BYTES)} a "
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


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.3g} MB"
