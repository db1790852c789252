"""`python -m scratchrun` is the same as the `scratchrun` command."""

from .cli import run

run()
