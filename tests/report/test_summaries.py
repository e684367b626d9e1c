"""What the report computes from journeys, one rule per test, on tiny inline frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.report import summaries as S

T = 5


def _events(rows: list[tuple]) -> pd.DataFrame:
    """(journey_id, seq, event_at, system, team, channel, demand_type, failure_type)"""
    frame = pd.DataFrame(rows, columns=["journey_id", "seq", "event_at", "system", "team", "channel",
                                        "demand_type", "failure_type"])
    frame["event_at"] = pd.to_datetime(frame["event_at"])
    return frame


def _journeys(rows: list[tuple]) -> pd.DataFrame:
    """(journey_id, service, status)"""
    return pd.DataFrame(rows, columns=["journey_id", "service", "status"])


@pytest.mark.parametrize(("n", "expected"), [(0, 0), (1, None), (4, None), (5, 5), (120, 120),
                                             (None, None), (math.nan, None), (pd.NA, None)])
def test_suppress_count_hides_one_to_threshold_minus_one(n, expected):
    assert S.suppress_count(n, T) == expected


def test_weekly_demand_buckets_by_local_iso_week_and_suppresses():
    # 2026-03-29 23:30 UTC is Monday 00:30 in London (BST): ISO week 14 locally, 13 in UTC.
    rows = [("J1", i, "2026-03-29 23:30", "telephony", "CC", "phone", "value", None) for i in range(1, 6)]
    rows += [("J1", 6, "2026-03-30 09:00", "telephony", "CC", "phone", "failure", "progress_chase")]
    contacts = S.contact_events(_journeys([("J1", "Highways", "open")]), _events(rows))
    weekly = S.weekly_demand(contacts, T, "Europe/London")
    assert weekly.to_dict("records") == [{"service": "Highways", "week": "2026-W14",
                                          "week_start": pd.Timestamp("2026-03-30").date(),
                                          "value": 5, "failure": None}]


def test_weekly_demand_of_no_contacts_is_empty():
    assert S.weekly_demand(S.contact_events(_journeys([]), _events([])), T, "Europe/London").empty


def test_contact_events_are_only_events_with_a_demand_type():
    rows = [("J1", 1, "2026-01-05", "telephony", "CC", "phone", "value", None),
            ("J1", 2, "2026-01-05", "crm", "Hub", None, None, None)]
    assert S.contact_events(_journeys([("J1", "Waste", "met")]), _events(rows))["seq"].tolist() == [1]


def test_failure_by_channel_counts_failures_only_and_suppresses_small_ones():
    rows = [("J1", i, "2026-01-05", "telephony", "CC", "phone", "failure", "progress_chase") for i in range(1, 7)]
    rows += [("J1", 7, "2026-01-05", "crm", "Hub", "web", "failure", "repeat"),
             ("J1", 8, "2026-01-05", "crm", "Hub", "email", "value", None)]
    contacts = S.contact_events(_journeys([("J1", "Waste", "open")]), _events(rows))
    by_channel = S.failure_by(contacts, "channel", T)
    assert by_channel[["channel", "failure_contacts"]].values.tolist() == [["phone", 6], ["web", None]]


def test_distribution_leaves_out_unlinked_and_abandoned_journeys():
    journey = pd.DataFrame({"journey_id": [f"J{i}" for i in range(8)], "service": "Waste",
                            "status": ["met"] * 5 + ["open", "unlinked", "abandoned"], "handoffs": [0] * 5 + [2, 0, 0]})
    dist = S.distribution(journey, "handoffs", T)
    assert dist[["handoffs", "journeys"]].values.tolist() == [[0, 5], [2, None]]


def test_team_paths_collapse_repeats_and_skip_events_without_team():
    events = _events([("J1", 1, "2026-01-05 09:00", "telephony", "CC", "phone", "value", None),
                      ("J1", 2, "2026-01-05 09:05", "crm", "Hub", None, None, None),
                      ("J1", 3, "2026-01-05 09:06", "crm", "Hub", None, None, None),
                      ("J1", 4, "2026-01-05 10:00", "telephony", None, "phone", "failure", "progress_chase"),
                      ("J1", 5, "2026-01-06 10:00", "crm", "CC", None, None, None)])
    assert S.journey_team_paths(events).to_dict() == {"J1": "CC → Hub → CC"}


def test_team_sequences_show_only_paths_of_threshold_journeys_and_pool_the_rest():
    rows, journeys = [], []
    plan = [("A → B", 6), ("A → C", 3), ("A → D", 1)]
    n = 0
    for path, count in plan:
        for _ in range(count):
            jid = f"J{n}"
            n += 1
            journeys.append((jid, "Highways", "met"))
            rows += [(jid, k + 1, f"2026-01-05 0{k}:00", "crm", team, None, None, None)
                     for k, team in enumerate(path.split(" → "))]
    seqs = S.team_sequences(_journeys(journeys), _events(rows), T)
    assert seqs[["sequence", "journeys", "other"]].values.tolist() == [
        ["A → B", 6, False],
        ["(other paths, each fewer than 5 journeys or beyond the top 10)", None, True],  # 3 + 1 = 4: suppressed
    ]
    links = S.sequence_links(seqs)
    assert links.to_dict("records") == [{"source": "1. A", "target": "2. B", "journeys": 6}]


def test_team_sequences_pool_paths_beyond_the_top():
    rows, journeys = [], []
    for p in range(3):
        for i in range(5):
            jid = f"J{p}-{i}"
            journeys.append((jid, "Waste", "met"))
            rows.append((jid, 1, "2026-01-05", "crm", f"Team {p}", None, None, None))
    seqs = S.team_sequences(_journeys(journeys), _events(rows), T, top=2)
    assert seqs["journeys"].tolist() == [5, 5, 5]
    assert seqs["other"].tolist() == [False, False, True]


def test_resolution_rates_are_suppressed_with_their_base():
    journey = pd.DataFrame({
        "journey_id": [f"J{i}" for i in range(9)],
        "service": ["Waste"] * 6 + ["Housing"] * 3,
        "status": ["met"] * 5 + ["open"] + ["met"] * 3,
        "first_contact_resolution": [True, True, False, False, False, False, True, True, True],
        "clean": [True] * 4 + [False] + [True] * 4,
    })
    rates = S.resolution_rates(journey, T).set_index("service")
    assert rates.loc["Waste", "met_journeys"] == 5
    assert rates.loc["Waste", "first_contact_resolution"] == pytest.approx(0.4)
    assert rates.loc["Waste", "share_clean"] == pytest.approx(0.8)
    assert rates.loc["Housing"].tolist() == [None, None, None]


def test_wip_cells_keep_published_suppression_and_apply_a_stricter_threshold():
    wip = pd.DataFrame({"service": "Waste", "category": "Missed bin", "age_band": ["0-7", "8-28", "91+"],
                        "open_journeys": [None, 6, 12], "suppressed": ["open_journeys", "", ""]})
    assert S.wip_cells(wip, 10)["open_journeys"].tolist() == [None, None, 12]
    assert S.age_bands(wip.iloc[::-1]) == ["0-7", "8-28", "91+"]


def _capability(journeys, mean, suppressed=""):
    return pd.DataFrame([{"service": "Highways", "category": "Pothole", "journeys": journeys, "mean_days": mean,
                          "unpl": 9.0, "lnpl": 0.0, "points_above_unpl": 0, "runs": 0, "suppressed": suppressed}])


POINTS = pd.DataFrame({"service": "Highways", "category": "Pothole", "seq": [2, 1], "journey_id": ["J2", "J1"],
                       "ended_at": pd.to_datetime(["2026-01-02", "2026-01-01"]), "e2e_days": [4.0, 3.0],
                       "moving_range": [1.0, None], "above_unpl": False, "in_run": False})


def test_capability_groups_order_points_of_a_published_chart():
    [group] = S.capability_groups(_capability(6, 3.5), POINTS, T)
    assert not group["suppressed"]
    assert group["points"]["journey_id"].tolist() == ["J1", "J2"]


@pytest.mark.parametrize(("journeys", "mean", "flag", "threshold"), [
    (None, None, "journeys,mean_days", 5),  # suppressed by the pipeline
    (6, 3.5, "", 10),                       # a stricter threshold in the report
])
def test_suppressed_capability_chart_has_no_points(journeys, mean, flag, threshold):
    [group] = S.capability_groups(_capability(journeys, mean, flag), POINTS, threshold)
    assert group["suppressed"]
    assert group["points"].empty


def test_study_journeys_pick_distinct_journeys_and_skip_empty_criteria():
    journey = pd.DataFrame({
        "journey_id": ["J1", "J2", "J3", "J4"], "service": "Highways",
        "status": ["met", "open", "met", "unlinked"],
        "e2e_days": [30.0, 12.0, 2.0, None], "handoffs": [6, 1, 0, 0],
        "failure_progress_chase": [0, 0, 0, 3],
    })
    chosen = S.study_journeys(journey)
    # J1 is both longest and most handed-off: the second pick goes to J2. Nobody was
    # chased (J4 is unlinked, not work), so there is no third.
    assert chosen[["reason", "journey_id"]].values.tolist() == [["longest end to end", "J1"],
                                                                ["most hand-offs", "J2"]]
