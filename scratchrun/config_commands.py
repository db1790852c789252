"""`scratchrun config` and `scratchrun schema`: the resolved config with where each value came from, and a JSON Schema (issue 6)."""

from __future__ import annotations
