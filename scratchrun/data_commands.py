"""`scratchrun data status|fetch|verify`: where the datasets are, whether they verify, and fetching ahead of time (issue 6)."""

from __future__ import annotations
