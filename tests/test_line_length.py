"""The line-length limit of pyproject.toml ([tool.ruff] line-length) holds in the folders below: ruff checks E501.

ruff is in the test extra, so the test never skips: without it, it fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[1]
CHECKED = ["scratchrun", "tests", "benchmarks"]  # folders, relative to the repository's top


def test_no_line_is_longer_than_the_limit():
    # --no-cache: no .ruff_cache left in the repository
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "E501",
                           "--output-format", "concise", *CHECKED], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, f"lines over the limit (wrap them by hand):\n{done.stdout}{done.stderr}"
