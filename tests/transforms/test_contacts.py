"""Contacts: calls as one contact however many legs, and which cases count as contacts."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.contacts import call_contacts, call_legs, unknown_wrap_codes, wrap_failure_types


def test_transfer_chain_is_one_contact_decided_by_its_root(council):
    council.call("K1", "2026-03-02 09:00", queue="General", wrap="transferred", person=None)
    council.call("K2", "2026-03-02 09:04", parent="K1", queue="Waste", wrap="complaint", case_ref="C1")
    council.call("K3", "2026-03-02 09:09", parent="K2", queue="Highways", wrap="progress_chase", person="P7")
    council.case("C1", "2026-03-01 09:00")
    frames = council.frames()
    legs = call_legs(frames["calls"], frames["call_attribution"], frames["cases"]["case_id"], council.rules)
    assert legs["contact_id"].tolist() == ["K1", "K1", "K1"]
    contact = call_contacts(legs).set_index("contact_id").loc["K1"]
    assert contact["contact_at"] == pd.Timestamp("2026-03-02 09:00")
    assert contact["service"] == "General Enquiries"  # the root leg's queue
    assert contact["person_id"] == "P1"  # the first leg (after the root) with a person
    assert contact["case_id"] == "C1"  # the first leg whose ref resolved
    assert contact["wrap_failure"] == "complaint"
    assert not contact["abandoned"] and not contact["information_given"]


def test_a_chain_is_abandoned_only_when_every_leg_is(council):
    council.call("K1", "2026-03-02 09:00", answered=False).call("K2", "2026-03-02 09:01", parent="K1")
    frames = council.frames()
    legs = call_legs(frames["calls"], frames["call_attribution"], pd.Series([], dtype=object), council.rules)
    assert not call_contacts(legs).set_index("contact_id").loc["K1", "abandoned"]


def test_transfer_legs_count_once_in_the_journey(council):
    council.call("K1", "2026-03-02 09:00", wrap="transferred")
    council.call("K2", "2026-03-02 09:03", parent="K1", team="Highways Hub", wrap="new_request")
    council.case("C1", "2026-03-02 09:10", channel="phone")
    out = council.assemble()
    assert out.together("K1", "K2", "C1")
    assert out.of("C1")["contacts"] == 1


def test_phone_case_with_a_call_up_to_the_link_window_before_is_not_a_contact(council):
    council.case("C1", "2026-03-02 10:00", channel="phone", closed="2026-03-03 10:00")
    council.call("K1", "2026-03-02 09:00", case_ref="C1")
    out = council.assemble()
    assert out.demand("C1") == (None, None) and out.demand("K1") == ("value", None)


def test_phone_case_with_the_call_longer_before_is_a_contact(council):
    council.case("C1", "2026-03-02 10:01", channel="phone", closed="2026-03-03 10:00")
    council.call("K1", "2026-03-02 09:00", case_ref="C1")
    out = council.assemble()
    assert out.demand("K1") == ("value", None) and out.demand("C1") == ("failure", "repeat")
    assert out.of("C1")["contacts"] == 2


def test_phone_case_with_no_call_is_the_record_of_a_missing_call(council):
    council.case("C1", "2026-03-02 10:00", channel="phone")
    out = council.assemble()
    assert out.demand("C1") == ("value", None)
    assert out.of("C1")["first_channel"] == "phone"


def test_web_case_is_a_contact_even_right_after_a_call(council):
    council.call("K1", "2026-03-02 09:50")
    council.case("C1", "2026-03-02 10:00", channel="web")
    out = council.assemble()
    assert out.together("K1", "C1")
    assert out.demand("K1") == ("value", None) and out.demand("C1") == ("failure", "repeat")


def test_link_window_is_configurable(make_council):
    c = make_council(call_case_link_minutes=5)
    c.call("K1", "2026-03-02 09:50").case("C1", "2026-03-02 10:00", channel="phone")
    assert not c.assemble().together("K1", "C1")


def test_unknown_wrap_code_is_reported_not_guessed(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-03 09:00", wrap="callback_booked")
    council.call("K2", "2026-03-04 09:00", wrap="callback_booked")
    out = council.assemble()
    assert out.result.report["unknown_wrap_codes"] == {"callback_booked": 2}
    assert out.demand("K1") == ("failure", "progress_chase")  # by position: a call while open


def test_wrap_failure_types_follow_the_configured_map(make_council):
    rules = make_council(wrap_code_demand={"new_request": "value", "chase": "progress_chase", "moan": "complaint",
                                           "info": None}).rules
    codes = pd.Series(["new_request", "chase", "moan", "info", "other", None], dtype=object)
    assert wrap_failure_types(codes, rules).tolist() == [None, "progress_chase", "complaint", None, None, None]
    assert unknown_wrap_codes(codes, rules) == {"other": 1}
