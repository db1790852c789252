"""The words every config error shares: how a bad value is shown, and the "did you mean" hint for a typo."""

from __future__ import annotations

import difflib
from typing import Any

import yaml


def flow(value: Any) -> str:
    """A value as one line of YAML, as a config file would write it."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def show(value: Any) -> str:
    """A value as an error shows it: one line of YAML in backticks, cut short when long."""
    text = flow(value)
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}...`"


def did_you_mean(key: str, options: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return f" (did you mean `{prefix}{close[0]}`?)" if close else ""
