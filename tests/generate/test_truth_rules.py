"""The truth's reading of journeys.md, one hand-made journey per rule."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.generate.draws import Draws
from pipeline.generate.extracts import CallState, CaseState, Snapshot, WorksOrderState
from pipeline.generate.localtime import NULL_TIME
from pipeline.generate.numbers import NumberBook
from pipeline.generate.people import ContactRecord, Household, Person, Street
from pipeline.generate.simulate import RawCall, RawCase, RawWorksOrder, World
from pipeline.generate.truth import Measures, _Attribution, _Journey, derive_truth, measure_journey

RULES = load_config(environ={}).journeys
T0 = 1_780_000_000  # a Thursday in May 2026, 20:26 UTC: only differences matter here
MIN, HOUR, DAY = 60, 3600, 86400
CC, HUB, GANG = "Contact Centre", "Highways Hub", "Highways Gang North"
SHARED = "+441632960123"


def ev(at: int, kind: str, team: str, status: str, reason: str | None = None) -> tuple:
    return (T0 + at, kind, team, status, reason, -1)


def case(case_id: str, *events: tuple, channel: str = "web", person: int = 1, need: int = 1,
         service: str = "Highways", customer: int = -1) -> CaseState:
    status, closed_at, reason = "open", NULL_TIME, None
    for t, kind, _team, new_status, new_reason, _dup in events:
        status = new_status
        if kind == "reopened":
            closed_at, reason = NULL_TIME, None
        elif new_status in ("closed", "cancelled"):
            closed_at, reason = t, new_reason
    raw = RawCase(0, need, person, customer, service, "Pothole", channel, (None, None, None), events[-1][2],
                  list(events))
    return CaseState(raw, case_id, list(events), status, closed_at, reason, -1)


def call(call_id: str, at: int, wrap: str | None = "progress_chase", *, team: str | None = CC,
         parent: str | None = None, ref: str | None = None, person: int = 1, number: str | None = None,
         queue: str = "Highways", minutes: int = 5) -> CallState:
    answered = T0 + at + 10 if team else -1
    raw = RawCall(0, -1, person, number, number or "withheld", T0 + at, answered, T0 + at + minutes * MIN,
                  queue, None, team, wrap if team else None)
    return CallState(raw, call_id, parent, ref)


def works(wo_id: str, raised: int, done: int | None, outcome: str = "fixed", parent: str | None = None,
          status: str = "completed") -> WorksOrderState:
    raw = RawWorksOrder(0, 0, True, -1, "Pothole repair", "P3", GANG, (None, None, None), T0 + raised, -1,
                        T0 + done if done is not None else -1, status if done is not None else None, outcome)
    if done is None:
        return WorksOrderState(raw, wo_id, "C1", parent, "raised", NULL_TIME, NULL_TIME, None)
    completed = T0 + done if status == "completed" else NULL_TIME
    return WorksOrderState(raw, wo_id, "C1", parent, status, completed, T0 + done,
                           outcome if status == "completed" else None)


def measure(cases=(), wos=(), contacts=()) -> Measures:
    return measure_journey(_Journey(1, "Highways", "Pothole", list(cases), list(wos), [list(c) for c in contacts]),
                           RULES)


CLOSED_WEB = case("C1", ev(0, "created", HUB, "open"), ev(DAY, "closed", HUB, "closed", "resolved"))


# ------------------------------------------------------------------ contacts and status


def test_a_phone_case_logged_during_its_call_is_not_a_second_contact():
    c = case("C1", ev(5 * MIN, "created", CC, "open"), ev(HOUR, "assigned", HUB, "open"),
             ev(2 * DAY, "closed", HUB, "closed", "resolved"), channel="phone")
    m = measure([c], contacts=[[call("L1", 0, "new_request", ref="C1")]])
    assert (m.status, m.contacts, m.value_contacts, m.handoffs) == ("met", 1, 1, 1)
    assert m.started_at == T0 and m.ended_at == T0 + 2 * DAY


def test_a_phone_case_without_a_call_shortly_before_is_a_contact():
    c = case("C1", ev(3 * HOUR, "created", CC, "open"), channel="phone")
    assert measure([c]).contacts == 1
    m = measure([c], contacts=[[call("L1", 0, "new_request")]])  # the call was 3 hours before
    assert m.contacts == 2 and m.failures["repeat"] == 1


def test_a_call_after_met_pulls_the_journey_back_in():
    m = measure([CLOSED_WEB], contacts=[[call("L1", 3 * DAY, "new_request", ref="C1")]])
    assert m.status == "open" and m.ended_at == NULL_TIME
    assert m.failures["not_done_right"] == 1


def test_reopened_and_closed_again_is_met_at_the_last_closure():
    c = case("C1", ev(0, "created", HUB, "open"), ev(DAY, "closed", HUB, "closed", "resolved"),
             ev(3 * DAY + 5 * MIN, "reopened", HUB, "open"), ev(5 * DAY, "closed", HUB, "closed", "resolved"))
    m = measure([c], contacts=[[call("L1", 3 * DAY, "new_request", ref="C1")]])
    assert (m.status, m.ended_at, m.failures["not_done_right"]) == ("met", T0 + 5 * DAY, 1)
    staff_only = measure([case("C2", *c.events[:3])])
    assert staff_only.status == "open"


def test_a_follow_on_keeps_the_journey_open_until_it_is_done():
    first = works("W1", 2 * HOUR, 2 * DAY, outcome="follow_on_required")
    assert measure([CLOSED_WEB], [first]).status == "open"
    assert measure([CLOSED_WEB], [first, works("W2", 3 * DAY, None, parent="W1")]).status == "open"
    m = measure([CLOSED_WEB], [first, works("W2", 3 * DAY, 4 * DAY, parent="W1")])
    assert (m.status, m.ended_at) == ("met", T0 + 4 * DAY)
    assert m.handoffs == 3  # Hub created, Gang raises W1, Hub closes, Gang completes W1 and does W2


def test_a_cancelled_works_order_does_not_block_met():
    m = measure([CLOSED_WEB], [works("W1", HOUR, 2 * HOUR, status="cancelled")])
    assert (m.status, m.ended_at) == ("met", T0 + DAY)


@pytest.mark.parametrize("last", [ev(DAY, "status_changed", HUB, "cancelled", "withdrawn"),
                                  ev(DAY, "closed", HUB, "closed", "withdrawn")])
def test_withdrawn_when_every_case_is_cancelled_or_withdrawn(last):
    assert measure([case("C1", ev(0, "created", HUB, "open"), last)]).status == "withdrawn"


def test_call_only_journeys():
    info = measure(contacts=[[call("L1", 0, "information_given", minutes=7)]])
    assert (info.status, info.ended_at, info.contacts) == ("met", T0 + 7 * MIN, 1)
    assert measure(contacts=[[call("L1", 0, team=None)]]).status == "abandoned"
    assert measure(contacts=[[call("L1", 0, "progress_chase")]]).status == "unlinked"
    assert measure(contacts=[[call("L1", 0, "wrong_number")]]).status == "unlinked"


def test_failure_types_while_open():
    c = case("C1", ev(0, "created", HUB, "open"), ev(20 * DAY, "closed", HUB, "closed", "duplicate"))
    repeat = case("C2", ev(2 * DAY, "created", HUB, "open"), ev(21 * DAY, "closed", HUB, "closed", "resolved"))
    transfer = [call("L3", 5 * DAY, "transferred"), call("L4", 5 * DAY + 6 * MIN, "complaint", team=HUB, parent="L3")]
    m = measure([c, repeat], contacts=[[call("L1", DAY, "progress_chase")], [call("L2", 3 * DAY, "new_request")],
                                       transfer, [call("L5", 6 * DAY, "repeat_report")], [call("L6", 7 * DAY, team=None)]])
    assert m.contacts == 7 and m.value_contacts == 1
    assert m.failures == {"progress_chase": 3, "repeat": 2, "complaint": 1, "not_done_right": 0}
    assert m.status == "met" and m.ended_at == T0 + 21 * DAY


def test_abandoned_legs_carry_no_team():
    c = case("C1", ev(0, "created", HUB, "open"), ev(DAY, "closed", HUB, "closed", "resolved"))
    assert measure([c], contacts=[[call("L1", HOUR, team=None)]]).handoffs == 0
    assert measure([c], contacts=[[call("L1", HOUR, team=CC)]]).handoffs == 2


# ------------------------------------------------------------------ rule 4 by number


def _attribution(journeys, measures, known):
    return _Attribution(journeys, measures, known, RULES)


def _met(started: int, ended: int) -> Measures:
    return Measures("met", T0 + started, T0 + ended, 1, 1, {}, 0)


def test_a_shared_number_goes_to_the_one_person_with_a_live_journey():
    j1, j2 = _Journey(1, "Highways", "Pothole", [CLOSED_WEB]), _Journey(2, "Waste", "Missed bin", [CLOSED_WEB])
    a = _attribution([j1, j2], [_met(0, DAY), _met(0, DAY)], {SHARED: {1, 2}})
    assert a.journey_of(SHARED, "Highways", T0 + 10 * DAY) == 0
    assert a.journey_of(SHARED, "Waste", T0 + 10 * DAY) == 1
    assert a.journey_of(SHARED, "Highways", T0 + 30 * DAY) is None  # met more than 28 days before
    assert a.journey_of(None, "Highways", T0 + 10 * DAY) is None  # withheld


def test_a_shared_number_with_two_live_people_stays_unattributed():
    j1, j2 = _Journey(1, "Highways", "Pothole", [CLOSED_WEB]), _Journey(2, "Highways", "Pothole", [CLOSED_WEB])
    a = _attribution([j1, j2], [_met(0, DAY), _met(0, DAY)], {SHARED: {1, 2}})
    assert a.journey_of(SHARED, "Highways", T0 + 10 * DAY) is None


def test_a_call_joins_a_case_opened_within_the_link_window_after_it():
    later = case("C9", ev(DAY + 30 * MIN, "created", CC, "open"))
    j = _Journey(1, "Highways", "Pothole", [later])
    a = _attribution([j], [Measures("open", T0 + DAY + 30 * MIN, NULL_TIME, 1, 1, {}, 0)], {SHARED: {1}})
    assert a.journey_of(SHARED, "Highways", T0 + DAY) == 0
    assert a.journey_of(SHARED, "Highways", T0 + DAY - 31 * MIN) is None


# ------------------------------------------------------------------ a call that would reopen someone else's need


def _world_with_shared_landline(second_case_open: bool) -> tuple[World, Snapshot]:
    street = Street("Mill Lane", "99001001", ("ZX1 1AB",))
    home = Household(1, street, "ZX1 1AB", "90000000001", ("landline", "90000000001"))
    numbers = NumberBook(Draws(np.random.default_rng(0)))
    people = [Person(i, f"P{i + 1:06d}", home, "Ann", "Lockwood", "1970-01-01", numbers, [],
                     [(0, f"ann{i}@example.com")], ("other", i)) for i in range(2)]
    world = World(people)
    for key, person in ((10, 0), (11, 1)):
        world.customers[key] = ContactRecord(key, person, T0, "Ann", "Lockwood", None, "01632 960123", SHARED,
                                             None, None, None, None)
    own = case("C1", ev(0, "created", "Waste Ops", "open"), ev(DAY, "closed", "Waste Ops", "closed", "resolved"),
               person=0, need=1, service="Waste", customer=10)
    events = [ev(0, "created", HUB, "open")] + ([] if second_case_open else
                                                [ev(DAY, "closed", HUB, "closed", "resolved")])
    other = case("C2", *events, person=1, need=2, customer=11)
    snap = Snapshot(T0 + 60 * DAY, cases={"C1": own, "C2": other},
                    calls={"L1": call("L1", 5 * DAY, "information_given", person=0, number=SHARED)})
    return world, snap


def test_a_call_that_would_reopen_another_persons_need_is_withheld():
    world, snap = _world_with_shared_landline(second_case_open=False)
    truth = derive_truth(world, snap, RULES)
    assert truth.withheld == ["L1"]
    status = dict(zip(truth.journeys["journey_id"], truth.journeys["status"]))
    members = truth.records.set_index("source_ref")["journey_id"]
    assert members["L1"] not in (members["C1"], members["C2"])
    assert status[members["C2"]] == "met" and status[members["L1"]] == "met"


def test_a_call_into_another_persons_open_need_joins_it():
    world, snap = _world_with_shared_landline(second_case_open=True)
    truth = derive_truth(world, snap, RULES)
    members = truth.records.set_index("source_ref")
    assert truth.withheld == []
    assert members.loc["L1", "journey_id"] == members.loc["C2", "journey_id"]
    assert members.loc["L1", "person_id"] == "P000001" and members.loc["C2", "person_id"] == "P000002"
