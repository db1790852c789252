"""Independent random streams derived from the one run seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    """One generator per source of randomness, so that turning dropout on does not change the initial weights."""

    split: np.random.Generator
    init: np.random.Generator
    batches: np.random.Generator
    dropout: np.random.Generator


def streams(seed: int) -> Streams:
    """Spawn the four streams from `SeedSequence(seed)`; the same seed always gives the same streams."""
    split, init, batches, dropout = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    return Streams(split=split, init=init, batches=batches, dropout=dropout)
