"""The example configs are kept once, in configs/ at the top of the repository, and found there by name."""

from __future__ import annotations

from pathlib import Path

from scratchrun.config import examples

REPO = Path(__file__).resolve().parents[2]


def test_the_examples_live_in_configs_at_the_top_of_the_repository_only():
    assert sorted(p.name for p in (REPO / "configs").iterdir()) == [
        "best-mlp.yaml", "book-search.yaml", "mnist.yaml", "scratchrun.schema.json"]
    assert not (REPO / "scratchrun" / "example_configs").exists()  # the wheel makes it; git holds one copy
    assert examples.FOLDER == REPO / "configs"
    assert examples.example_path("mnist") == REPO / "configs" / "mnist.yaml"
    assert 'package-dir = { "scratchrun.example_configs" = "configs" }' in (REPO / "pyproject.toml").read_text()
