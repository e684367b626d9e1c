"""OCEL 2.0 export: the object model, the JSON and SQLite layouts, and a PM4Py round trip."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from pipeline.export.log import events_in_order
from pipeline.export.ocel import build_ocel
from tests.report.conftest import fixture_frames

OBJECT_TYPES = {"Person", "Journey", "CrmCase", "Call", "WorkOrder", "Team"}


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    journey = pd.DataFrame({"journey_id": ["J1", "J2"], "person_key": ["k1", None], "service": "Highways",
                            "category": ["Pothole", None], "status": ["met", "unlinked"], "first_channel": "phone",
                            "e2e_days": [2.0, None], "contacts": [1, 1], "failure_contacts": [0, 1],
                            "handoffs": [1, 0]})
    events = pd.DataFrame({
        "journey_id": ["J1", "J1", "J1", "J2"], "seq": [1, 2, 3, 1],
        "event_at": pd.to_datetime(["2026-01-01 09:00", "2026-01-01 09:05", "2026-01-02 00:00", "2026-01-03 00:00"]),
        "system": ["telephony", "crm", "works", "telephony"], "source_ref": ["CL1", "C1", "WO1", "CL2"],
        "event_type": ["call", "created", "wo_raised", "call"], "team": ["Contact Centre", "Hub", "Gang", None],
        "channel": ["phone", None, None, "phone"], "demand_type": ["value", None, None, "failure"],
        "failure_type": [None, None, None, "progress_chase"]})
    return journey, events_in_order(events)


def test_objects_and_relations_of_a_tiny_log():
    log = build_ocel(*_tiny())
    assert sorted(log.objects["ocel_id"]) == ["call:CL1", "call:CL2", "case:C1", "journey:J1", "journey:J2",
                                              "person:k1", "team:Contact Centre", "team:Gang", "team:Hub",
                                              "work_order:WO1"]
    o2o = set(log.o2o.itertuples(index=False, name=None))
    assert o2o == {("journey:J1", "person:k1", "person"), ("call:CL1", "journey:J1", "journey"),
                   ("case:C1", "journey:J1", "journey"), ("work_order:WO1", "journey:J1", "journey"),
                   ("call:CL2", "journey:J2", "journey")}
    e2o = log.e2o[log.e2o["event_id"] == "J1:2"]
    assert set(zip(e2o["object_id"], e2o["qualifier"])) == {
        ("journey:J1", "journey"), ("case:C1", "case"), ("team:Hub", "team"), ("person:k1", "person")}
    # An event without a team, of a journey without a person, relates to neither.
    assert set(log.e2o.loc[log.e2o["event_id"] == "J2:1", "qualifier"]) == {"journey", "call"}
    assert log.events.loc[log.events["ocel_id"] == "J1:1", "ocel_time"].item() == "2026-01-01T09:00:00.000+00:00"


def test_unknown_system_is_an_error_naming_the_rows():
    journey, events = _tiny()
    events.loc[2, "system"] = "fax"
    with pytest.raises(ValueError, match=r"journey_event.system must be one of .*1 row\(s\) are not, "
                                         r"e.g. journey_id:seq J1:3 \('fax'\)"):
        build_ocel(journey, events)


def test_an_event_of_a_missing_journey_still_has_its_journey_object():
    journey, events = _tiny()
    log = build_ocel(journey[journey["journey_id"] == "J1"], events)
    assert "journey:J2" in set(log.objects["ocel_id"])


def test_json_layout(exported):
    doc = json.loads(exported["ocel2-json"].read_text(encoding="utf-8"))
    assert set(doc) == {"objectTypes", "eventTypes", "objects", "events"}
    assert {t["name"] for t in doc["objectTypes"]} == OBJECT_TYPES
    journey_type = next(t for t in doc["objectTypes"] if t["name"] == "Journey")
    assert {"name": "e2e_days", "type": "float"} in journey_type["attributes"]
    event = next(e for e in doc["events"] if e["id"] == "J-P006:4")
    assert event["type"] == "call" and event["time"] == "2026-10-14T01:00:00.000+00:00"
    assert {"name": "failure_type", "value": "progress_chase"} in event["attributes"]
    assert {"objectId": "journey:J-P006", "qualifier": "journey"} in event["relationships"]
    journey = next(o for o in doc["objects"] if o["id"] == "journey:J-P006")
    assert {"name": "status", "value": "met", "time": "1970-01-01T00:00:00.000+00:00"} in journey["attributes"]
    assert journey["relationships"][0]["qualifier"] == "person"
    person = next(o for o in doc["objects"] if o["type"] == "Person")
    assert person["attributes"] == [] and person["id"].startswith("person:")


def test_sqlite_layout_with_keys(exported):
    con = sqlite3.connect(exported["ocel2-sqlite"])
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"event", "object", "event_object", "object_object", "event_map_type", "object_map_type"} <= tables
        maps = dict(con.execute("SELECT ocel_type, ocel_type_map FROM object_map_type"))
        assert set(maps) == OBJECT_TYPES and all(f"object_{m}" in tables for m in maps.values())
        event_maps = dict(con.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"))
        assert event_maps["call_abandoned"] == "call_abandoned" and "event_call_abandoned" in tables
        pk = {t: [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if r[5]] for t in
              ("event", "object", "event_object", "object_object", "event_call", "object_Journey")}
        assert pk == {"event": ["ocel_id"], "object": ["ocel_id"],
                      "event_object": ["ocel_event_id", "ocel_object_id", "ocel_qualifier"],
                      "object_object": ["ocel_source_id", "ocel_target_id", "ocel_qualifier"],
                      "event_call": ["ocel_id"], "object_Journey": ["ocel_id", "ocel_time"]}
        fks = {(r[2], r[3]) for r in con.execute('PRAGMA foreign_key_list("event_object")')}
        assert fks == {("event", "ocel_event_id"), ("object", "ocel_object_id")}
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        events = con.execute("SELECT COUNT(*) FROM event").fetchone()[0]
        assert events == len(fixture_frames()["journey_event"])
        row = con.execute('SELECT ocel_time, failure_type FROM "event_call" WHERE ocel_id = ?', ("J-P006:4",)).fetchone()
        assert row == ("2026-10-14T01:00:00.000+00:00", "progress_chase")
    finally:
        con.close()


def _durations(ocel) -> pd.Series:
    """Per journey object: last minus first related event, as PM4Py read them."""
    rel = ocel.relations[ocel.relations["ocel:type"] == "Journey"]
    spans = rel.groupby("ocel:oid")["ocel:timestamp"].agg(["min", "max"])
    durations = spans["max"] - spans["min"]
    durations.index = durations.index.str.removeprefix("journey:")
    return durations.sort_index()


@pytest.mark.parametrize("fmt", ["ocel2-json", "ocel2-sqlite"])
def test_pm4py_reads_it_back_with_our_counts_and_durations(exported, expected_durations, fmt):
    pm4py = pytest.importorskip("pm4py")
    reader = pm4py.read_ocel2_json if fmt == "ocel2-json" else pm4py.read_ocel2_sqlite
    ocel = reader(str(exported[fmt]))
    frames = fixture_frames()
    assert len(ocel.events) == len(frames["journey_event"])
    counts = ocel.objects["ocel:type"].value_counts().to_dict()
    assert counts["Journey"] == len(frames["journey"])
    assert counts["Person"] == frames["journey"]["person_key"].nunique()
    assert set(counts) == OBJECT_TYPES
    pd.testing.assert_series_equal(_durations(ocel), expected_durations.sort_index(), check_names=False,
                                   check_index_type=False)
