"""`scratchrun runs` and `scratchrun compare`: list, filter and compare run folders (issue 6)."""

from __future__ import annotations
