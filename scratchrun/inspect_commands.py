"""`scratchrun show` and `scratchrun reproduce`: one run looked at closely, or run again and checked (issue 6)."""

from __future__ import annotations
