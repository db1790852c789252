"""The `scratchrun` command line: the Typer app with every command group registered on it.

Exit codes: 0 completed; 1 data, I/O or internal error; 2 bad config, override or option;
3 diverged (non-finite loss); 130 interrupted by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import sys

# isort: skip_file
# each group's module registers its commands on `app` (importing heavy dependencies only inside them); this order
# is the order of the panels in `scratchrun --help`
from scratchrun.cli import train  # noqa: F401 (each registers its commands)
from scratchrun.cli import studies  # noqa: F401
from scratchrun.cli import search  # noqa: F401
from scratchrun.cli import runs  # noqa: F401
from scratchrun.cli import inspect  # noqa: F401
from scratchrun.cli import report  # noqa: F401
from scratchrun.cli import export  # noqa: F401
from scratchrun.cli import annotate  # noqa: F401
from scratchrun.cli import trash  # noqa: F401
from scratchrun.cli import config  # noqa: F401
from scratchrun.cli import data  # noqa: F401
from scratchrun.cli.common import app, console, out  # noqa: F401 - what tests and `python -m scratchrun` use


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(run())
