"""What counts as a number (scratchrun/numbers.py): the one test every reader and writer of values shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchrun.numbers import finite_or_none, is_finite, is_number


@pytest.mark.parametrize("value", [0, -3, 2.5, 1e-300, np.float64(0.25)])
def test_finite_numbers_are_kept_as_they_are(value):
    assert is_number(value) and is_finite(value)
    kept = finite_or_none(value)
    assert kept == value and type(kept) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float64("-inf")])
def test_a_number_that_is_not_finite_is_a_number_but_becomes_none(value):
    assert is_number(value)
    assert not is_finite(value)
    assert finite_or_none(value) is None


@pytest.mark.parametrize("value", [True, False, None, "1", "nan", [1.0], {"a": 1}])
def test_bools_text_and_none_are_no_numbers(value):
    assert not is_number(value)
    assert not is_finite(value)
    assert finite_or_none(value) is None
