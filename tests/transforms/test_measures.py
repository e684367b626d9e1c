"""build_measures end to end on hand-made journeys: the published contract, the
join of contacts to their journey, WIP membership, the as-of cut, and input errors."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import FAILURE_TYPES, MeasureRules
from pipeline.transforms.measures import MeasureInputError, build_measures
from pipeline.warehouse import io
from pipeline.warehouse.tables import PUBLISHED_TABLES, journey as journey_table, journey_event as event_table

AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")
RULES = MeasureRules(wip_age_bands=[(0, 7), (8, 28), (29, 90), (91, None)])
MEASURE_TABLES = ["measure_demand", "measure_demand_channel", "measure_end_to_end", "measure_flow",
                  "measure_capability", "measure_capability_point", "measure_wip"]
PERSON_KEY = "pk-3f9a-synthetic"
DISTRICT = "ZZ9"


def _journey(journey_id: str, status: str = "met", *, service: str | None = "Highways",
             category: str | None = "Pothole", started: str = "2026-11-02 09:00", days: float = 2.0,
             **overrides) -> dict:
    started_at = pd.Timestamp(started)
    met = status == "met"
    row = {
        "journey_id": journey_id, "person_key": PERSON_KEY, "service": service, "category": category,
        "first_channel": "phone", "postcode_district": DISTRICT, "status": status, "started_at": started_at,
        "ended_at": started_at + pd.Timedelta(days=days) if met else pd.NaT,
        "e2e_hours": days * 24 if met else None, "e2e_days": days if met else None,
        "contacts": 1, "value_contacts": 1, "failure_contacts": 0, **{f"failure_{t}": 0 for t in FAILURE_TYPES},
        "handoffs": 1, "teams": 2, "systems": 2, "works_orders": 1, "follow_on_works_orders": 0,
        "first_contact_resolution": False, "clean": True, "person_id": "P-internal",
    }
    return row | overrides


def _event(journey_id: str, seq: int, at: str, demand_type: str | None = "value",
           failure_type: str | None = None, channel: str | None = "phone") -> dict:
    return {"journey_id": journey_id, "seq": seq, "event_at": pd.Timestamp(at), "system": "telephony",
            "source_ref": f"CALL-{journey_id}-{seq}", "event_type": "call", "team": "Contact Centre",
            "channel": channel, "demand_type": demand_type, "failure_type": failure_type}


def _frames(journeys: list[dict], events: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    j = pd.DataFrame(journeys, columns=[*[c.name for c in journey_table.columns], "person_id"])
    j["ended_at"] = pd.to_datetime(j["ended_at"])
    j["started_at"] = pd.to_datetime(j["started_at"])
    e = pd.DataFrame(events, columns=[c.name for c in event_table.columns])
    e["event_at"] = pd.to_datetime(e["event_at"])
    return j, e


def _scenario() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six met pothole journeys (each a call and a chase), open and unlinked ones."""
    journeys = [_journey(f"J-{i}", started=f"2026-11-0{i + 2} 09:00", days=1.0 + i) for i in range(6)]
    journeys += [_journey(f"J-open-{i}", "open", started="2026-11-20 09:00") for i in range(5)]
    journeys += [_journey(f"J-unlinked-{i}", "unlinked", service="Waste", category=None) for i in range(5)]
    events = [_event(f"J-{i}", 1, f"2026-11-0{i + 2} 09:00") for i in range(6)]
    events += [_event(f"J-{i}", 2, f"2026-11-0{i + 2} 15:00", "failure", "progress_chase", "web") for i in range(6)]
    events += [_event(f"J-{i}", 3, f"2026-11-0{i + 2} 16:00", None, channel=None) for i in range(6)]  # not a contact
    return _frames(journeys, events)


def test_every_frame_has_exactly_the_declared_columns():
    out = build_measures(*_scenario(), RULES, AS_OF)
    assert sorted(out) == sorted(MEASURE_TABLES)
    for name, frame in out.items():
        assert list(frame.columns) == [c.name for c in PUBLISHED_TABLES[name].columns], name
        assert not frame.empty, name


