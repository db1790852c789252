"""What verifying the decoded MNIST copy costs each time a run opens it (issue 11 asks for under 0.2 s).

Run by hand, never in CI:

    SCRATCHRUN_DATA_DIR=../shared/data python benchmarks/cache_verify.py [--dataset mnist] [--repeats 7]

Builds the decoded copy in a temporary cache, then prints min and median of the repeats for: opening it with the
manifest, size and header checks only (what `data status` does), opening it with every array's SHA-256 checked
(what every run and worker does) with the pages in the page cache and, when the kernel lets us drop them
(posix_fadvise), read from disk; decoding and verifying the IDX files instead (what the copy saves); and writing
the copy (arrays and manifest, fsynced).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_S = 0.2


def timed(work, repeats: int, before=None) -> tuple[float, float]:
    """Min and median seconds of `work()` over the repeats; `before()` runs untimed ahead of each."""
    seconds = []
    for _ in range(repeats):
        if before is not None:
            before()
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def drop_pages(folder: Path) -> bool:
    """Ask the kernel to forget the copy's cached pages, so the next read comes from disk; False if it cannot."""
    if not hasattr(os, "posix_fadvise"):
        return False
    gc.collect()  # close any map of the files, or their pages stay resident
    for path in folder.glob("*.npy"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--repeats", type=int, default=7, help="timings per measurement")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from scratchrun.data.cache import decoded_dir, open_decoded, save_decoded
    from scratchrun.data.registry import DATASETS, load_raw

    spec = DATASETS[args.dataset]
    with tempfile.TemporaryDirectory(prefix="scratchrun-cache-bench-") as tmp:
        cache = Path(tmp)
        raw = load_raw(args.dataset, cache_dir=cache, allow_download=False, use_decoded=False)
        arrays = {role: getattr(raw, role) for role in spec.files}
        folder = decoded_dir(cache / spec.name, spec)
        size = sum(array.nbytes for array in arrays.values())

        def opened(full: bool):
            def work():
                copy = open_decoded(folder, spec, full=full)
                assert copy.state == "ok", copy.problem
            return work

        rows = [
            ("write the copy (4 arrays + manifest, fsynced)",
             timed(lambda: save_decoded(folder, arrays), args.repeats)),
            ("open: manifest, sizes, headers (data status)", timed(opened(False), args.repeats)),
            ("open + SHA-256 of every array, pages cached", timed(opened(True), args.repeats)),
        ]
        if drop_pages(folder):
            rows.append(("open + SHA-256 of every array, pages dropped",
                         timed(opened(True), args.repeats, before=lambda: drop_pages(folder))))
        rows.append(("decode + verify the IDX files instead",
                     timed(lambda: load_raw(args.dataset, cache_dir=cache, allow_download=False, use_decoded=False),
                           args.repeats)))
    print(f"{args.dataset}: {size / 1e6:.1f} MB of arrays, {args.repeats} repeats, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPU(s)")
    for label, (best, median) in rows:
        print(f"  {label:<48} min {best * 1e3:7.1f} ms   median {median * 1e3:7.1f} ms")
    verify = dict(rows)["open + SHA-256 of every array, pages cached"][1]
    print(f"  hashing speed {size / 1e6 / verify:.0f} MB/s; verified open {'under' if verify < LIMIT_S else 'OVER'} "
          f"the {LIMIT_S * 1e3:.0f} ms budget")


if __name__ == "__main__":
    main()
