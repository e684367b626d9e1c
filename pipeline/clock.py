"""Run dates and as-of times: the only place that turns a local date into UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

LONDON = ZoneInfo("Europe/London")


def as_of_for(run_date: dt.date, tz: str = "Europe/London") -> pd.Timestamp:
    """End of ``run_date`` in local time, as naive UTC (nothing after it counts)."""
    end_local = dt.datetime.combine(run_date + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(tz))
    return pd.Timestamp(end_local.astimezone(dt.timezone.utc).replace(tzinfo=None)) - pd.Timedelta(microseconds=1)


def today_local(tz: str = "Europe/London") -> dt.date:
    """Today's date where the council is (the CLI's default run date)."""
    return dt.datetime.now(ZoneInfo(tz)).date()
