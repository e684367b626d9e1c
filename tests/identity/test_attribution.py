"""Call attribution (journeys.md, People): one scenario per rule, no Splink involved.

People are given directly as a person_record, so each test reads as: who holds which
case, which numbers they gave, and who rang.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.identity.attribution import attribute_calls, ref_keys, resolve_case_refs

ANN_MOBILE, BEN_MOBILE, HOME = "+447700900101", "+447700900202", "+441632960555"
SWITCHBOARD = "+441632960000"


@pytest.fixture()
def people(kit):
    """Ann and Ben share a household landline; Ann also has a mobile."""
    cases = kit.cases(
        {"case_id": "CA-1", "phone": ANN_MOBILE, "service": "Highways",
         "opened_at": "2026-03-01 09:00", "closed_at": "2026-03-03 09:00"},
        {"case_id": "CA-2", "phone": HOME, "service": "Waste", "opened_at": "2026-03-10 09:00"},
        {"case_id": "CB-1", "phone": HOME, "service": "Highways",
         "opened_at": "2026-01-01 09:00", "closed_at": "2026-01-02 09:00"},
        {"case_id": "CB-2", "phone": None, "service": "Housing Repairs",
         "opened_at": "2026-03-20 09:00", "closed_at": "2026-03-25 09:00"},
    )
    record = pd.DataFrame({"case_id": ["CA-1", "CA-2", "CB-1", "CB-2"], "person_id": ["ANN", "ANN", "BEN", "BEN"]})
    return cases, record


def attribute(kit, people, *calls, blocked=(SWITCHBOARD,)):
    cases, record = people
    frame, report = attribute_calls(kit.calls(*calls), cases, record, blocked, kit.journey_rules)
    return frame.set_index("call_id"), report


def test_case_ref_tolerates_case_and_spaces(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L1", "case_ref": " cb-1 ", "caller_number": ANN_MOBILE})
    assert out.loc["L1", ["person_id", "method", "resolved_case_id"]].tolist() == ["BEN", "case_ref", "CB-1"]


def test_unresolved_ref_is_reported_not_guessed_and_falls_through_to_phone(kit, people):
    out, report = attribute(kit, people, {"call_id": "L1", "case_ref": "CA-9", "caller_number": ANN_MOBILE})
    assert out.loc["L1", ["person_id", "method", "resolved_case_id"]].tolist() == ["ANN", "phone", None]
    assert report["unresolved_case_refs"] == 1 and report["unresolved_case_ref_calls"] == ["L1"]


def test_ref_matching_two_cases_once_normalised_resolves_to_nothing():
    refs = resolve_case_refs(ref_keys(pd.Series(["ab-1", "AB-2"])), pd.Series(["AB-1", "ab-1", "AB-2"]))
    assert refs.tolist()[0] is None or pd.isna(refs.tolist()[0])
    assert refs.tolist()[1] == "AB-2"
    assert ref_keys(pd.Series([" a b ", None, "  "])).tolist() == ["AB", None, None]


def test_number_on_one_persons_records(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L1", "caller_number": ANN_MOBILE})
    assert out.loc["L1", ["person_id", "method"]].tolist() == ["ANN", "phone"]


def test_numbers_learnt_from_calls_whose_ref_resolved(kit, people):
    new_number = "+447700900303"
    out, _ = attribute(kit, people,
                       {"call_id": "L1", "caller_number": new_number, "case_ref": "CB-2"},
                       {"call_id": "L2", "caller_number": new_number, "started_at": "2026-03-22 10:00"})
    assert out.loc["L2", ["person_id", "method"]].tolist() == ["BEN", "phone"]


@pytest.mark.parametrize(("service", "started_at", "expected"), [
    ("Waste", "2026-03-12 10:00", ("ANN", "household")),  # Ann's Waste case is open at the call
    ("Highways", "2026-01-20 10:00", ("BEN", "household")),  # Ben's closed 18 days before (window 28)
    ("Highways", "2026-02-05 10:00", (None, "ambiguous")),  # Ben's closed 34 days before: too long ago
    ("Housing Repairs", "2026-03-20 08:30", ("BEN", "household")),  # Ben's case opened 30 min after
    ("Housing Repairs", "2026-03-20 07:30", (None, "ambiguous")),  # ... 90 min after: too late
    ("Council Tax", "2026-03-12 10:00", (None, "ambiguous")),  # no live need in that service
])
def test_shared_number_goes_to_the_one_person_with_a_live_need(kit, people, service, started_at, expected):
    out, _ = attribute(kit, people, {"call_id": "L1", "caller_number": HOME, "service": service,
                                     "started_at": started_at})
    assert tuple(out.loc["L1", ["person_id", "method"]]) == expected


def test_shared_number_with_two_live_needs_is_ambiguous(kit, people):
    cases, record = people
    cases = pd.concat([cases, kit.cases({"case_id": "CB-3", "phone": HOME, "service": "Waste",
                                         "opened_at": "2026-03-11 09:00"})], ignore_index=True)
    record = pd.concat([record, pd.DataFrame({"case_id": ["CB-3"], "person_id": ["BEN"]})], ignore_index=True)
    out, _ = attribute(kit, (cases, record), {"call_id": "L1", "caller_number": HOME, "service": "Waste",
                                              "started_at": "2026-03-12 10:00"})
    assert tuple(out.loc["L1", ["person_id", "method"]]) == (None, "ambiguous")


@pytest.mark.parametrize(("number", "method"), [(None, "withheld"), (SWITCHBOARD, "blocked"),
                                                ("+447700900999", "unknown_number")])
def test_unattributed_calls_say_why(kit, people, number, method):
    out, report = attribute(kit, people, {"call_id": "L1", "caller_number": number})
    assert tuple(out.loc["L1", ["person_id", "method"]]) == (None, method)
    assert report["call_legs_by_method"] == {method: 1}


def test_blocked_number_learnt_from_a_ref_still_attributes_nothing(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L1", "caller_number": SWITCHBOARD, "case_ref": "CA-1"},
                       {"call_id": "L2", "caller_number": SWITCHBOARD})
    assert tuple(out.loc["L2", ["person_id", "method"]]) == (None, "blocked")


def test_transfer_legs_follow_their_first_leg(kit, people):
    out, _ = attribute(
        kit, people,
        {"call_id": "L1", "caller_number": ANN_MOBILE},
        {"call_id": "L2", "parent_call_id": "L1", "caller_number": None, "service": "Waste"},
        {"call_id": "L3", "parent_call_id": "L2", "caller_number": None},  # chained: still L1's
        {"call_id": "L4", "parent_call_id": "L1", "case_ref": "CB-1"},  # own resolving ref wins
        {"call_id": "L5", "parent_call_id": "L1", "case_ref": "nope"},  # own ref unresolved: parent
    )
    assert out.loc[["L2", "L3", "L5"], "method"].tolist() == ["parent_leg"] * 3
    assert out.loc[["L2", "L3", "L5"], "person_id"].tolist() == ["ANN"] * 3
    assert tuple(out.loc["L4", ["person_id", "method"]]) == ("BEN", "case_ref")


def test_transfer_leg_of_an_unattributed_call_keeps_the_reason(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L1", "caller_number": None},
                       {"call_id": "L2", "parent_call_id": "L1", "caller_number": ANN_MOBILE})
    assert tuple(out.loc["L2", ["person_id", "method"]]) == (None, "withheld")


def test_transfer_leg_whose_parent_is_not_in_the_extract_stands_alone(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L2", "parent_call_id": "L-missing", "caller_number": ANN_MOBILE})
    assert tuple(out.loc["L2", ["person_id", "method"]]) == ("ANN", "phone")


def test_a_transfer_cycle_in_bad_data_terminates(kit, people):
    out, _ = attribute(kit, people, {"call_id": "L1", "parent_call_id": "L2", "caller_number": ANN_MOBILE},
                       {"call_id": "L2", "parent_call_id": "L1", "caller_number": ANN_MOBILE})
    assert set(out["person_id"]) == {"ANN"}
