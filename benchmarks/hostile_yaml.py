"""How long `load_config` takes to refuse (or read) the hostile configs of issue 11, and the memory it uses doing so.

Run by hand, never in CI:

    PYTHONPATH=. python benchmarks/hostile_yaml.py

Writes each config into a temporary folder (or names a device; two cases add an override), loads it 5 times,
and prints the fastest wall time, the peak of Python's traced memory (NumPy arrays included) and the first
words of the sentence. The bounds are in `scratchrun/config/bounded_yaml.py`; the largest config that passes them
(1 MB at most, 10,000 nodes) is here too. tests/config/test_bounded_yaml.py bounds the work (nodes composed,
objects built, bytes read), not these seconds.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from scratchrun.config.loader import load_config
from scratchrun.errors import ConfigError


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


REPO = Path(__file__).resolve().parents[1]
SMALL = "name: x\n"
MANY_KEYS = "name: x\nnotes:\n" + "".join(f"  k{i}: {'v' * 190}\n" for i in range(4900))
CONFIGS = {  # name: the config's text or the path of a device, and overrides
    "billion laughs (10^9 strings)": (billion_laughs(), []),
    "10,000-deep flow mapping": ("{a: " * 10_000 + "1" + "}" * 10_000, []),
    "50 MB of comments": ("name: x\n" + ("#" * 99 + "\n") * 500_000, []),
    "1 MB, 4,900 keys (passes the bounds)": (MANY_KEYS, []),
    "the shipped mnist example": ((REPO / "configs/mnist.yaml").read_text(encoding="utf-8"), []),
    "/dev/zero": (Path("/dev/zero"), []),
    "billion laughs as an override":
        (SMALL, ["model.hidden={" + billion_laughs().replace("\n", ", ").rstrip(", ") + "}"]),
    "40-deep list as an override": (SMALL, ["model.hidden=" + "[" * 40 + "1" + "]" * 40]),
}


def main() -> None:
    print(f"{'config':<40} {'bytes':>11} {'fastest':>9} {'peak memory':>12}  outcome")
    with tempfile.TemporaryDirectory() as folder:
        for name, (text, overrides) in CONFIGS.items():
            path = text if isinstance(text, Path) else Path(folder) / "cfg.yaml"
            if not isinstance(text, Path):
                path.write_text(text, encoding="utf-8")
            times = []
            for _ in range(5):
                tracemalloc.start()
                start = time.perf_counter()
                try:
                    load_config(path, overrides)
                    outcome = "loaded"
                except ConfigError as e:
                    outcome = str(e).replace(str(Path(folder) / "cfg.yaml"), "cfg.yaml")[:70]
                times.append(time.perf_counter() - start)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            print(f"{name:<40} {path.stat().st_size:>11,} {min(times) * 1000:>7.1f}ms {peak / 1e6:>10.1f}MB  {outcome}")


if __name__ == "__main__":
    main()
