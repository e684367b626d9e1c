"""UTC instants and Europe/London wall clocks for the simulation.

The simulation lives in UTC epoch seconds (so it can never produce the local times
that do not exist in March) and only the extracts are written in local time, the way
council systems write them: an instant in the repeated hour of October becomes an
ambiguous ``01:xx`` exactly as a real system would write it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

LONDON = "Europe/London"
NULL_TIME = -1  # epoch seconds of a missing timestamp
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def epoch(moment: dt.datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


class Calendar:
    """Local days of the simulated window (and some slack after it) as UTC instants."""

    def __init__(self, first: dt.date, last: dt.date, tz: str = LONDON):
        zone = ZoneInfo(tz)
        self.first = first
        self.days = (last - first).days + 1
        self.midnights = [epoch(dt.datetime.combine(first + dt.timedelta(days=i), dt.time(0), tzinfo=zone))
                          for i in range(self.days + 1)]
        self.weekdays = [(first + dt.timedelta(days=i)).weekday() for i in range(self.days)]

    def day_start(self, day: int) -> int:
        """Local midnight of a day; past the calendar, whole days (only order matters there)."""
        if day <= self.days:
            return self.midnights[day]
        return self.midnights[-1] + (day - self.days) * 86400

    def day_of(self, t: int) -> int:
        """Local day index of an instant (may fall outside the calendar)."""
        if t < self.midnights[0]:
            return -1 - (self.midnights[0] - t) // 86400
        i = bisect_right(self.midnights, t) - 1
        return i if i < self.days else self.days + (t - self.midnights[-1]) // 86400

    def weekday(self, day: int) -> int:
        return self.weekdays[day] if 0 <= day < self.days else (self.first + dt.timedelta(days=day)).weekday()

    def clock_changes(self) -> list[int]:
        """Day indexes whose local length is not 24 hours."""
        return [i for i in range(self.days) if self.midnights[i + 1] - self.midnights[i] != 86400]


def local_text(ts: np.ndarray, tz: str = LONDON) -> np.ndarray:
    """Epoch seconds -> naive local 'YYYY-MM-DD HH:MM:SS' (empty string for NULL_TIME)."""
    ts = np.asarray(ts, dtype=np.int64)
    out = np.full(ts.shape, "", dtype=object)
    ok = ts != NULL_TIME
    if ok.any():
        local = pd.to_datetime(ts[ok], unit="s", utc=True).tz_convert(tz).tz_localize(None)
        out[ok] = pd.Series(local.values.astype("datetime64[s]").astype(str)).str.replace("T", " ", regex=False).to_numpy()
    return out


def utc_text(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS' in UTC (empty string for NULL_TIME)."""
    ts = np.asarray(ts, dtype=np.int64)
    out = np.full(ts.shape, "", dtype=object)
    ok = ts != NULL_TIME
    if ok.any():
        out[ok] = pd.Series(ts[ok].astype("datetime64[s]").astype(str)).str.replace("T", " ", regex=False).to_numpy()
    return out
