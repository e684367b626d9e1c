"""Capability of end-to-end time: an XmR (individuals and moving range) chart per need.

Systems thinking judges a process by its capability, not by a target: the natural
process limits say what the system will keep delivering while it stays as it is, and
the signals say when it has changed. Points are journeys met in the window, in order
of ``ended_at`` (ties by ``journey_id`` so the chart is the same on every rerun).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import MeasureRules
from pipeline.transforms.suppression import SuppressionSpec, suppress_small_numbers

# 3 / d2 with d2 = 1.128, the bias constant for moving ranges of two points (Wheeler).
NPL_SCALING = 2.66
# A point this close to the centre line (days, ~0.1 ms) is on it: float means of
# computed durations are rarely exact, and a point on the mean is on neither side.
ON_MEAN_TOLERANCE_DAYS = 1e-9

CHART_KEYS = ["service", "category"]
SUMMARY_COLUMNS = ["journeys", "mean_days", "mr_bar", "unpl", "lnpl", "points_above_unpl", "runs"]
# Signal counts are counts too (journeys.md: every aggregate count from 1 to
# threshold-1 is suppressed), even though the per-journey points show the signals.
CAPABILITY_SUPPRESSION = SuppressionSpec(
    counts=("journeys", "points_above_unpl", "runs"),
    derived={c: ("journeys",) for c in SUMMARY_COLUMNS[1:]},
)


def capability_window(as_of: pd.Timestamp, weeks: int, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end] of the window in naive UTC: ``weeks`` local calendar weeks ending at
    as-of, counted on the wall clock so a clock change does not shift the start by an hour."""
    local_end = pd.Timestamp(as_of).tz_localize("UTC").tz_convert(tz)
    local_start = local_end - pd.DateOffset(days=7 * weeks)
    return local_start.tz_convert("UTC").tz_localize(None), pd.Timestamp(as_of)


def xmr_chart(points: pd.DataFrame, run_length: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """XmR statistics of ``e2e_days`` per service x category.

    ``points`` has service, category, journey_id, ended_at, e2e_days in any order.
    Returns (summary: one row per chart with ``SUMMARY_COLUMNS``; points: each point
    with seq, moving_range, above_unpl, in_run). With fewer than two points there is
    no moving range, so mR-bar, the limits and the above-UNPL signals are NULL.
    A run is ``run_length`` or more consecutive points strictly on one side of the
    mean; a point on the mean ends the run.
    """
    pts = points.sort_values([*CHART_KEYS, "ended_at", "journey_id"], kind="stable").reset_index(drop=True)
    x = pts["e2e_days"].astype(float)
    chart = pts.groupby(CHART_KEYS, sort=False, dropna=False)
    pts["seq"] = chart.cumcount() + 1
    first = (pts["seq"] == 1).to_numpy()
    pts["moving_range"] = (x - x.shift()).abs().mask(first)
    mean = chart["e2e_days"].transform("mean")
    mr_bar = pts.groupby(CHART_KEYS, sort=False, dropna=False)["moving_range"].transform("mean")
    unpl = mean + NPL_SCALING * mr_bar
    lnpl = (mean - NPL_SCALING * mr_bar).clip(lower=0)
    pts["above_unpl"] = pd.array((x > unpl).to_numpy(), dtype="boolean")
    pts.loc[unpl.isna(), "above_unpl"] = pd.NA

    diff = (x - mean).to_numpy()
    side = np.where(np.abs(diff) <= ON_MEAN_TOLERANCE_DAYS, 0, np.sign(diff))
    run_id = np.cumsum(first | (side != np.roll(side, 1)))
    in_run = (side != 0) & (np.bincount(run_id)[run_id] >= run_length)
    pts["in_run"] = pd.array(in_run, dtype="boolean")

    per_point = pts.assign(mean_days=mean, mr_bar=mr_bar, unpl=unpl, lnpl=lnpl,
                           _above=pts["above_unpl"].fillna(False).astype(int),
                           _run=np.where(in_run, run_id, np.nan))
    summary = per_point.groupby(CHART_KEYS, sort=False, dropna=False).agg(
        journeys=("journey_id", "size"), mean_days=("mean_days", "first"), mr_bar=("mr_bar", "first"),
        unpl=("unpl", "first"), lnpl=("lnpl", "first"), points_above_unpl=("_above", "sum"),
        runs=("_run", "nunique"),
    ).reset_index()
    summary["points_above_unpl"] = summary["points_above_unpl"].astype("Int64").mask(summary["unpl"].isna())
    summary["runs"] = summary["runs"].astype("Int64")
    return summary, pts


def measure_capability(met: pd.DataFrame, rules: MeasureRules, as_of: pd.Timestamp,
                       tz: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``measure_capability`` and ``measure_capability_point`` from met journeys
    (service and category already filled). A chart with a suppressed number of points
    publishes no points: counting them would give the hidden number back."""
    start, end = capability_window(as_of, rules.capability_window_weeks, tz)
    in_window = met[(met["ended_at"] > start) & (met["ended_at"] <= end)]
    summary, points = xmr_chart(in_window[[*CHART_KEYS, "journey_id", "ended_at", "e2e_days"]], rules.run_length)
    summary = suppress_small_numbers(summary.assign(window_start=start, window_end=end),
                                     CAPABILITY_SUPPRESSION, rules.small_number_threshold)
    shown = summary.loc[summary["journeys"].notna(), CHART_KEYS]
    points = points.merge(shown, on=CHART_KEYS, how="inner")
    return summary, points
