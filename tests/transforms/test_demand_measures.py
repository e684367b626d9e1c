"""Value and failure demand per period and by channel."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.transforms.demand_measures import daily_demand, measure_demand

TZ = "Europe/London"


def _contacts(*groups: tuple[int, str, str, str | None, str]) -> pd.DataFrame:
    """(how many, channel, demand_type, failure_type, event_at) groups of contacts."""
    rows = [{"service": "Housing Repairs", "category": "Damp and mould", "channel": ch, "demand_type": d,
             "failure_type": f, "event_at": pd.Timestamp(at)}
            for n, ch, d, f, at in groups for _ in range(n)]
    return pd.DataFrame(rows, columns=["service", "category", "channel", "demand_type", "failure_type", "event_at"])


WEEK_10 = "2026-03-03 10:00"


def test_counts_shares_and_types():
    demand, _ = measure_demand(_contacts((10, "phone", "value", None, WEEK_10), (5, "web", "value", None, WEEK_10),
                                         (5, "phone", "failure", "complaint", WEEK_10)), 5, TZ)
    row = demand[demand["period_type"] == "week"].iloc[0]
    assert (row["period"], row["period_start"]) == ("2026-W10", dt.date(2026, 3, 2))
    assert (row["contacts"], row["value_contacts"], row["failure_contacts"]) == (20, 15, 5)
    assert row["failure_share"] == pytest.approx(0.25)
    assert (row["failure_complaint"], row["failure_progress_chase"], row["failure_repeat"],
            row["failure_not_done_right"]) == (5, 0, 0, 0)
    assert row["suppressed"] == ""


def test_by_channel():
    _, by_channel = measure_demand(_contacts((10, "phone", "value", None, WEEK_10),
                                             (5, "web", "value", None, WEEK_10),
                                             (5, "phone", "failure", "complaint", WEEK_10)), 5, TZ)
    week = by_channel[by_channel["period_type"] == "week"].set_index("channel")
    assert week.loc["phone", ["contacts", "value_contacts", "failure_contacts"]].tolist() == [15, 10, 5]
    assert week.loc["phone", "failure_share"] == pytest.approx(1 / 3)
    assert week.loc["web", ["contacts", "value_contacts", "failure_contacts"]].tolist() == [5, 5, 0]
    assert week.loc["web", "failure_share"] == 0


def test_contacts_fall_in_the_period_of_their_own_local_time():
    demand, _ = measure_demand(_contacts((5, "phone", "value", None, "2026-03-01 23:30"),   # Sunday, W09
                                         (6, "phone", "value", None, "2026-03-02 00:30")),  # Monday, W10
                               5, TZ)
    weeks = demand[demand["period_type"] == "week"].set_index("period")["contacts"].to_dict()
    months = demand[demand["period_type"] == "month"].set_index("period")["contacts"].to_dict()
    assert weeks == {"2026-W09": 5, "2026-W10": 6} and months == {"2026-03": 11}


def test_daily_demand_folds_contacts_by_local_day():
    daily = daily_demand(_contacts((3, "web", "value", None, "2026-07-01 22:59"),    # 23:59 BST, 1 July
                                   (2, "web", "failure", "repeat", "2026-07-01 23:00")), TZ)  # 2 July
    assert daily.set_index("date")["contacts"].to_dict() == {pd.Timestamp("2026-07-01"): 3,
                                                              pd.Timestamp("2026-07-02"): 2}
    assert daily["failure_repeat"].tolist() == [0, 2]


def test_no_contacts_gives_no_rows():
    demand, by_channel = measure_demand(_contacts(), 5, TZ)
    assert demand.empty and by_channel.empty