def test_no_personal_data_reaches_a_measure():
    out = build_measures(*_scenario(), RULES, AS_OF)
    for name, frame in out.items():
        assert not {"person_key", "person_id", "postcode_district"} & set(frame.columns), name
        text = frame.select_dtypes(include="object").astype(str)
        for value in (PERSON_KEY, DISTRICT, "P-internal"):
            assert not text.isin([value]).any().any(), (name, value)


def test_contacts_take_their_journeys_service_and_category():
    out = build_measures(*_scenario(), RULES, AS_OF)
    demand = out["measure_demand"].query("period_type == 'month'")
    assert demand[["service", "category", "period", "contacts", "value_contacts", "failure_contacts",
                   "failure_progress_chase"]].values.tolist() == [["Highways", "Pothole", "2026-11", 12, 6, 6, 6]]
    assert demand["failure_share"].tolist() == [0.5]
    channels = out["measure_demand_channel"].query("period_type == 'month'").set_index("channel")
    assert channels["contacts"].to_dict() == {"phone": 6, "web": 6}


def test_missing_service_category_and_channel_become_none_label():
    journeys = [_journey(f"J-{i}", "abandoned", service=None, category=None) for i in range(5)]
    events = [_event(f"J-{i}", 1, "2026-11-10 10:00", channel=None) for i in range(5)]
    out = build_measures(*_frames(journeys, events), RULES, AS_OF)
    row = out["measure_demand_channel"].iloc[0]
    assert (row["service"], row["category"], row["channel"], row["contacts"]) == ("(none)", "(none)", "(none)", 5)


def test_only_open_journeys_are_work_in_progress():
    out = build_measures(*_scenario(), RULES, AS_OF)
    wip = out["measure_wip"]
    assert set(wip["service"]) == {"Highways"}  # the unlinked Waste journeys are not WIP
    assert wip.set_index("age_band")["open_journeys"].to_dict() == {"0-7": 5, "8-28": 0, "29-90": 0, "91+": 0}


def test_end_to_end_flow_and_capability_count_met_journeys():
    out = build_measures(*_scenario(), RULES, AS_OF)
    e2e = out["measure_end_to_end"].query("period_type == 'month'").iloc[0]
    assert e2e["journeys_met"] == 6 and e2e["mean_days"] == pytest.approx(3.5)
    assert out["measure_flow"].query("period_type == 'month'")["avg_handoffs"].tolist() == [1.0]
    cap = out["measure_capability"].iloc[0]
    assert cap["journeys"] == 6 and cap["mr_bar"] == pytest.approx(1.0)
    assert out["measure_capability_point"]["journey_id"].tolist() == [f"J-{i}" for i in range(6)]


def test_nothing_after_as_of_counts():
    journeys, events = _scenario()
    late = _frames([_journey("J-late", days=30.0, started="2026-11-20 09:00")],
                   [_event("J-late", 1, "2026-11-27 09:00")])
    out = build_measures(pd.concat([journeys, late[0]], ignore_index=True),
                         pd.concat([events, late[1]], ignore_index=True), RULES, AS_OF)
    assert out["measure_demand"].query("period_type == 'month'")["contacts"].tolist() == [12]
    assert out["measure_end_to_end"].query("period_type == 'month'")["journeys_met"].tolist() == [6]


def test_empty_inputs_give_empty_declared_frames():
    out = build_measures(*_frames([], []), RULES, AS_OF)
    for name, frame in out.items():
        assert frame.empty and list(frame.columns) == [c.name for c in PUBLISHED_TABLES[name].columns]


