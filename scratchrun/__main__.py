"""`python -m scratchrun` is the same as the `scratchrun` command."""

from scratchrun.cli.app import run

run()
