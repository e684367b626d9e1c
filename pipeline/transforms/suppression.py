"""Small-number suppression of published aggregates (journeys.md, "Privacy").

Three steps, each a rule from statistical disclosure control:

1. *Primary*: a count from 1 to ``threshold - 1`` is hidden; 0 stays 0 (an empty cell
   says nothing about anyone).
2. *Complementary*: where published numbers add up (``contacts = value + failure``,
   ``failure = sum of its types``, a total = the sum of its per-channel rows), a
   relation with exactly one hidden cell gives that cell back by subtraction. So
   while any relation has exactly one hidden cell, the smallest non-zero published
   part of it is hidden too; when every other part is 0 (so the total equals the
   hidden part, which was hidden as someone else's complement), the total is hidden
   instead. Hiding only ever adds cells, so the loop ends. This is the standard
   "no lone suppressed cell in any additive relation" rule, not a full
   linear-programming audit of protection intervals.
3. *Derived*: a rate, mean or percentile is hidden when any count it is computed
   from is hidden: its base (a mean of 3 journeys describes those 3), and for a
   share of two published counts also its numerator (``failure_share x contacts``
   would give a hidden ``failure_contacts`` back).

Hidden cells become NULL and their column names go, comma-separated in column order,
into the row's ``suppressed`` text column ('' when none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Additive:
    """``total`` equals the sum of ``parts`` in every row."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class SuppressionSpec:
    """Which columns of an aggregate are counts, which derive from them, and how they add up."""

    counts: tuple[str, ...]
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    additive: tuple[Additive, ...] = ()


def small_count_mask(frame: pd.DataFrame, counts: Sequence[str], threshold: int) -> pd.DataFrame:
    """Primary suppression: True where a count is from 1 to ``threshold - 1``."""
    values = frame[list(counts)].astype("Float64")
    return ((values >= 1) & (values < threshold)).fillna(False).astype(bool)  # NULL is not small


def protect_additive(frame: pd.DataFrame, hidden: pd.DataFrame, relations: Sequence[Additive]) -> pd.DataFrame:
    """One pass of complementary suppression within rows; returns the widened mask."""
    hidden = hidden.copy()
    for rel in relations:
        cells = [rel.total, *rel.parts]
        lone = hidden[cells].sum(axis=1).to_numpy() == 1
        if not lone.any():
            continue
        parts = frame.loc[lone, list(rel.parts)].to_numpy(dtype=float)
        open_parts = ~hidden.loc[lone, list(rel.parts)].to_numpy() & (parts > 0)
        candidates = np.where(open_parts, parts, np.inf)
        best = candidates.argmin(axis=1)
        has_part = np.isfinite(candidates.min(axis=1))
        rows = hidden.index[lone]
        for j, name in enumerate(rel.parts):
            hidden.loc[rows[has_part & (best == j)], name] = True
        hidden.loc[rows[~has_part], rel.total] = True
    return hidden


def protect_breakdown(totals: pd.DataFrame, totals_hidden: pd.DataFrame, parts: pd.DataFrame,
                      parts_hidden: pd.DataFrame, keys: Sequence[str],
                      columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One pass of complementary suppression across rows: each ``totals`` row's
    ``columns`` equal the sum of the ``parts`` rows with the same ``keys`` (e.g. demand
    by channel adds up to demand). Returns both widened masks."""
    totals_hidden, parts_hidden = totals_hidden.copy(), parts_hidden.copy()
    group = _group_positions(totals, parts, keys)
    n_groups = len(totals)
    for col in columns:
        hidden_parts = np.bincount(group, weights=parts_hidden[col].to_numpy(), minlength=n_groups)
        lone = (hidden_parts + totals_hidden[col].to_numpy()) == 1
        if not lone.any():
            continue
        values = parts[col].to_numpy(dtype=float)
        eligible = lone[group] & ~parts_hidden[col].to_numpy() & (values > 0)
        cand = pd.DataFrame({"group": group[eligible], "value": values[eligible]}, index=parts.index[eligible])
        smallest = cand.sort_values(["group", "value"], kind="stable").drop_duplicates("group")
        parts_hidden.loc[smallest.index, col] = True
        no_part = lone & ~np.isin(np.arange(n_groups), smallest["group"].to_numpy())
        totals_hidden.loc[totals.index[no_part], col] = True
    return totals_hidden, parts_hidden


def _group_positions(totals: pd.DataFrame, parts: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Position in ``totals`` of each ``parts`` row's key; every part needs its total."""
    pos = totals[list(keys)].reset_index(drop=True).reset_index(names="_pos")
    joined = parts[list(keys)].merge(pos, how="left", on=list(keys))
    missing = joined["_pos"].isna().to_numpy()
    if missing.any():
        first = parts.iloc[int(np.flatnonzero(missing)[0])][list(keys)].to_dict()
        raise ValueError(f"breakdown row with keys {first} has no total row to add up to")
    return joined["_pos"].to_numpy(dtype=np.int64)


def apply_suppression(frame: pd.DataFrame, spec: SuppressionSpec, hidden: pd.DataFrame) -> pd.DataFrame:
    """NULL the hidden counts, then every derived value that leans on a hidden count,
    and name them all in ``suppressed``."""
    hidden = hidden.copy()
    for name, deps in spec.derived.items():
        own = hidden[name] if name in hidden.columns else False  # a count may also derive
        hidden[name] = hidden[list(deps)].any(axis=1) | own
    out = frame.copy()
    for name in spec.counts:
        out[name] = out[name].astype("Int64").mask(hidden[name])
    for name in spec.derived:
        as_count = pd.api.types.is_integer_dtype(out[name].dtype)
        out[name] = out[name].astype("Int64" if as_count else float).mask(hidden[name])
    ordered = [c for c in frame.columns if c in hidden.columns]
    out[SUPPRESSED] = _names(hidden[ordered])
    return out


def _names(hidden: pd.DataFrame) -> pd.Series:
    """'a,b' from a row's True columns ('' when none), without a Python loop over rows."""
    text = pd.Series("", index=hidden.index, dtype=object)
    for name in hidden.columns:
        text = text + np.where(hidden[name].to_numpy(), name + ",", "")
    return text.str.rstrip(",").astype(object)


def suppress_small_numbers(frame: pd.DataFrame, spec: SuppressionSpec, threshold: int) -> pd.DataFrame:
    """Primary, complementary and derived suppression of one aggregate table."""
    hidden = small_count_mask(frame, spec.counts, threshold)
    while True:
        widened = protect_additive(frame, hidden, spec.additive)
        if widened.equals(hidden):
            break
        hidden = widened
    return apply_suppression(frame, spec, hidden)


def suppress_with_breakdown(totals: pd.DataFrame, totals_spec: SuppressionSpec, parts: pd.DataFrame,
                            parts_spec: SuppressionSpec, keys: Sequence[str], columns: Sequence[str],
                            threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress a table and its breakdown together, so that neither a row's own sums
    nor the breakdown's rows summed against their total give a hidden count back."""
    t_hidden = small_count_mask(totals, totals_spec.counts, threshold)
    p_hidden = small_count_mask(parts, parts_spec.counts, threshold)
    while True:
        t_new = protect_additive(totals, t_hidden, totals_spec.additive)
        p_new = protect_additive(parts, p_hidden, parts_spec.additive)
        t_new, p_new = protect_breakdown(totals, t_new, parts, p_new, keys, columns)
        if t_new.equals(t_hidden) and p_new.equals(p_hidden):
            break
        t_hidden, p_hidden = t_new, p_new
    return apply_suppression(totals, totals_spec, t_hidden), apply_suppression(parts, parts_spec, p_hidden)
