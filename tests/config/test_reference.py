"""The documented table of config keys (docs/config.md) is the one the declarations generate, and it names every key."""

from __future__ import annotations

from pathlib import Path

from scratchrun.config.reference import markdown_table
from scratchrun.config.schema import config_keys
from scratchrun.config.search import search_keys

PAGE = Path(__file__).resolve().parents[2] / "docs" / "config.md"
START, END = "<!-- config-keys:start -->\n", "<!-- config-keys:end -->"


def test_the_documented_table_of_keys_is_the_generated_one():
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, "docs/config.md needs the config-keys markers, once each"
    shipped = text[text.index(START) + len(START):text.index(END)]
    assert shipped == markdown_table(), "paste scratchrun.config.reference.markdown_table() between the markers"


def test_the_table_has_one_row_per_key_with_its_default_and_help():
    rows = [line.split(" | ") for line in markdown_table().splitlines()[2:]]
    keys = [row[0].removeprefix("| ").strip("`") for row in rows]
    assert keys == [*config_keys(), *(f"search.{key}" for key in search_keys())]
    by_key = dict(zip(keys, rows))
    assert by_key["model.hidden"][1] == "`[100, 100, 100, 100]`"
    assert by_key["optimizer.lr"][1] == "0.01 (sgd, momentum, nesterov, adagrad, rmsprop), 0.001 (adam)"
    assert by_key["search.space"][1] == "required" and by_key["search.prune.eta"][1] == "`3`"
    assert all(len(row) == 4 and row[2] and row[3].strip(" |") for row in rows)
