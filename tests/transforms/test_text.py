"""Whole-column string functions: Arrow for ASCII, Python for the rest, one answer."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.transforms.text import squeeze_upper, strip

# ASCII whitespace Python knows and RE2 does not (\v, \x1c-\x1f), Unicode spaces, and
# letters whose upper case differs by rule (German sharp s, accented e).
VALUES = ["c1", " C 1 ", "c\t1\n", "c\x0b1", "\x1cc1\x1f", "c\u00a01", "c\u20031 ", "stra\u00dfe 1",
          "\u00e9t\u00e91", "", "  ", None]


@pytest.mark.parametrize("value", VALUES)
def test_squeeze_upper_is_pythons_split_join_upper(value):
    got = squeeze_upper(pd.Series([value, "x y"], dtype=object)).tolist()
    assert got == [None if value is None else "".join(value.split()).upper(), "XY"]


@pytest.mark.parametrize("value", VALUES)
def test_strip_is_pythons_strip(value):
    got = strip(pd.Series([value, " x "], dtype=object)).tolist()
    assert got == [None if value is None else value.strip(), "x"]


def test_the_index_is_kept():
    assert strip(pd.Series([" a", None], index=[7, 3], dtype=object)).to_dict() == {7: "a", 3: None}
