"""Naive local timestamps from council systems -> naive UTC, with DST made visible.

Council systems write wall-clock time in Europe/London without an offset, so twice a
year a value is either impossible (the spring gap) or happens twice (the autumn
overlap). These functions never guess silently: a gap time is shifted forward by the
gap and flagged, and an overlap time is settled by the record's own ordering where
that leaves only one possibility, else taken as the first occurrence and flagged.
All functions are vectorised; the only Python loop runs over the (rare) distinct gap
values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

DEFAULT_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
SPRING_GAP_SHIFTED = "spring_gap_shifted"
AMBIGUOUS_FIRST = "ambiguous_first"

# Offset-free ISO 8601 ("2026-11-26T10:00:00", "2026-11-26 10:00", fractions allowed):
# accepted whatever the mapping's format says, because typed sources (Parquet, SQL)
# arrive in this shape. Values with an offset are not naive local time: rejected.
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"


def parse_local(values: pd.Series, fmt: str = DEFAULT_TIMESTAMP_FORMAT) -> pd.Series:
    """Text -> naive ``datetime64[ns]`` by ``fmt``, falling back to offset-free ISO 8601.

    Blank (None) and unparsable values give NaT; callers tell them apart with
    ``values.notna() & result.isna()``.
    """
    text = values.astype(object).where(values.notna(), None)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    retry = parsed.isna() & text.notna()
    if retry.any():
        iso = text[retry]
        iso = iso[iso.str.match(_ISO_NAIVE)]
        if len(iso):
            parsed.loc[iso.index] = pd.to_datetime(iso, format="ISO8601", errors="coerce")
    return parsed.astype("datetime64[ns]")


@dataclass(frozen=True)
class LocalisedTimes:
    """The UTC readings of one column of naive local times.

    ``first``/``second`` are naive UTC and equal except in the autumn overlap, where
    ``first`` is the earlier (summer-time) occurrence. ``gap`` marks spring-gap times
    (shifted forward by the gap); ``ambiguous`` marks overlap times.
    """

    first: pd.Series
    second: pd.Series
    gap: pd.Series
    ambiguous: pd.Series


def _gap_to_utc(local: pd.Series, tz: str) -> pd.Series:
    """A wall time that never happened, read with the offset in force before the
    transition (PEP 495, fold=0): exactly "shifted forward by the gap"."""
    zone = ZoneInfo(tz)
    utc = {v: pd.Timestamp(v.to_pydatetime().replace(tzinfo=zone).astimezone(dt.timezone.utc)
                           .replace(tzinfo=None))
           for v in local.unique()}
    return local.map(utc).astype("datetime64[ns]")


def localise(local: pd.Series, tz: str) -> LocalisedTimes:
    """Both possible UTC readings of naive local times, with gap/overlap masks."""
    local = local.astype("datetime64[ns]")
    plain = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    first = plain.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    second = first.copy()
    gap = pd.Series(False, index=local.index)
    ambiguous = pd.Series(False, index=local.index)
    odd = local.notna() & plain.isna()
    if odd.any():
        sub = local[odd]
        n = len(sub)
        early = sub.dt.tz_localize(tz, ambiguous=np.ones(n, bool), nonexistent="NaT")
        late = sub.dt.tz_localize(tz, ambiguous=np.zeros(n, bool), nonexistent="NaT")
        in_gap = early.isna()
        ambiguous.loc[sub.index[~in_gap]] = True
        gap.loc[sub.index[in_gap]] = True
        amb_idx = sub.index[~in_gap]
        first.loc[amb_idx] = early[~in_gap].dt.tz_convert("UTC").dt.tz_localize(None)
        second.loc[amb_idx] = late[~in_gap].dt.tz_convert("UTC").dt.tz_localize(None)
        if in_gap.any():
            shifted = _gap_to_utc(sub[in_gap], tz)
            first.loc[shifted.index] = shifted
            second.loc[shifted.index] = shifted
    return LocalisedTimes(first, second, gap, ambiguous)


def _bound(series: Iterable[pd.Series], index: pd.Index, how: str) -> pd.Series:
    frames = list(series)
    if not frames:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    both = pd.concat(frames, axis=1)
    return (both.max(axis=1) if how == "max" else both.min(axis=1)).astype("datetime64[ns]")


def resolve_ambiguous(times: Mapping[str, LocalisedTimes], order: Iterable[tuple[str, str]],
                      neighbours: Mapping[str, tuple[pd.Series, pd.Series]] | None = None,
                      ) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Pick one UTC reading per value; return (utc per column, ambiguous_first mask per column).

    ``order`` lists (earlier, later) column pairs that must hold in every row (e.g.
    ``("opened_at", "closed_at")``). ``neighbours`` gives, per column, a lower and upper
    bound from outside the row (e.g. the ``updated_at`` of the previous and next
    version of the same record). An overlap value whose bounds admit exactly one of
    its two readings takes it unflagged; otherwise it takes the first occurrence and
    is flagged (including when neither reading fits: the reject rules then see it).
    """
    order = [(a, b) for a, b in order if a in times and b in times]
    neighbours = neighbours or {}
    utc: dict[str, pd.Series] = {}
    flagged: dict[str, pd.Series] = {}
    for col, t in times.items():
        if not t.ambiguous.any():
            utc[col], flagged[col] = t.first, t.ambiguous
            continue
        lows = [times[a].first for a, b in order if b == col]
        highs = [times[b].second for a, b in order if a == col]
        if col in neighbours:
            lows.append(neighbours[col][0])
            highs.append(neighbours[col][1])
        low, high = _bound(lows, t.first.index, "max"), _bound(highs, t.first.index, "min")

        def fits(v: pd.Series) -> pd.Series:
            return (low.isna() | (v >= low)) & (high.isna() | (v <= high))

        first_ok, second_ok = fits(t.first), fits(t.second)
        take_second = t.ambiguous & second_ok & ~first_ok
        utc[col] = t.first.where(~take_second, t.second)
        flagged[col] = t.ambiguous & ~(first_ok ^ second_ok)
    return utc, flagged


def time_flag_text(flags: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """Flag masks keyed ``"<column>:<flag>"`` -> one ``;``-separated text per row (None if none).

    Flags are rare, so only flagged rows are assembled."""
    out = np.full(len(index), None, dtype=object)
    active = {label: mask.to_numpy(dtype=bool) for label, mask in flags.items() if mask.any()}
    if active:
        flagged = np.logical_or.reduce(list(active.values()))
        text = pd.Series("", index=index[flagged], dtype=object)
        for label, mask in active.items():
            text = text.where(~mask[flagged], text + ";" + label)
        out[flagged] = text.str.lstrip(";").to_numpy()
    return pd.Series(out, index=index, dtype=object)