@pytest.mark.parametrize("change, message", [
    (lambda j, e: (j.assign(status=["met"] * 15 + ["closed"]), e),
     r"journey row 15 \(journey_id 'J-unlinked-4'\), column 'status': 'closed' is not one of"),
    (lambda j, e: (j.assign(ended_at=j["ended_at"].where(j.index != 2)), e),
     r"journey row 2 \(journey_id 'J-2'\), column 'ended_at': .* is empty on a met journey"),
    (lambda j, e: (pd.concat([j, j.iloc[[0]]]), e), r"journey row 16 .*column 'journey_id'.*more than once"),
    (lambda j, e: (j, e.assign(failure_type=e["failure_type"].where(e["seq"] != 2, "late"))),
     r"journey_event row 6 \(journey_id 'J-0', seq 2\), column 'failure_type': 'late' is not one of"),
    (lambda j, e: (j, e.assign(failure_type=e["failure_type"].where(e["seq"] != 2, None))),
     r"column 'failure_type': None is empty on failure demand .*\(6 rows like this\)"),
    (lambda j, e: (j, e.assign(demand_type=e["demand_type"].replace("value", "chase"))),
     r"column 'demand_type': 'chase' is not one of"),
    (lambda j, e: (j[j["journey_id"] != "J-3"], e), r"journey_event row 3 .*'J-3'.*not a journey"),
    (lambda j, e: (j.drop(columns=["clean"]), e), r"journey frame lacks published columns \['clean'\]"),
    (lambda j, e: (j.assign(started_at=j["started_at"].where(j["status"] != "open", AS_OF + pd.Timedelta(days=1))),
                   e), r"column 'started_at'.*after as-of"),
])
def test_bad_input_names_frame_row_and_column(change, message):
    journeys, events = change(*_scenario())
    with pytest.raises(MeasureInputError, match=message):
        build_measures(journeys, events, RULES, AS_OF)


def test_frames_round_trip_through_the_declared_tables(warehouse_url):
    out = build_measures(*_scenario(), RULES, AS_OF)
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn, [PUBLISHED_TABLES[n] for n in MEASURE_TABLES])
        for name in MEASURE_TABLES:
            assert io.write_frame(conn, PUBLISHED_TABLES[name], out[name]) == len(out[name])
    with engine.connect() as conn:
        demand = io.read_frame(conn, PUBLISHED_TABLES["measure_demand"])
        points = io.read_frame(conn, PUBLISHED_TABLES["measure_capability_point"])
        wip = io.read_frame(conn, PUBLISHED_TABLES["measure_wip"])
        period_start = conn.execute(sa.text(
            "SELECT period_start FROM published.measure_demand WHERE period_type = 'month'")).scalar_one()
    engine.dispose()
    assert str(period_start) == "2026-11-01"
    assert demand.query("period_type == 'month'")["contacts"].tolist() == [12]
    assert sorted(points["journey_id"]) == [f"J-{i}" for i in range(6)]
    assert points["in_run"].fillna(False).astype(bool).tolist() == [False] * 6
    assert wip["suppressed"].tolist() == ["", "", "", ""]


def test_measures_accept_what_assemble_journeys_produces(council):
    """The contract between the stages: real journeys output, not hand-made frames."""
    for i in range(6):
        council.call(f"C{i}", f"2026-06-0{i + 1} 09:00", person=f"P{i}", case_ref=f"K{i}")
        council.case(f"K{i}", f"2026-06-0{i + 1} 09:10", person=f"P{i}", channel="phone",
                     closed=f"2026-06-1{i} 10:00")
        council.call(f"CH{i}", f"2026-06-0{i + 2} 09:00", person=f"P{i}", wrap="progress_chase", case_ref=f"K{i}")
    as_of = pd.Timestamp("2026-06-30 22:59:59.999999")
    result = council.assemble(str(as_of)).result
    out = build_measures(result.journey, result.journey_event, RULES, as_of)
    month = out["measure_demand"].query("period_type == 'month'").iloc[0]
    assert (month["contacts"], month["value_contacts"], month["failure_progress_chase"]) == (12, 6, 6)
    assert out["measure_capability"].loc[0, "journeys"] == 6
