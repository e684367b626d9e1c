"""Normalising text values so the same fact looks the same in every source.

Identity stitching and call attribution compare phones, emails and postcodes across
systems, so they must be in one form before anyone compares them.

Inside staging, text is held as Arrow strings (``pd.ArrowDtype(pa.string())``): a
night's extract is millions of short strings, and as Python objects they cost several
times the memory and every trim or lookup a Python-level loop. Functions here accept
object or Arrow text; ``to_object_text`` gives the str/None form the other stages use.
Contact fields are normalised once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pd.ArrowDtype(pa.string())
# Caller-id placeholders that mean "no number", compared case-insensitively.
HIDDEN_NUMBERS = frozenset({"withheld", "anonymous", "unavailable", "private", "unknown"})
_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
_UK_COMMON = r"^(?:\+44|0044|0)([1-9]\d{9})$"


def arrow_text(values: pd.Series) -> pa.Array:
    """The values as an Arrow string array (zero-copy when already Arrow text)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        arr = pa.array(values.array)
        return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())
    obj = values.astype(object).where(values.notna(), None).to_numpy()
    return pa.array(obj, type=pa.string(), from_pandas=True)


def text_series(arr: pa.Array, like: pd.Series) -> pd.Series:
    """An Arrow string array as a Series with ``like``'s index and name."""
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=like.index, name=like.name)


def to_object_text(values: pd.Series) -> pd.Series:
    """Text as the object dtype of str/None that frames between stages use."""
    if isinstance(values.dtype, pd.ArrowDtype):
        return pd.Series(values.to_numpy(dtype=object, na_value=None), index=values.index, name=values.name)
    return values.astype(object).where(values.notna(), None)


def strip_text(values: pd.Series) -> pd.Series:
    """Surrounding whitespace removed; blank -> null (Arrow text)."""
    arr = pc.utf8_trim_whitespace(arrow_text(values))
    return text_series(pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr), values)


def text_lengths(values: pd.Series) -> pd.Series:
    """Characters per value (0 for null)."""
    lengths = pc.fill_null(pc.utf8_length(arrow_text(values)), 0)
    return pd.Series(lengths.to_numpy(zero_copy_only=False), index=values.index)


def _lookup(arr: pa.Array, table: Mapping[str, str]) -> pa.Array:
    position = pc.index_in(arr, value_set=pa.array(list(table), type=pa.string()))
    return pc.take(pa.array(list(table.values()), type=pa.string()), position)


def lookup(values: pd.Series, table: Mapping[str, str]) -> pd.Series:
    """Each value's entry in ``table``; null where it has none (Arrow text)."""
    return text_series(_lookup(arrow_text(values), table), values)


def map_values(values: pd.Series, codes: Mapping[str, str]) -> pd.Series:
    """A council's codes -> canonical codes; values not in ``codes`` pass through
    unchanged (the allowed-set check reports them)."""
    if not codes:
        return values
    arr = arrow_text(values)
    return text_series(pc.coalesce(_lookup(arr, codes), arr), values)


def on_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``fn`` once per distinct non-null value (as object text) and spread the
    results back: contact fields repeat a lot (a household calls many times)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
    done = fn(distinct).to_numpy(dtype=object) if len(distinct) else np.array([], dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = codes >= 0
    out[present] = done[codes[present]]
    return pd.Series(out, index=values.index, dtype=object, name=values.name)


def _e164(raw: str, region: str) -> str | None:
    if raw.lower() in HIDDEN_NUMBERS:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # "possible" rather than "valid": Ofcom's drama ranges (07700 900xxx) used in
    # synthetic data are possible but not valid, and real new ranges lag the metadata.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phones(distinct: pd.Series, region: str) -> pd.Series:
    out = pd.Series(None, index=distinct.index, dtype=object)
    rest = distinct
    if region == "GB" and len(rest):
        nsn = rest.str.replace(r"[\s.\-]", "", regex=True).str.extract(_UK_COMMON, expand=False)
        quick = nsn.notna()
        out.loc[nsn.index[quick]] = "+44" + nsn[quick]
        rest = rest[~quick]
    if len(rest):
        out.loc[rest.index] = [_e164(v, region) for v in rest]
    return out


def normalise_phone(values: pd.Series, region: str = "GB") -> pd.Series:
    """UK numbers in any format -> E.164 (``+447700900123``); hidden or unparsable -> None.

    The common UK shapes (``0``, ``+44`` or ``0044`` then a ten-digit national number,
    with spaces, dashes or dots) are converted vectorised, as libphonenumber would
    (a property test holds them equal); every other distinct value goes through
    libphonenumber once.
    """
    return on_distinct(values, lambda distinct: _phones(distinct, region))


def normalise_email(values: pd.Series) -> pd.Series:
    """Lower-cased and stripped (mail domains are case-insensitive; local parts in
    practice too)."""
    def lower(distinct: pd.Series) -> pd.Series:
        out = distinct.str.strip().str.lower()
        return out.where(out != "", None)

    return on_distinct(values, lower)


def normalise_postcode(values: pd.Series) -> pd.Series:
    """``ls61aa`` -> ``LS6 1AA``; a value not shaped like a UK postcode is kept as given,
    upper-cased, so nothing is lost."""
    def tidy(distinct: pd.Series) -> pd.Series:
        upper = distinct.str.strip().str.upper()
        compact = upper.str.replace(r"\s+", "", regex=True)
        shaped = compact.str.match(_POSTCODE).astype(bool)
        out = upper.where(~shaped, compact.str[:-3] + " " + compact.str[-3:])
        return out.where(out != "", None)

    return on_distinct(values, tidy)
