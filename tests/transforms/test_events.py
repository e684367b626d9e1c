"""The events of each journey: what each record contributes, their order and hand-offs."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.events import EVENT_COLUMNS, handoffs
from pipeline.warehouse.tables import journey_event


def _rows(events: pd.DataFrame) -> list[tuple]:
    return list(zip(events["seq"], events["source_ref"], events["event_type"], events["team"]))


def test_published_columns_exactly(council):
    council.case("C1", "2026-03-02 09:00")
    events = council.assemble().result.journey_event
    assert list(events.columns) == EVENT_COLUMNS == [c.name for c in journey_event.columns]


def test_case_without_history_contributes_its_opening_and_closing(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 09:00", team="Waste Team")
    assert _rows(council.assemble().events("C1")) == [
        (1, "C1", "created", "Waste Team"), (2, "C1", "closed", "Waste Team")]


def test_case_history_is_used_as_recorded(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 09:00", team="Highways Hub")
    council.event("C1", "2026-03-02 09:00", "created", team="Contact Centre", status="open")
    council.event("C1", "2026-03-02 09:30", "note")
    council.event("C1", "2026-03-02 10:00", "assigned", team="Highways Hub", status="open")
    assert _rows(council.assemble().events("C1")) == [
        (1, "C1", "created", "Contact Centre"), (2, "C1", "note", None), (3, "C1", "assigned", "Highways Hub")]


def test_call_legs_and_works_orders(council):
    council.case("C1", "2026-03-02 09:00", channel="phone")
    council.call("K1", "2026-03-02 08:55", team="Contact Centre")
    council.call("K2", "2026-03-03 08:00", answered=False)
    council.works_order("W1", "2026-03-02 12:00", case_ref="C1", completed="2026-03-05 12:00", team="Gang 4")
    assert _rows(council.assemble().events("C1")) == [
        (1, "K1", "call", "Contact Centre"), (2, "C1", "created", "Highways"), (3, "W1", "wo_raised", "Gang 4"),
        (4, "K2", "call_abandoned", None), (5, "W1", "wo_completed", "Gang 4")]


def test_ties_order_by_system_then_source_ref(council):
    council.case("C2", "2026-03-02 09:00", person="P2")
    council.case("C1", "2026-03-02 09:00", person="P2", duplicate_of="C2")
    council.call("K1", "2026-03-02 09:00", person="P2", case_ref="C2")
    council.works_order("W1", "2026-03-02 09:00", case_ref="C2")
    assert [r[1] for r in _rows(council.assemble().events("C2"))] == ["C1", "C2", "K1", "W1"]


def test_demand_sits_on_each_contacts_first_event(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 09:00")
    council.call("K1", "2026-03-03 09:00", wrap="transferred")
    council.call("K2", "2026-03-03 09:02", parent="K1", wrap="progress_chase")
    events = council.assemble().events("C1").set_index(["source_ref", "event_type"])
    assert tuple(events.loc[("C1", "created"), ["channel", "demand_type", "failure_type"]]) == ("web", "value", None)
    assert tuple(events.loc[("C1", "closed"), ["channel", "demand_type", "failure_type"]]) == (None, None, None)
    assert tuple(events.loc[("K1", "call"), ["channel", "demand_type", "failure_type"]]) == (
        "phone", "failure", "progress_chase")
    assert tuple(events.loc[("K2", "call"), ["channel", "demand_type", "failure_type"]]) == (None, None, None)


def test_handoffs_count_team_changes_across_systems(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-09 09:00", channel="phone")
    council.call("K1", "2026-03-02 08:50", team="Contact Centre")
    council.event("C1", "2026-03-02 09:00", "created", team="Contact Centre")
    council.event("C1", "2026-03-02 10:00", "assigned", team="Highways Hub")
    council.event("C1", "2026-03-02 11:00", "note")  # carries no team: skipped, not a change
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00", team="Gang 4")
    council.call("K2", "2026-03-05 09:00", answered=False)  # no team
    council.event("C1", "2026-03-09 09:00", "closed", team="Highways Hub")
    journey = council.assemble().of("C1")
    # Contact Centre, Contact Centre -> Highways Hub -> Gang 4, Gang 4 -> Highways Hub
    assert (journey["handoffs"], journey["teams"], journey["systems"]) == (3, 3, 3)


def test_handoffs_of_events_frame():
    events = pd.DataFrame({"journey_id": ["A"] * 5 + ["B"] * 2,
                           "team": ["x", None, "x", "y", "x", "z", "z"]})
    assert handoffs(events).to_dict() == {"A": 2, "B": 0}
