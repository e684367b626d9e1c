"""ISO week and calendar month of a UTC instant, as the council's calendar sees it.

Periods are local (Europe/London) because a contact at 00:30 BST on a Monday is, to
the council, Monday's demand, although it is still Sunday in UTC. Timestamps arrive
as naive UTC (docs/stages.md); only this module turns them into local dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PERIOD_TYPES = ("week", "month")
PERIOD_KEYS = ["service", "category", "period_type", "period"]


def local_dates(ts_utc: pd.Series, tz: str) -> pd.Series:
    """Local calendar date (a naive midnight timestamp) of each naive-UTC instant."""
    missing = ts_utc.isna()
    if missing.any():
        raise ValueError(f"column {ts_utc.name!r} is empty at row {missing.idxmax()!r} "
                         f"({int(missing.sum())} rows); every row needs a time to be put in a period")
    local = pd.to_datetime(ts_utc).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    return local.dt.normalize()


def period_labels(dates: pd.DatetimeIndex, period_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(label, first day as ``datetime.date``) of each local date: 'YYYY-Www' (ISO week,
    by ISO year, so 2027-01-01 is '2026-W53') or 'YYYY-MM'."""
    if period_type == "week":
        iso = dates.isocalendar()
        labels = [f"{y:04d}-W{w:02d}" for y, w in zip(iso["year"], iso["week"])]
        starts = dates - pd.to_timedelta(dates.dayofweek, unit="D")
    elif period_type == "month":
        labels = [f"{y:04d}-{m:02d}" for y, m in zip(dates.year, dates.month)]
        starts = dates - pd.to_timedelta(dates.day - 1, unit="D")
    else:
        raise ValueError(f"unknown period type {period_type!r}; expected one of {PERIOD_TYPES}")
    return np.asarray(labels, dtype=object), np.asarray(starts.date, dtype=object)


def with_periods(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """Each row once per period type, with ``period_type``, ``period`` and
    ``period_start`` of its local date in ``date_column``.

    Labels are computed once per distinct date (a year has a few hundred) and spread
    back by position, so a large frame costs one factorize, not a Python loop.
    """
    codes, uniques = pd.factorize(frame[date_column], sort=False)
    stacked = []
    for period_type in PERIOD_TYPES:
        labels, starts = period_labels(pd.DatetimeIndex(uniques), period_type)
        stacked.append(frame.assign(period_type=period_type, period=labels[codes], period_start=starts[codes]))
    return pd.concat(stacked, ignore_index=True)
