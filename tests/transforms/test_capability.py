"""XmR capability charts: limits, both signal rules, window and suppression."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import MeasureRules
from pipeline.transforms.capability import capability_window, measure_capability, xmr_chart

AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")  # end of 26 Nov 2026, London (GMT)
BANDS = [(0, 7), (8, 28), (29, 90), (91, None)]


def _points(days: list[float], *, service: str = "Highways", category: str = "Pothole",
            first: str = "2026-10-01") -> pd.DataFrame:
    ended = pd.Timestamp(first) + pd.to_timedelta(range(len(days)), unit="D")
    return pd.DataFrame({"service": service, "category": category,
                         "journey_id": [f"J-{category}-{i:03d}" for i in range(len(days))],
                         "ended_at": ended, "e2e_days": days})


def _chart(days: list[float], run_length: int = 8) -> tuple[pd.Series, pd.DataFrame]:
    summary, points = xmr_chart(_points(days), run_length)
    assert len(summary) == 1
    return summary.iloc[0], points


def test_limits_of_a_hand_computed_series():
    # mean 6; moving ranges 2, 1, 2, 4, 2 -> mR-bar 2.2; 2.66 x 2.2 = 5.852
    s, pts = _chart([5, 7, 6, 8, 4, 6])
    assert s["journeys"] == 6
    assert s["mean_days"] == pytest.approx(6.0)
    assert s["mr_bar"] == pytest.approx(2.2)
    assert s["unpl"] == pytest.approx(11.852)
    assert s["lnpl"] == pytest.approx(0.148)
    assert s["points_above_unpl"] == 0 and s["runs"] == 0
    assert pts["moving_range"].isna().tolist() == [True] + [False] * 5
    assert pts["moving_range"].iloc[1:].tolist() == pytest.approx([2, 1, 2, 4, 2])
    assert pts["seq"].tolist() == [1, 2, 3, 4, 5, 6]


def test_point_above_unpl_and_a_run_below_the_mean():
    # nine 2s then 12: mean 3, mR-bar 10/9, UNPL 3 + 2.66 x 10/9 = 5.9556
    s, pts = _chart([2] * 9 + [12])
    assert s["mean_days"] == pytest.approx(3.0)
    assert s["unpl"] == pytest.approx(5.955556)
    assert s["points_above_unpl"] == 1
    assert pts["above_unpl"].tolist() == [False] * 9 + [True]
    # the nine points below the mean are one run of 9 >= 8
    assert s["runs"] == 1
    assert pts["in_run"].tolist() == [True] * 9 + [False]


def test_two_runs_of_eight_on_either_side():
    s, pts = _chart([3] * 8 + [2, 2] + [1] * 8)  # mean exactly 2
    assert s["mean_days"] == pytest.approx(2.0)
    assert s["runs"] == 2
    assert pts["in_run"].tolist() == [True] * 8 + [False, False] + [True] * 8


def test_a_run_of_seven_is_not_a_signal():
    s, pts = _chart([3] * 7 + [2, 2, 2] + [1] * 7)  # mean 2
    assert s["runs"] == 0 and not pts["in_run"].any()


def test_a_point_on_the_mean_breaks_a_run():
    # eight points above the mean, but the fifth sits on it: two runs of four
    s, pts = _chart([3, 3, 3, 3, 2, 3, 3, 3, 3] + [1, 1, 1, 1, 2, 1, 1, 1, 1])  # mean exactly 2
    assert s["mean_days"] == pytest.approx(2.0)
    assert s["runs"] == 0 and not pts["in_run"].any()


def test_run_length_is_configurable():
    s, _ = _chart([3, 3, 3, 1, 1, 1], run_length=3)
    assert s["runs"] == 2


def test_lnpl_is_clipped_at_zero():
    s, _ = _chart([0.5, 10, 0.5, 10])  # mean 5.25, mR-bar 9.5: 5.25 - 25.27 < 0
    assert s["lnpl"] == 0.0
    assert s["unpl"] == pytest.approx(5.25 + 2.66 * 9.5)


def test_one_point_has_no_limits():
    s, pts = _chart([4.0])
    assert s["mean_days"] == 4.0
    assert pd.isna(s["mr_bar"]) and pd.isna(s["unpl"]) and pd.isna(s["lnpl"])
    assert s["points_above_unpl"] is pd.NA and s["runs"] == 0
    assert pts["above_unpl"].isna().all() and pts["moving_range"].isna().all()


def test_points_follow_ended_at_then_journey_id_and_charts_are_separate():
    a = _points([1, 2, 3], category="A")
    b = _points([9, 9], category="B")
    tie = a.iloc[[0]].assign(journey_id="J-A-000a", e2e_days=7.0)  # same ended_at as J-A-000
    shuffled = pd.concat([b, a, tie]).sample(frac=1, random_state=3)
    summary, pts = xmr_chart(shuffled, 8)
    got = pts[pts["category"] == "A"]
    assert got["journey_id"].tolist() == ["J-A-000", "J-A-000a", "J-A-001", "J-A-002"]
    assert got["seq"].tolist() == [1, 2, 3, 4]
    assert got["moving_range"].iloc[1:].tolist() == pytest.approx([6, 5, 1])
    assert summary.set_index("category")["journeys"].to_dict() == {"A": 4, "B": 2}


def test_window_counts_local_weeks_across_the_clock_change():
    start, end = capability_window(AS_OF, 13, "Europe/London")
    # 13 weeks before 23:59:59 GMT on 26 Nov is 23:59:59 BST on 27 Aug = 22:59:59 UTC
    assert start == pd.Timestamp("2026-08-27 22:59:59.999999")
    assert end == AS_OF


def _met(days: list[float], ended: list[str], category: str = "Pothole") -> pd.DataFrame:
    return pd.DataFrame({"service": "Highways", "category": category,
                         "journey_id": [f"J-{category}-{i}" for i in range(len(days))],
                         "ended_at": pd.to_datetime(ended, format="ISO8601"), "e2e_days": days})


def test_measure_capability_keeps_only_the_window():
    start, _ = capability_window(AS_OF, 13, "Europe/London")
    ended = [str(start), str(start + pd.Timedelta(microseconds=1)), "2026-10-01", "2026-10-02",
             "2026-10-03", str(AS_OF), str(AS_OF + pd.Timedelta(seconds=1))]
    rules = MeasureRules(wip_age_bands=BANDS)
    summary, points = measure_capability(_met([1, 2, 3, 4, 5, 6, 7], ended), rules, AS_OF, "Europe/London")
    assert summary.loc[0, "journeys"] == 5
    assert points["e2e_days"].tolist() == [2, 3, 4, 5, 6]
    assert summary.loc[0, "window_start"] == start and summary.loc[0, "window_end"] == AS_OF


def test_small_chart_is_suppressed_and_publishes_no_points():
    met = pd.concat([_met([1, 2, 3, 4], ["2026-10-0" + str(d) for d in range(1, 5)], "Four"),
                     _met([1, 2, 3, 4, 5], ["2026-10-0" + str(d) for d in range(1, 6)], "Five")])
    summary, points = measure_capability(met, MeasureRules(wip_age_bands=BANDS), AS_OF, "Europe/London")
    four = summary.set_index("category").loc["Four"]
    assert four[["journeys", "mean_days", "mr_bar", "unpl", "lnpl", "points_above_unpl", "runs"]].isna().all()
    assert four["suppressed"] == "journeys,mean_days,mr_bar,unpl,lnpl,points_above_unpl,runs"
    assert set(points["category"]) == {"Five"}
    assert summary.set_index("category").loc["Five", "suppressed"] == ""


def test_threshold_one_publishes_a_single_point_chart_without_limits():
    rules = MeasureRules(wip_age_bands=BANDS, small_number_threshold=1)
    summary, points = measure_capability(_met([3.0], ["2026-10-01"]), rules, AS_OF, "Europe/London")
    assert summary.loc[0, "journeys"] == 1 and pd.isna(summary.loc[0, "unpl"])
    assert len(points) == 1


def test_small_signal_counts_are_suppressed_like_any_count():
    """journeys.md: every aggregate count from 1 to threshold-1 is published as NULL."""
    import pandas as pd

    from pipeline.transforms.capability import CAPABILITY_SUPPRESSION
    from pipeline.transforms.suppression import suppress_small_numbers

    row = pd.DataFrame({"journeys": [20], "mean_days": [3.0], "mr_bar": [1.0], "unpl": [5.66], "lnpl": [0.34],
                        "points_above_unpl": [2], "runs": [0]})
    out = suppress_small_numbers(row, CAPABILITY_SUPPRESSION, 5)
    assert pd.isna(out.loc[0, "points_above_unpl"]) and out.loc[0, "runs"] == 0
    assert out.loc[0, "journeys"] == 20 and out.loc[0, "mean_days"] == 3.0
    assert out.loc[0, "suppressed"] == "points_above_unpl"
