"""Text, phones, emails, postcodes and code maps in one form across sources."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.transforms.normalise import (TEXT, _e164, lookup, map_values, normalise_email, normalise_phone,
                                           normalise_postcode, on_distinct, strip_text, text_lengths,
                                           to_object_text)


def _s(*values) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def _list(values: pd.Series) -> list:
    return to_object_text(values).tolist()


@pytest.mark.parametrize("dtype", [object, TEXT])
def test_strip_text_blank_is_null(dtype):
    values = pd.Series(["  a ", "", "   ", None, "\tb\n"], dtype=dtype)
    assert _list(strip_text(values)) == ["a", None, None, None, "b"]


def test_strip_text_keeps_index_and_gives_arrow_text():
    out = strip_text(pd.Series([" x"], index=[7], dtype=object, name="n"))
    assert out.index.tolist() == [7] and out.dtype == TEXT and out.name == "n"


def test_to_object_text_gives_str_or_none():
    out = to_object_text(pd.Series(["a", None], dtype=TEXT))
    assert out.dtype == object and out.tolist() == ["a", None]


def test_text_lengths_counts_characters_not_bytes():
    assert list(text_lengths(_s("Zoë", None, ""))) == [3, 0, 0]


def test_on_distinct_calls_once_per_distinct_value():
    calls = []

    def fn(distinct: pd.Series) -> pd.Series:
        calls.append(len(distinct))
        return distinct.str.upper()

    assert list(on_distinct(pd.Series(["a", "b", "a", None], dtype=TEXT), fn)) == ["A", "B", "A", None]
    assert calls == [2]


@pytest.mark.parametrize("raw, expected", [
    ("07700 900123", "+447700900123"),
    ("+44 7700 900123", "+447700900123"),
    ("0044 7700 900123", "+447700900123"),
    ("01632960123", "+441632960123"),
    ("(0113) 496 0000", "+441134960000"),
    ("+44 (0)113 496 0000", "+441134960000"),
    ("0113-496-0000", "+441134960000"),
    ("020 7946 0000 ext 12", "+442079460000"),
    ("withheld", None),
    ("Anonymous", None),
    ("12", None),
    ("not a number", None),
    (None, None),
])
def test_normalise_phone(raw, expected):
    assert normalise_phone(_s(raw)).iloc[0] == expected


def test_normalise_phone_same_number_same_form():
    out = normalise_phone(_s("07700 900123", "+447700900123", "07700-900-123"))
    assert out.nunique() == 1


@settings(max_examples=100, deadline=None)
@given(nsn=st.from_regex(r"[1-9][0-9]{9}", fullmatch=True),
       prefix=st.sampled_from(["0", "+44", "0044", "+44 ", "0 "]),
       sep=st.sampled_from(["", " ", "-", "."]))
def test_fast_path_agrees_with_libphonenumber(nsn, prefix, sep):
    """Property: the vectorised UK shortcut gives exactly what libphonenumber gives."""
    raw = prefix + nsn[:4] + sep + nsn[4:]
    assert normalise_phone(_s(raw)).iloc[0] == _e164(raw, "GB")


def test_normalise_email():
    assert list(normalise_email(_s(" Ann.Smith@EXAMPLE.org ", "", None))) == ["ann.smith@example.org", None, None]


@pytest.mark.parametrize("raw, expected", [
    ("ls61aa", "LS6 1AA"),
    ("LS6  1AA", "LS6 1AA"),
    (" sw1a1aa", "SW1A 1AA"),
    ("m1 1ae", "M1 1AE"),
    ("ec1a 1bb", "EC1A 1BB"),
    ("not a postcode", "NOT A POSTCODE"),
    ("LS6", "LS6"),
    ("", None),
    (None, None),
])
def test_normalise_postcode(raw, expected):
    assert normalise_postcode(_s(raw)).iloc[0] == expected


@pytest.mark.parametrize("dtype", [object, TEXT])
def test_map_values_maps_known_and_passes_unknown(dtype):
    out = map_values(pd.Series(["TEL", "WEB", "PIGEON", None], dtype=dtype), {"TEL": "phone", "WEB": "web"})
    assert _list(out) == ["phone", "web", "PIGEON", None]


def test_lookup_is_null_where_unknown():
    assert _list(lookup(_s("General", "Parking", None), {"General": "General Enquiries"})) == \
        ["General Enquiries", None, None]


def test_map_values_without_codes_is_identity():
    values = _s("a")
    assert map_values(values, {}) is values
