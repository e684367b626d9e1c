"""XES export: the IEEE 1849-2016 header, the events, and a PM4Py round trip."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pipeline.export.log import events_in_order
from pipeline.export.xes import write_xes
from tests.report.conftest import RUN_ID, fixture_frames

NS = {"x": "http://www.xes-standard.org/"}


@pytest.fixture(scope="module")
def log(exported) -> ET.Element:
    return ET.parse(exported["xes"]).getroot()


def _attrs(element: ET.Element) -> dict[str, str]:
    return {child.get("key"): child.get("value") for child in element if child.get("key")}


def test_header_declares_extensions_globals_and_classifiers(log):
    assert log.tag == "{http://www.xes-standard.org/}log"
    assert log.get("xes.version") == "1849-2016"
    assert {(e.get("name"), e.get("prefix")) for e in log.findall("x:extension", NS)} == {
        ("Concept", "concept"), ("Time", "time"), ("Organizational", "org")}
    scopes = {g.get("scope"): _attrs(g) for g in log.findall("x:global", NS)}
    assert set(scopes["trace"]) == {"concept:name"}
    assert set(scopes["event"]) == {"concept:name", "time:timestamp", "system"}
    assert {c.get("name"): c.get("keys") for c in log.findall("x:classifier", NS)} == {
        "Activity": "concept:name", "Activity and system": "concept:name system"}
    assert _attrs(log)["run_id"] == RUN_ID


def test_one_trace_per_journey_and_events_in_order(log):
    frames = fixture_frames()
    traces = log.findall("x:trace", NS)
    assert len(traces) == len(frames["journey"])
    trace = next(t for t in traces if _attrs(t)["concept:name"] == "J-P006")
    assert _attrs(trace)["service"] == "Highways"
    events = [_attrs(e) for e in trace.findall("x:event", NS)]
    expected = frames["journey_event"].query("journey_id == 'J-P006'").sort_values("seq")
    assert [e["concept:name"] for e in events] == expected["event_type"].tolist()
    assert events[0]["time:timestamp"] == "2026-10-07T08:00:00.000+00:00"
    assert events[0]["org:group"] == "Contact Centre"
    assert events[3] == {"concept:name": "call", "time:timestamp": "2026-10-14T01:00:00.000+00:00",
                         "system": "telephony", "org:group": "Contact Centre", "channel": "phone",
                         "demand_type": "failure", "failure_type": "progress_chase"}


def test_events_without_team_have_no_org_group(log):
    trace = next(t for t in log.findall("x:trace", NS) if _attrs(t)["concept:name"] == "J-A000")
    [event] = trace.findall("x:event", NS)
    assert "org:group" not in _attrs(event)
    assert event.find("x:date", NS).get("value").endswith("+00:00")


def test_pm4py_reads_it_back_with_our_counts_and_durations(exported, expected_durations):
    pm4py = pytest.importorskip("pm4py")
    for variant in ("iterparse", None):
        df = pm4py.read_xes(str(exported["xes"]), variant=variant) if variant else pm4py.read_xes(str(exported["xes"]))
        assert len(df) == len(fixture_frames()["journey_event"])
        assert str(df["time:timestamp"].dt.tz) == "UTC"
        spans = df.groupby("case:concept:name")["time:timestamp"].agg(["min", "max"])
        durations = (spans["max"] - spans["min"]).sort_index()
        pd.testing.assert_series_equal(durations, expected_durations.sort_index(), check_names=False,
                                       check_index_type=False)


def test_markup_in_values_is_escaped(tmp_path):
    frames = fixture_frames()
    events = frames["journey_event"].head(2).assign(team='Gang <A> & "Sons"')
    journey = frames["journey"][frames["journey"]["journey_id"].isin(events["journey_id"])]
    path = write_xes(journey, events_in_order(events), {"run_id": "r", "as_of": pd.Timestamp("2026-01-01")},
                     tmp_path / "x.xes")
    root = ET.parse(path).getroot()
    assert {e.get("value") for e in root.iter("{http://www.xes-standard.org/}string")
            if e.get("key") == "org:group"} == {'Gang <A> & "Sons"'}
