"""Naive Europe/London times -> naive UTC: the spring gap, the autumn overlap, formats."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.transforms.timestamps import (localise, parse_local, resolve_ambiguous,
                                            time_flag_text)

TZ = "Europe/London"


def _ts(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), format="ISO8601"), dtype="datetime64[ns]")


def _text(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype=object)


class TestParseLocal:
    def test_mapping_format(self):
        out = parse_local(_text("26/11/2026 09:15"), "%d/%m/%Y %H:%M")
        assert out.iloc[0] == pd.Timestamp("2026-11-26 09:15")

    def test_iso_with_t_accepted_whatever_the_format(self):
        out = parse_local(_text("2026-11-26T09:15:30", "2026-11-26T09:15", "2026-11-26 09:15:30.250"),
                          "%d/%m/%Y %H:%M")
        assert list(out) == [pd.Timestamp("2026-11-26 09:15:30"), pd.Timestamp("2026-11-26 09:15"),
                             pd.Timestamp("2026-11-26 09:15:30.250")]

    def test_blank_and_garbage_are_nat(self):
        out = parse_local(_text(None, "not a date", "2026-13-01 00:00:00", "31/02/2026 10:00"))
        assert out.isna().all()

    def test_values_with_an_offset_are_not_naive_local_time(self):
        assert parse_local(_text("2026-11-26T09:15:00+01:00", "2026-11-26T09:15:00Z")).isna().all()

    def test_day_first_format_is_not_read_month_first(self):
        assert parse_local(_text("03/04/2026 10:00"), "%d/%m/%Y %H:%M").iloc[0].month == 4


class TestLocalise:
    def test_winter_and_summer_offsets(self):
        t = localise(_ts("2026-01-15 12:00", "2026-07-15 12:00"), TZ)
        assert list(t.first) == [pd.Timestamp("2026-01-15 12:00"), pd.Timestamp("2026-07-15 11:00")]
        assert not t.gap.any() and not t.ambiguous.any()

    def test_spring_gap_is_shifted_forward_by_the_gap(self):
        # 01:30 on 29 March 2026 never happened: read as 02:30 BST = 01:30 UTC.
        t = localise(_ts("2026-03-29 01:30", "2026-03-29 00:59:59", "2026-03-29 02:00"), TZ)
        assert list(t.first) == [pd.Timestamp("2026-03-29 01:30"), pd.Timestamp("2026-03-29 00:59:59"),
                                 pd.Timestamp("2026-03-29 01:00")]
        assert list(t.gap) == [True, False, False]

    def test_autumn_overlap_has_two_readings(self):
        t = localise(_ts("2026-10-25 01:30", "2026-10-25 02:00"), TZ)
        assert t.first.iloc[0] == pd.Timestamp("2026-10-25 00:30")
        assert t.second.iloc[0] == pd.Timestamp("2026-10-25 01:30")
        assert list(t.ambiguous) == [True, False]
        assert t.first.iloc[1] == t.second.iloc[1] == pd.Timestamp("2026-10-25 02:00")

    def test_nat_stays_nat(self):
        t = localise(_ts(None), TZ)
        assert t.first.isna().all() and not t.gap.any() and not t.ambiguous.any()

    @settings(max_examples=60, deadline=None)
    @given(st.datetimes(min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
                        max_value=pd.Timestamp("2035-12-31").to_pydatetime()))
    def test_agrees_with_zoneinfo(self, when):
        """Property: the vectorised reading equals zoneinfo's (fold=0) for any time."""
        import datetime as dt
        from zoneinfo import ZoneInfo

        when = when.replace(microsecond=0)
        expected = when.replace(tzinfo=ZoneInfo(TZ)).astimezone(dt.timezone.utc).replace(tzinfo=None)
        assert localise(_ts(str(when)), TZ).first.iloc[0] == pd.Timestamp(expected)


