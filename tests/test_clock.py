"""As-of is the end of the run date in Europe/London, whatever the season."""

import datetime as dt

import pandas as pd

from pipeline.clock import as_of_for


def test_as_of_in_summer_time_is_an_hour_before_utc_midnight():
    assert as_of_for(dt.date(2026, 7, 1)) < pd.Timestamp("2026-07-01 23:00:00")
    assert as_of_for(dt.date(2026, 7, 1)) > pd.Timestamp("2026-07-01 22:59:59")


def test_as_of_in_winter_is_utc_midnight():
    assert as_of_for(dt.date(2026, 12, 1)) > pd.Timestamp("2026-12-01 23:59:59")
    assert as_of_for(dt.date(2026, 12, 1)) < pd.Timestamp("2026-12-02 00:00:00")


def test_as_of_on_clock_change_day():
    # 2026-10-25 is 25 hours long; its end is 2026-10-26 00:00 GMT.
    assert as_of_for(dt.date(2026, 10, 25)) < pd.Timestamp("2026-10-26 00:00:00")
    assert as_of_for(dt.date(2026, 10, 25)) > pd.Timestamp("2026-10-25 23:59:59")
