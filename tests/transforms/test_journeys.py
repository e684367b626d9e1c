"""Journey assembly: rules 1-5 of journeys.md, one hand-made scenario per rule and edge."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from pipeline.transforms.journeys import (JourneyInputError, assemble_journeys, attach_works_orders,
                                          journey_id_for, outward_code)


# --------------------------------------------------------------------------- rule 1 and ids


def test_each_case_seeds_its_own_journey(council):
    council.case("C1", "2026-03-02 09:00").case("C2", "2026-03-02 10:00", category="Streetlight out")
    out = council.assemble()
    assert not out.together("C1", "C2")
    assert len(out.result.journey) == 2


def test_journey_id_is_a_hash_of_the_seeding_record(council):
    council.case("C1", "2026-03-02 09:00").call("K1", "2026-03-02 09:00", person=None, wrap="information_given")
    out = council.assemble()
    assert out.journey_of("C1") == "J-" + hashlib.sha256(b"crm:C1").hexdigest()[:16]
    assert out.journey_of("K1") == journey_id_for("telephony:K1")


def test_journey_ids_do_not_depend_on_row_order(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00").case("C2", "2026-03-10 09:00")
    council.call("K1", "2026-03-04 09:00").call("K2", "2026-03-04 09:00", person="P2")
    frames = council.frames()
    shuffled = {k: v.iloc[::-1].reset_index(drop=True) for k, v in frames.items()}
    as_of = pd.Timestamp("2026-06-30")
    a = assemble_journeys(**frames, rules=council.rules, as_of=as_of).membership
    b = assemble_journeys(**shuffled, rules=council.rules, as_of=as_of).membership
    key = ["system", "source_ref"]
    pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True))


# --------------------------------------------------------------------------- rule 2


def test_duplicate_of_chain_joins_the_root_case(council):
    council.case("C1", "2026-03-02 09:00")
    council.case("C2", "2026-03-03 09:00", person="P2", duplicate_of="C1")
    council.case("C3", "2026-03-04 09:00", person="P3", category="Streetlight out", duplicate_of="c2 ")
    out = council.assemble()
    assert out.together("C1", "C2", "C3")
    assert out.of("C1")["person_id"] == "P1"


def test_duplicate_of_loop_ends_at_the_earliest_case_and_is_reported(council):
    council.case("C1", "2026-03-02 09:00", duplicate_of="C2").case("C2", "2026-03-01 09:00", duplicate_of="C1")
    out = council.assemble()
    assert out.together("C1", "C2")
    assert out.journey_of("C1") == journey_id_for("crm:C2")
    assert out.result.report["duplicate_of_loops"] == 2


def test_duplicate_of_an_unknown_case_seeds_its_own_journey_and_is_reported(council):
    council.case("C1", "2026-03-02 09:00", duplicate_of="C404")
    out = council.assemble()
    assert out.journey_of("C1") == journey_id_for("crm:C1")
    assert out.result.report["duplicate_of_unresolved"] == 1


# --------------------------------------------------------------------------- rule 3


def test_repeat_case_while_open_joins(council):
    council.case("C1", "2026-03-02 09:00").case("C2", "2026-03-20 09:00")
    out = council.assemble()
    assert out.together("C1", "C2")
    assert out.demand("C2") == ("failure", "repeat")


def test_repeat_case_inside_the_window_after_met_joins_and_reopens(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.case("C2", "2026-04-02 09:00")  # 28 days after met
    out = council.assemble()
    assert out.together("C1", "C2")
    assert out.demand("C2") == ("failure", "not_done_right")
    assert out.of("C1")["status"] == "open"


def test_repeat_case_outside_the_window_seeds_a_new_journey(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.case("C2", "2026-04-02 09:01")  # just over 28 days after met
    out = council.assemble()
    assert not out.together("C1", "C2")
    assert out.of("C1")["status"] == "met"


def test_window_is_configurable(make_council):
    c = make_council(reopen_window_days=40)
    c.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00").case("C2", "2026-04-10 09:00")
    assert c.assemble().together("C1", "C2")


def test_repeat_needs_same_person_service_and_category(council):
    council.case("C1", "2026-03-02 09:00")
    council.case("C2", "2026-03-03 09:00", person="P2")
    council.case("C3", "2026-03-03 09:00", category="Streetlight out")
    council.case("C4", "2026-03-03 09:00", service="Waste", category="Pothole")
    out = council.assemble()
    assert len({out.journey_of(c) for c in ("C1", "C2", "C3", "C4")}) == 4


@pytest.mark.parametrize("first, second, joined", [
    ({"location_uprn": "100"}, {"location_uprn": "200"}, False),
    ({"location_uprn": "100"}, {"location_uprn": "100"}, True),
    ({"location_uprn": "100", "location_usrn": "7"}, {"location_usrn": "8"}, False),
    ({"location_uprn": "100", "location_usrn": "7"}, {"location_uprn": "200", "location_usrn": "7"}, False),
    ({"location_postcode": "LS6 1AA"}, {"location_postcode": "LS6 2BB"}, False),
    ({"location_postcode": "LS6 1AA"}, {}, True),
    ({}, {"location_uprn": "100"}, True),
])
def test_repeat_at_a_different_location_is_a_new_need(council, first, second, joined):
    council.case("C1", "2026-03-02 09:00", **first).case("C2", "2026-03-03 09:00", **second)
    assert council.assemble().together("C1", "C2") is joined


def test_repeat_joins_a_withdrawn_journey_never(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00", status="cancelled", reason="withdrawn")
    council.case("C2", "2026-03-05 09:00")
    assert not council.assemble().together("C1", "C2")


# --------------------------------------------------------------------------- rule 4


def test_call_with_a_ref_that_resolves_joins_that_case(council):
    council.case("C1", "2026-03-02 09:00", person="P9")
    council.call("K1", "2026-03-04 09:00", person=None, case_ref="c1", resolved="C1", queue="Waste")
    out = council.assemble()
    assert out.together("C1", "K1")
    assert out.demand("K1") == ("failure", "progress_chase")


def test_call_with_a_ref_that_does_not_resolve_falls_back_to_the_person(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-04 09:00", case_ref="C999")  # identity resolved it to no case
    council.attribution[-1]["resolved_case_id"] = None
    out = council.assemble()
    assert out.together("C1", "K1")
    assert out.result.report["call_refs_unresolved"] == 1


def test_call_with_a_ref_to_a_case_opened_after_as_of_is_not_usable(council):
    council.case("C1", "2026-07-02 09:00")
    council.call("K1", "2026-06-04 09:00", person=None, case_ref="C1")
    out = council.assemble(as_of="2026-06-30 23:00")
    assert out.of("K1")["status"] == "unlinked"


def test_chase_while_open_joins_the_persons_journey_in_that_service(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-10 09:00", wrap="progress_chase")
    council.call("K2", "2026-03-10 10:00", queue="Waste", wrap="progress_chase")
    out = council.assemble()
    assert out.together("C1", "K1")
    assert not out.together("C1", "K2")
    assert out.demand("K1") == ("failure", "progress_chase")


def test_call_after_met_inside_the_window_reopens(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.call("K1", "2026-03-20 09:00", wrap="new_request")
    out = council.assemble()
    assert out.together("C1", "K1")
    assert out.demand("K1") == ("failure", "not_done_right")
    journey = out.of("C1")
    assert journey["status"] == "open" and pd.isna(journey["ended_at"]) and not journey["clean"]


def test_call_after_met_outside_the_window_is_a_journey_of_its_own(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.call("K1", "2026-04-20 09:00", wrap="progress_chase")
    out = council.assemble()
    assert not out.together("C1", "K1")
    assert out.of("K1")["status"] == "unlinked"
    assert out.of("C1")["status"] == "met"


def test_call_then_case_within_the_link_window_is_one_need(council):
    council.call("K1", "2026-03-02 09:00", minutes=10)
    council.case("C1", "2026-03-02 10:00", channel="phone")  # 60 minutes after the call started
    out = council.assemble()
    assert out.together("C1", "K1")
    assert out.of("C1")["contacts"] == 1
    assert out.demand("K1") == ("value", None)
    assert out.demand("C1") == (None, None)  # the case is the call's record, not a contact
    assert out.journey_of("K1") == journey_id_for("crm:C1")  # the case seeds the journey


def test_call_then_case_after_the_link_window_are_two_needs(council):
    council.call("K1", "2026-03-02 09:00", wrap="new_request")
    council.case("C1", "2026-03-02 10:01", channel="phone")
    out = council.assemble()
    assert not out.together("C1", "K1")
    assert out.demand("C1") == ("value", None)


def test_information_call_is_a_journey_of_its_own(council):
    council.call("K1", "2026-03-02 09:00", person=None, queue="Council Tax", wrap="information_given")
    journey = council.assemble().of("K1")
    assert journey["service"] == "Council Tax" and journey["category"] is None
    assert journey["first_channel"] == "phone"


def test_transfer_legs_are_one_contact_in_one_journey(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-05 09:00", wrap="transferred", team="Contact Centre")
    council.call("K2", "2026-03-05 09:03", parent="K1", team="Highways Hub", wrap="progress_chase", case_ref="C1")
    council.attribution[-1]["person_id"] = None
    out = council.assemble()
    assert out.together("C1", "K1", "K2")
    assert out.of("C1")["contacts"] == 2
    assert out.demand("K1") == ("failure", "progress_chase")
    assert out.demand("K2") == (None, None)


# --------------------------------------------------------------------------- rule 5


def test_works_order_joins_its_case_ignoring_case_and_spaces(council):
    council.case("CAS-1", "2026-03-02 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref=" cas-1")
    out = council.assemble()
    assert out.together("CAS-1", "W1")
    assert out.of("W1")["works_orders"] == 1


def test_follow_on_without_its_own_ref_joins_its_parents_journey(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-09 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00",
                        outcome="follow_on_required")
    council.works_order("W2", "2026-03-05 09:00", parent="W1", completed="2026-03-08 09:00")
    council.works_order("W3", "2026-03-06 09:00", parent="W2", completed="2026-03-08 09:00")
    out = council.assemble()
    assert out.together("C1", "W1", "W2", "W3")
    journey = out.of("C1")
    assert (journey["works_orders"], journey["follow_on_works_orders"]) == (3, 2)
    assert journey["status"] == "met" and not journey["clean"]


def test_proactive_works_order_is_counted_in_no_journey(council):
    council.works_order("W1", "2026-03-03 09:00", completed="2026-03-04 09:00")
    council.works_order("W2", "2026-03-03 09:00", case_ref="C404")
    out = council.assemble()
    assert out.result.proactive_works_orders == 2
    assert out.result.membership.empty and out.result.journey.empty
    assert out.result.report["works_orders_unresolved_ref"] == 1


def test_attach_works_orders_prefers_own_ref_then_nearest_ancestor():
    wo = pd.DataFrame({"work_order_id": ["W1", "W2", "W3", "W4"], "case_ref": ["C1", None, "C2", None],
                       "parent_work_order_id": [None, "W1", "W2", "W3"],
                       "raised_at": pd.to_datetime(["2026-03-01"] * 4)}).astype({"case_ref": object})
    cases = pd.Series(["C1", "C2"])
    assert attach_works_orders(wo, cases).tolist() == ["C1", "C1", "C2", "C2"]


# --------------------------------------------------------------------------- as-of


def test_records_after_as_of_are_ignored(council):
    council.case("C1", "2026-06-20 09:00", closed="2026-07-02 09:00")  # closed after as-of: open at as-of
    council.case("C2", "2026-07-01 09:00")
    council.call("K1", "2026-07-01 08:00")
    council.works_order("W1", "2026-07-01 09:00", case_ref="C1")
    council.event("C1", "2026-06-20 09:00", "created", team="Highways")
    council.event("C1", "2026-07-02 09:00", "closed", team="Highways", status="closed")
    out = council.assemble(as_of="2026-06-30 22:59:59")
    assert set(out.result.membership["source_ref"]) == {"C1"}
    journey = out.of("C1")
    assert journey["status"] == "open" and pd.isna(journey["ended_at"])
    assert out.events("C1")["event_type"].tolist() == ["created"]
    assert out.result.report["records_after_as_of"] == {
        "crm_cases": 1, "crm_case_events": 1, "call_logs": 1, "works_orders": 1}


# --------------------------------------------------------------------------- inputs


def test_missing_column_is_named(council):
    council.case("C1", "2026-03-02 09:00")
    frames = council.frames()
    frames["cases"] = frames["cases"].drop(columns=["duplicate_of"])
    with pytest.raises(JourneyInputError, match=r"crm_cases: missing columns \['duplicate_of'\]"):
        assemble_journeys(**frames, rules=council.rules, as_of=pd.Timestamp("2026-06-30"))


def test_empty_required_value_names_file_line_and_column(council):
    council.case("C1", "2026-03-02 09:00").case("C2", "2026-03-02 09:00")
    frames = council.frames()
    frames["cases"]["source_file"] = "landing/crm_cases/2026-03-02.csv"
    frames["cases"]["source_line"] = [1, 2]
    frames["cases"].loc[1, "opened_at"] = pd.NaT
    with pytest.raises(JourneyInputError,
                       match=r"crm_cases \(landing/crm_cases/2026-03-02.csv, line 2\), column 'opened_at': empty"):
        assemble_journeys(**frames, rules=council.rules, as_of=pd.Timestamp("2026-06-30"))


def test_time_zone_aware_timestamps_are_refused(council):
    council.call("K1", "2026-03-02 09:00")
    frames = council.frames()
    frames["calls"]["started_at"] = frames["calls"]["started_at"].dt.tz_localize("UTC")
    with pytest.raises(JourneyInputError, match=r"call_logs, column 'started_at': expected naive-UTC"):
        assemble_journeys(**frames, rules=council.rules, as_of=pd.Timestamp("2026-06-30"))


def test_duplicate_keys_are_refused(council):
    council.call("K1", "2026-03-02 09:00").call("K1", "2026-03-02 10:00")
    frames = council.frames()
    frames["call_attribution"] = frames["call_attribution"].drop_duplicates("call_id")
    with pytest.raises(JourneyInputError, match=r"call_logs row 1, column 'call_id': 'K1' appears more than once"):
        assemble_journeys(**frames, rules=council.rules, as_of=pd.Timestamp("2026-06-30"))


def test_empty_inputs_give_empty_outputs(council):
    out = council.assemble()
    assert out.result.journey.empty and out.result.journey_event.empty and out.result.membership.empty
    assert out.result.proactive_works_orders == 0


@pytest.mark.parametrize("raw, district", [("LS6 1AA", "LS6"), ("ls61aa", "LS6"), ("EC1A 1BB", "EC1A"),
                                           ("B1 1AA", "B1"), ("LS6", None), ("not a postcode", None), (None, None)])
def test_outward_code(raw, district):
    got = outward_code(pd.Series([raw], dtype=object)).iloc[0]
    assert (got if isinstance(got, str) else None) == district