class TestResolveAmbiguous:
    def test_closed_in_the_overlap_before_opened_is_the_second_occurrence(self):
        # opened 01:40 and closed 01:10 on the night clocks go back: only
        # opened = first (00:40Z), closed = second (01:10Z) keeps closed after opened.
        times = {"opened_at": localise(_ts("2026-10-25 01:40"), TZ),
                 "closed_at": localise(_ts("2026-10-25 01:10"), TZ)}
        utc, flagged = resolve_ambiguous(times, [("opened_at", "closed_at")])
        assert utc["opened_at"].iloc[0] == pd.Timestamp("2026-10-25 00:40")
        assert utc["closed_at"].iloc[0] == pd.Timestamp("2026-10-25 01:10")
        assert not flagged["opened_at"].any() and not flagged["closed_at"].any()

    def test_end_before_an_earlier_start_must_be_second(self):
        times = {"started_at": localise(_ts("2026-10-25 01:20"), TZ),
                 "ended_at": localise(_ts("2026-10-25 01:05"), TZ)}
        utc, flagged = resolve_ambiguous(times, [("started_at", "ended_at")])
        assert utc["ended_at"].iloc[0] == pd.Timestamp("2026-10-25 01:05")
        assert not flagged["ended_at"].any()

    def test_undecidable_takes_the_first_occurrence_and_is_flagged(self):
        times = {"event_at": localise(_ts("2026-10-25 01:30"), TZ)}
        utc, flagged = resolve_ambiguous(times, [])
        assert utc["event_at"].iloc[0] == pd.Timestamp("2026-10-25 00:30")
        assert flagged["event_at"].iloc[0]

    def test_neighbour_bound_from_an_earlier_version(self):
        # The previous version was updated at 01:20 GMT (01:20Z): this version's 01:30
        # cannot be 00:30Z, so it is the second occurrence.
        times = {"updated_at": localise(_ts("2026-10-25 01:30"), TZ)}
        low = _ts("2026-10-25 01:20")
        high = _ts(None)
        utc, flagged = resolve_ambiguous(times, [], {"updated_at": (low, high)})
        assert utc["updated_at"].iloc[0] == pd.Timestamp("2026-10-25 01:30")
        assert not flagged["updated_at"].any()

    def test_no_reading_fits_is_flagged_first_for_the_reject_rules(self):
        times = {"opened_at": localise(_ts("2026-10-25 03:00"), TZ),
                 "closed_at": localise(_ts("2026-10-25 01:30"), TZ)}
        utc, flagged = resolve_ambiguous(times, [("opened_at", "closed_at")])
        assert utc["closed_at"].iloc[0] == pd.Timestamp("2026-10-25 00:30")
        assert flagged["closed_at"].iloc[0]

    def test_pairs_naming_absent_columns_are_ignored(self):
        times = {"event_at": localise(_ts("2026-06-01 10:00"), TZ)}
        utc, flagged = resolve_ambiguous(times, [("opened_at", "event_at")])
        assert utc["event_at"].iloc[0] == pd.Timestamp("2026-06-01 09:00")


def test_time_flag_text_joins_in_order_and_leaves_none():
    idx = pd.RangeIndex(3)
    text = time_flag_text({"a:x": pd.Series([True, False, True]), "b:y": pd.Series([True, False, False]),
                           "c:z": pd.Series([False] * 3)}, idx)
    assert list(text) == ["a:x;b:y", None, "a:x"]


@pytest.mark.parametrize("tz", ["America/New_York", "Australia/Lord_Howe"])
def test_other_zones_shift_by_their_own_gap(tz):
    """Lord Howe's gap is 30 minutes: 'shifted by the gap' is not hard-coded as an hour."""
    day = {"America/New_York": "2026-03-08 02:30", "Australia/Lord_Howe": "2026-10-04 02:15"}[tz]
    t = localise(_ts(day), tz)
    assert t.gap.iloc[0]
    import datetime as dt
    from zoneinfo import ZoneInfo

    expected = pd.Timestamp(day).to_pydatetime().replace(tzinfo=ZoneInfo(tz)).astimezone(dt.timezone.utc)
    assert t.first.iloc[0] == pd.Timestamp(expected.replace(tzinfo=None))
