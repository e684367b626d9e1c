"""End-to-end days of met journeys per period of ended_at."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.transforms.end_to_end import measure_end_to_end
from pipeline.transforms.periods import local_dates, with_periods


def _met(days: list[float], ended: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"service": "Highways", "category": "Pothole",
                          "journey_id": [f"J-{i}" for i in range(len(days))],
                          "ended_at": pd.to_datetime(ended), "e2e_days": days})
    return with_periods(frame.assign(date=local_dates(frame["ended_at"], "Europe/London")), "date")


def test_mean_median_and_linear_percentiles():
    out = measure_end_to_end(_met([1, 2, 3, 4, 10], ["2026-03-02 10:00"] * 5), threshold=5)
    row = out[out["period_type"] == "week"].iloc[0]
    assert row["period"] == "2026-W10" and row["journeys_met"] == 5
    assert row["mean_days"] == pytest.approx(4.0)
    assert row["median_days"] == pytest.approx(3.0)
    assert row["p80_days"] == pytest.approx(5.2)   # rank 3.2: 4 + 0.2 x 6
    assert row["p95_days"] == pytest.approx(8.8)   # rank 3.8: 4 + 0.8 x 6
    assert row["suppressed"] == ""


def test_journeys_fall_in_the_local_period_they_ended_in():
    # 23:30 UTC on 30 June is 1 July in London
    out = measure_end_to_end(_met([1] * 5 + [2] * 5, ["2026-06-30 22:30"] * 5 + ["2026-06-30 23:30"] * 5), 5)
    months = out[out["period_type"] == "month"].set_index("period")
    assert months["journeys_met"].to_dict() == {"2026-06": 5, "2026-07": 5}
    assert months.loc["2026-07", "mean_days"] == 2


def test_statistics_on_a_base_of_four_are_suppressed():
    out = measure_end_to_end(_met([1, 2, 3, 4], ["2026-03-02 10:00"] * 4), threshold=5)
    assert out[["journeys_met", "mean_days", "median_days", "p80_days", "p95_days"]].isna().all().all()
    assert set(out["suppressed"]) == {"journeys_met,mean_days,median_days,p80_days,p95_days"}


def test_no_met_journeys_gives_no_rows():
    out = measure_end_to_end(_met([], []), threshold=5)
    assert out.empty and "p95_days" in out.columns
