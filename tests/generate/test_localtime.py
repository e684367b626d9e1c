"""Local wall clocks around the clock changes, and a year-long council that has both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.generate import generate_council
from pipeline.generate.localtime import NULL_TIME, Calendar, epoch, local_text, utc_text

UTC = dt.timezone.utc


def test_the_calendar_knows_the_2026_clock_changes():
    cal = Calendar(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert [cal.first + dt.timedelta(days=i) for i in cal.clock_changes()] == [dt.date(2026, 3, 29), dt.date(2026, 10, 25)]
    oct25 = cal.clock_changes()[1]
    assert cal.day_start(oct25 + 1) - cal.day_start(oct25) == 25 * 3600
    assert cal.day_of(cal.day_start(oct25) + 24 * 3600) == oct25  # the 25th hour is still the 25th


def test_local_text_repeats_the_october_hour_and_skips_the_march_one():
    instants = [dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    text = local_text(np.array([epoch(t) for t in instants] + [NULL_TIME]))
    assert list(text) == ["2026-10-25 01:30:00", "2026-10-25 01:30:00", "2026-03-29 00:59:59",
                          "2026-03-29 02:00:00", ""]
    assert utc_text(np.array([epoch(instants[0])]))[0] == "2026-10-25 00:30:00"


def test_a_year_long_council_has_activity_on_both_clock_change_days(tmp_path: Path):
    summary = generate_council(tmp_path, people=3, days=365, seed=5)
    for day in ("2026-03-29", "2026-10-25"):
        rows = pd.read_csv(summary.landing_dir / "crm_case_events" / f"{day}.csv", dtype=str)
        assert len(rows) >= 2, day
        assert len(pd.read_csv(summary.landing_dir / "call_logs" / f"{day}.csv", dtype=str)) >= 1, day
    autumn = pd.read_csv(summary.landing_dir / "crm_case_events" / "2026-10-25.csv", dtype=str)
    assert autumn["event_at"].str.startswith("2026-10-25 01:").sum() >= 2  # written the same, an hour apart
    started = pd.read_csv(summary.truth_dir / "journeys.csv", dtype=str)["started_at"]
    assert started.str.startswith("2026-10-25 00:").any() and started.str.startswith("2026-10-25 01:").any()
