"""Figures: suppressed counts are labelled, never drawn as numbers; signals are marked."""

from __future__ import annotations

import pandas as pd

from pipeline.report import charts


def test_suppressed_bars_are_empty_and_labelled():
    fig = charts.bar_figure(["0-7", "8-28"], {"open": [None, 7]}, "WIP")
    bar = fig.data[0]
    assert list(bar.y) == [0, 7]
    assert list(bar.text) == ["suppressed", "7"]
    assert list(bar.hovertext) == ["suppressed", "7"]


def test_horizontal_bars_put_values_on_x():
    bar = charts.bar_figure(["a"], {"n": [12]}, "t", horizontal=True).data[0]
    assert (list(bar.x), list(bar.y), bar.orientation) == ([12], ["a"], "h")


def test_all_suppressed_means_nothing_to_draw():
    assert charts.all_suppressed({"a": [None, 0], "b": [float("nan")]})
    assert not charts.all_suppressed({"a": [None, 5]})


def test_capability_chart_marks_signals_and_draws_limits():
    points = pd.DataFrame({"seq": [1, 2, 3], "journey_id": ["J1", "J2", "J3"],
                           "ended_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
                           "e2e_days": [3.0, 30.0, 4.0], "above_unpl": [False, True, False],
                           "in_run": [False, False, False]})
    fig = charts.capability_figure({"mean_days": 12.3, "unpl": 25.0, "lnpl": 0.0}, points, "t")
    names = [t.name for t in fig.data]
    assert names == ["end-to-end days", "signal", "mean 12.3", "UNPL 25.0", "LNPL 0.0"]
    assert list(fig.data[1].y) == [30.0]


def test_sankey_nodes_are_step_numbered():
    links = pd.DataFrame({"source": ["1. A", "2. B"], "target": ["2. B", "3. A"], "journeys": [9, 9]})
    sankey = charts.sankey_figure(links, "t").data[0]
    assert list(sankey.node.label) == ["1. A", "2. B", "3. A"]
    assert list(sankey.link.value) == [9, 9]


def test_timeline_of_one_moment_gets_a_readable_axis():
    events = pd.DataFrame({"seq": [1], "event_at": pd.to_datetime(["2026-01-01 10:00"]), "team": [None],
                           "system": ["telephony"], "event_type": ["call_abandoned"], "demand_type": ["value"],
                           "failure_type": [None]})
    fig = charts.timeline_figure(events, "t")
    assert list(fig.data[0].y) == ["(no team)"]
    assert fig.layout.xaxis.range is not None
