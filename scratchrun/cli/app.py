"""The `scratchrun` command line: the Typer app with every command group registered on it.

Exit codes: 0 completed; 1 data, I/O or internal error; 2 bad config, override or option;
3 diverged (non-finite loss); 130 interrupted by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import importlib
import sys

from scratchrun.cli.common import app, console, out  # noqa: F401 - what tests and `python -m scratchrun` use

# each group's module registers its commands on `app` (importing heavy dependencies only inside them); this order
# is the order of the panels in `scratchrun --help`
COMMAND_GROUPS = ("train", "studies", "search", "runs", "inspect", "report", "export", "annotate", "trash", "config", "data")
for _group in COMMAND_GROUPS:
    importlib.import_module(f"scratchrun.cli.{_group}")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(run())
