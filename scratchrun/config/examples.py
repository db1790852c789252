"""The example configs that ship inside the package (scratchrun/example_configs/): `scratchrun train mnist` finds
one by its name wherever it is run, when no file of that name is there; `scratchrun new --from NAME` copies one.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "example_configs"
SCHEMA = FOLDER / "scratchrun.schema.json"


def example_names() -> list[str]:
    """The shipped examples' names, e.g. ["best-mlp", "book-search", "mnist"]."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def example_path(name: str) -> Path | None:
    """The shipped example called `name` (with or without .yaml), or None."""
    stem = name.removesuffix(".yaml")
    return FOLDER / f"{stem}.yaml" if "/" not in name and stem in example_names() else None


def config_path(path: Path) -> Path:
    """`path` itself when it exists (or names no example); else the shipped example of that name."""
    try:
        if path.exists():
            return path
    except OSError:  # a name too long for any file system: the reader says so in a sentence
        return path
    return example_path(str(path)) or path
