"""Value and failure demand of each contact, and the precedence where journeys.md is open."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.transforms.demand import classify_demand


def _contacts(*rows) -> pd.DataFrame:
    """(minutes after start, kind, wrap failure type) of one journey's contacts, in order."""
    start = pd.Timestamp("2026-03-02 09:00")
    return pd.DataFrame([{"journey_id": 1, "system": "crm" if kind == "case" else "telephony",
                          "source_ref": f"R{i}", "contact_at": start + pd.Timedelta(minutes=m), "channel": "phone",
                          "kind": kind, "wrap_failure": wrap} for i, (m, kind, wrap) in enumerate(rows)])


def _classify(contacts, found_met=None):
    found = pd.Series(found_met or [False] * len(contacts), index=contacts.index)
    out = classify_demand(contacts, found)
    return list(zip(out["demand_type"], out["failure_type"]))


def test_first_contact_is_value_whatever_its_wrap_code():
    assert _classify(_contacts((0, "call", "complaint"))) == [("value", None)]
    assert _classify(_contacts((0, "call", "progress_chase")), found_met=[True]) == [("value", None)]


@pytest.mark.parametrize("kind, wrap, found_met, expected", [
    ("call", None, False, "progress_chase"),  # a call while open
    ("call", "progress_chase", False, "progress_chase"),
    ("call", "complaint", False, "complaint"),
    ("call", "repeat", False, "repeat"),  # repeat_report wrap
    ("case", None, False, "repeat"),  # a duplicate or repeat case
    ("call", None, True, "not_done_right"),
    ("case", None, True, "not_done_right"),
    ("call", "complaint", True, "complaint"),  # the wrap code's type comes first
    ("call", "progress_chase", True, "progress_chase"),
])
def test_later_contact(kind, wrap, found_met, expected):
    contacts = _contacts((0, "case", None), (600, kind, wrap))
    assert _classify(contacts, found_met=[False, found_met])[1] == ("failure", expected)


def test_complaint_after_met_is_a_complaint_and_a_plain_call_not_done_right(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.call("K1", "2026-03-04 09:00", wrap="complaint")
    council.call("K2", "2026-03-06 09:00", wrap="complaint")
    council.case("C2", "2026-03-07 09:00", closed="2026-03-08 09:00")
    council.call("K3", "2026-03-09 09:00", wrap="new_request")
    out = council.assemble()
    assert out.together("C1", "K1", "K2", "C2", "K3")
    assert out.demand("K1") == ("failure", "complaint")
    assert out.demand("K2") == ("failure", "complaint")  # found it met, but said complaint
    assert out.demand("C2") == ("failure", "repeat")  # K2 had pulled it back in: open
    assert out.demand("K3") == ("failure", "not_done_right")  # met again at C2's closure
    journey = out.of("C1")
    assert (journey["value_contacts"], journey["failure_contacts"], journey["failure_complaint"],
            journey["failure_repeat"], journey["failure_not_done_right"]) == (1, 4, 2, 1, 1)


def test_chase_after_a_crm_reopening_is_a_chase(council):
    council.case("C1", "2026-03-02 09:00", status="open")
    council.event("C1", "2026-03-02 09:00", "created", team="Highways")
    council.event("C1", "2026-03-04 09:00", "closed", team="Highways", status="closed")
    council.call("K1", "2026-03-05 09:00", wrap=None)
    council.event("C1", "2026-03-06 09:00", "reopened", team="Highways", status="open")
    council.call("K2", "2026-03-07 09:00", wrap=None)
    out = council.assemble()
    assert out.demand("K1") == ("failure", "not_done_right")
    assert out.demand("K2") == ("failure", "progress_chase")


def test_new_request_wrap_on_a_later_call_is_a_chase(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-04 09:00", wrap="new_request")
    assert council.assemble().demand("K1") == ("failure", "progress_chase")


def test_abandoned_call_counts_as_a_contact(council):
    council.case("C1", "2026-03-02 09:00")
    council.call("K1", "2026-03-04 09:00", answered=False)
    out = council.assemble()
    assert out.demand("K1") == ("failure", "progress_chase")
    assert out.of("C1")["contacts"] == 2
