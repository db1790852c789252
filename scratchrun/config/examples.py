"""The example configs: `scratchrun train mnist` finds one by its name wherever it is run, when no file of that name
is there; `scratchrun new --from NAME` copies one.

They are kept once, in configs/ at the top of the repository; the wheel ships them inside the package as
scratchrun/example_configs/ (pyproject.toml maps the one folder onto the other).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parents[1] / "example_configs"  # an installed wheel
FOLDER = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "configs"  # a clone


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
