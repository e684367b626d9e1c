"""Flow of met journeys: hand-offs, teams, contacts, clean, FCR, follow-on rate."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.transforms.flow import measure_flow
from pipeline.transforms.periods import local_dates, with_periods


def _met(n: int, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"service": "Waste", "category": "Missed bin", "journey_id": [f"J-{i}" for i in range(n)],
                          "ended_at": pd.Timestamp("2026-05-12 09:00"), "handoffs": 0, "teams": 1, "contacts": 1,
                          "clean": True, "first_contact_resolution": False, "follow_on_works_orders": 0,
                          **columns})
    return with_periods(frame.assign(date=local_dates(frame["ended_at"], "Europe/London")), "date")


def test_averages_and_shares():
    out = measure_flow(_met(5, handoffs=[0, 1, 2, 3, 4], teams=[1, 1, 2, 2, 4], contacts=[1, 1, 1, 2, 5],
                            clean=[True, True, False, False, False],
                            first_contact_resolution=[True, False, False, False, False],
                            follow_on_works_orders=[0, 1, 2, 0, 0]), threshold=5)
    row = out[out["period_type"] == "month"].iloc[0]
    assert row["period"] == "2026-05" and row["journeys_met"] == 5
    assert row["avg_handoffs"] == pytest.approx(2.0)
    assert row["avg_teams"] == pytest.approx(2.0)
    assert row["avg_contacts"] == pytest.approx(2.0)
    assert row["share_clean"] == pytest.approx(0.4)
    assert row["first_contact_resolution"] == pytest.approx(0.2)
    # share of journeys with at least one follow-on (2 of 5), not follow-ons per journey (3/5)
    assert row["follow_on_rate"] == pytest.approx(0.4)


def test_rates_on_a_base_of_four_are_suppressed():
    out = measure_flow(_met(4), threshold=5)
    assert out.drop(columns=["service", "category", "period_type", "period", "period_start",
                             "suppressed"]).isna().all().all()
    assert set(out["suppressed"]) == {"journeys_met,avg_handoffs,avg_teams,avg_contacts,share_clean,"
                                      "first_contact_resolution,follow_on_rate"}
