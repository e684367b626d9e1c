"""ISO week / month bucketing of UTC instants in Europe/London."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.transforms.periods import local_dates, period_labels, with_periods

TZ = "Europe/London"


def _periods(*utc: str) -> pd.DataFrame:
    """Week and month rows of each naive-UTC instant, in input order."""
    frame = pd.DataFrame({"at": pd.to_datetime(list(utc))})
    return with_periods(frame.assign(date=local_dates(frame["at"], TZ)), "date")


def _one(period_type: str, utc: str) -> tuple[str, dt.date]:
    row = _periods(utc).query("period_type == @period_type").iloc[0]
    return row["period"], row["period_start"]


def test_iso_week_belongs_to_iso_year_at_the_year_boundary():
    assert _one("week", "2026-12-31 12:00") == ("2026-W53", dt.date(2026, 12, 28))
    assert _one("week", "2027-01-01 12:00") == ("2026-W53", dt.date(2026, 12, 28))
    assert _one("week", "2027-01-04 00:00") == ("2027-W01", dt.date(2027, 1, 4))


def test_month_is_calendar_month_even_when_the_iso_week_is_last_years():
    assert _one("month", "2027-01-01 12:00") == ("2027-01", dt.date(2027, 1, 1))
    assert _one("month", "2026-12-31 23:59") == ("2026-12", dt.date(2026, 12, 1))


def test_bucketing_uses_the_local_date_in_summer_time():
    # 23:30 UTC on 30 June is 00:30 BST on Wednesday 1 July.
    assert _one("month", "2026-06-30 23:30") == ("2026-07", dt.date(2026, 7, 1))
    assert _one("week", "2026-06-30 23:30") == ("2026-W27", dt.date(2026, 6, 29))


def test_week_across_the_october_clock_change():
    # 2026-W43 runs Monday 19 to Sunday 25 October; clocks go back at 02:00 BST on the 25th.
    got = _periods(
        "2026-10-18 22:59",  # Sunday 23:59 BST: still week 42
        "2026-10-18 23:30",  # Monday 00:30 BST: week 43, although Sunday in UTC
        "2026-10-25 00:30",  # 01:30 BST, the first 01:30
        "2026-10-25 01:30",  # 01:30 GMT, the second 01:30
        "2026-10-25 23:59",  # Sunday 23:59 GMT: still week 43
        "2026-10-26 00:00",  # Monday 00:00 GMT: week 44
    ).query("period_type == 'week'")
    assert got["period"].tolist() == ["2026-W42", "2026-W43", "2026-W43", "2026-W43", "2026-W43", "2026-W44"]
    assert set(got["period_start"].iloc[1:5]) == {dt.date(2026, 10, 19)}


def test_month_across_the_october_clock_change():
    got = _periods("2026-09-30 23:30", "2026-10-31 23:30").query("period_type == 'month'")
    # 00:30 BST on 1 October is October; 23:30 GMT on 31 October is still October.
    assert got["period"].tolist() == ["2026-10", "2026-10"]


def test_every_row_appears_once_per_period_type():
    got = _periods("2026-03-01 10:00", "2026-03-02 10:00", "2026-03-01 11:00")
    assert len(got) == 6
    assert got["period_type"].value_counts().to_dict() == {"week": 3, "month": 3}


def test_empty_frame_gives_empty_periods():
    got = _periods()
    assert got.empty and {"period_type", "period", "period_start"} <= set(got.columns)


def test_missing_timestamp_is_an_error_naming_column_and_row():
    ts = pd.Series(pd.to_datetime(["2026-01-01", None]), name="ended_at")
    with pytest.raises(ValueError, match=r"'ended_at' is empty at row 1"):
        local_dates(ts, TZ)


def test_unknown_period_type_is_an_error():
    with pytest.raises(ValueError, match="unknown period type 'quarter'"):
        period_labels(pd.DatetimeIndex(["2026-01-01"]), "quarter")
