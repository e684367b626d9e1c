"""Status at as-of (met / withdrawn / abandoned / unlinked / open) and the first met moment."""

from __future__ import annotations

import pandas as pd
import numpy as np
import pytest

from pipeline.transforms.linking import CLOSED_MET, CLOSED_WITHDRAWN, NOT_MET, WORKS, case_state, ns
from pipeline.transforms.status import closed_and_met, found_met, journey_status


def test_met_at_the_latest_closure_or_completion(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-06 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-08 17:00")
    journey = council.assemble().of("C1")
    assert journey["status"] == "met"
    assert journey["ended_at"] == pd.Timestamp("2026-03-08 17:00")


def test_open_while_a_works_order_is_outstanding(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-06 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1")
    assert council.assemble().of("C1")["status"] == "open"


def test_cancelled_works_order_is_done_but_completes_nothing(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-06 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", status="cancelled")
    council.works[-1]["updated_at"] = pd.Timestamp("2026-03-08 09:00")
    journey = council.assemble().of("C1")
    assert (journey["status"], journey["ended_at"]) == ("met", pd.Timestamp("2026-03-06 09:00"))


def test_pending_follow_on_keeps_the_journey_open(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-06 09:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00",
                        outcome="follow_on_required")
    assert council.assemble().of("C1")["status"] == "open"


def test_withdrawn_when_every_case_is_cancelled_or_withdrawn(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00", status="cancelled", reason=None)
    council.case("C2", "2026-03-02 12:00", closed="2026-03-04 09:00", reason="withdrawn")
    out = council.assemble()
    assert out.together("C1", "C2")
    journey = out.of("C1")
    assert journey["status"] == "withdrawn"
    assert pd.isna(journey["ended_at"]) and pd.isna(journey["e2e_hours"])


def test_resolved_and_withdrawn_cases_together_stay_open(council):
    """journeys.md: met needs every case closed as resolved, no_fault_found,
    referred_elsewhere or duplicate; withdrawn needs every case withdrawn."""
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.case("C2", "2026-03-03 09:00", closed="2026-03-04 09:00", reason="withdrawn")
    out = council.assemble()
    assert out.together("C1", "C2") and out.of("C1")["status"] == "open"


def test_closed_without_a_reason_does_not_meet_the_need_and_is_reported(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00", reason=None)
    out = council.assemble()
    assert out.of("C1")["status"] == "open"
    assert out.result.report["cases_closed_not_met"] == 1


def test_withdrawn_even_with_a_works_order_outstanding(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00", status="cancelled", reason=None)
    council.works_order("W1", "2026-03-02 12:00", case_ref="C1")
    assert council.assemble().of("C1")["status"] == "withdrawn"


def test_duplicate_closed_as_duplicate_is_met(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")
    council.case("C2", "2026-03-02 10:00", closed="2026-03-02 11:00", reason="duplicate", duplicate_of="C1")
    assert council.assemble().of("C2")["status"] == "met"


def test_abandoned_only(council):
    council.call("K1", "2026-03-02 09:00", answered=False, person=None)
    council.call("K2", "2026-03-02 09:05", answered=False, parent="K1", person=None)
    journey = council.assemble().of("K1")
    assert journey["status"] == "abandoned" and pd.isna(journey["e2e_hours"])
    assert journey["contacts"] == 1


def test_unlinked_chase_from_an_unknown_number(council):
    council.call("K1", "2026-03-02 09:00", person=None, wrap="progress_chase")
    journey = council.assemble().of("K1")
    assert journey["status"] == "unlinked" and pd.isna(journey["e2e_hours"])


def test_information_only_call_is_met_at_its_end(council):
    council.call("K1", "2026-03-02 09:00", person=None, wrap="information_given", minutes=7)
    journey = council.assemble().of("K1")
    assert (journey["status"], journey["ended_at"]) == ("met", pd.Timestamp("2026-03-02 09:07"))
    assert journey["first_contact_resolution"] and journey["clean"]


def test_crm_reopened_event_pulls_the_journey_back_in(council):
    council.case("C1", "2026-03-02 09:00", status="open")
    council.event("C1", "2026-03-02 09:00", "created", team="Contact Centre")
    council.event("C1", "2026-03-04 09:00", "closed", team="Highways", status="closed")
    council.event("C1", "2026-03-06 09:00", "reopened", team="Highways", status="open")
    journey = council.assemble().of("C1")
    assert journey["status"] == "open" and not journey["clean"]


def test_reopened_then_closed_again_is_met_at_the_last_closure(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-09 09:00")
    council.event("C1", "2026-03-02 09:00", "created", team="Highways")
    council.event("C1", "2026-03-04 09:00", "closed", team="Highways", status="closed")
    council.event("C1", "2026-03-06 09:00", "reopened", team="Highways", status="open")
    council.event("C1", "2026-03-09 09:00", "closed", team="Highways", status="closed")
    journey = council.assemble().of("C1")
    assert (journey["status"], journey["ended_at"]) == ("met", pd.Timestamp("2026-03-09 09:00"))
    assert not journey["clean"]


def test_case_closed_after_as_of_is_open(council):
    council.case("C1", "2026-06-29 09:00", closed="2026-07-01 09:00")
    journey = council.assemble(as_of="2026-06-30 22:59:59").of("C1")
    assert journey["status"] == "open"
    assert journey["e2e_hours"] == pytest.approx((pd.Timestamp("2026-06-30 22:59:59")
                                                  - pd.Timestamp("2026-06-29 09:00")).total_seconds() / 3600)


def test_closed_case_without_closed_at_closes_when_last_updated(council):
    council.case("C1", "2026-03-02 09:00", status="closed", updated="2026-03-03 09:00")
    journey = council.assemble().of("C1")
    assert (journey["status"], journey["ended_at"]) == ("met", pd.Timestamp("2026-03-03 09:00"))


# --------------------------------------------------------------------------- one rule, two implementations


def test_status_at_as_of_agrees_with_the_state_rules_3_and_4_use():
    """linking.case_state (decisions in time) and journey_status / found_met (every
    journey at as-of, every contact) state the same rule twice; on 400 random journeys
    they must agree."""
    rng = np.random.default_rng(4)
    base, as_of = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-04-10")
    spans, calls = [], []
    for j in range(400):
        for n in range(rng.integers(1, 5)):
            start = base + pd.Timedelta(days=int(rng.integers(0, 30)))
            end = start + pd.Timedelta(days=int(rng.integers(0, 12)))
            still_open = end > as_of or rng.random() < 0.15
            is_case = n == 0 or rng.random() < 0.5
            kind = None if still_open or not is_case else rng.choice(["met", "withdrawn", "unmet"], p=[.7, .2, .1])
            spans.append({"journey_id": j, "case_id": f"C{j}-{n}" if is_case else None, "start": start,
                          "end": pd.NaT if still_open else end, "kind": kind, "superseded": pd.NaT,
                          "closes": pd.NaT if still_open or (not is_case and rng.random() < 0.3) else end})
        for _ in range(rng.integers(0, 4)):
            calls.append({"journey_id": j, "contact_at": base + pd.Timedelta(hours=int(rng.integers(0, 40 * 24))),
                          "ended_at": pd.NaT, "information_given": False, "abandoned": False})
    spans, calls = pd.DataFrame(spans), pd.DataFrame(calls)
    state = closed_and_met(calls, spans)
    found = found_met(calls.assign(kind="call"), state)
    pulls = calls.loc[state["closed_and_met"], ["journey_id", "contact_at"]]
    ours = journey_status(pd.Series(range(400)), spans, calls, pulls, as_of).set_index("journey_id")
    t = int(ns(pd.Series([as_of]))[0])
    codes = {"met": CLOSED_MET, "withdrawn": CLOSED_WITHDRAWN}
    for j in range(400):
        sp, cl = spans[spans["journey_id"] == j], calls[calls["journey_id"] == j]
        kinds = [WORKS if c is None else codes.get(k, NOT_MET) for c, k in zip(sp["case_id"], sp["kind"])]
        status, met_at = case_state(list(zip(ns(sp["start"]).tolist(), ns(sp["end"]).tolist(), kinds,
                                             ns(sp["superseded"]).tolist(), ns(sp["closes"]).tolist())),
                                    ns(cl["contact_at"]).tolist(), t)
        assert ours.loc[j, "status"] == status, j
        if status == "met":
            assert ours.loc[j, "ended_at"].value == met_at, j
        tuples = list(zip(ns(sp["start"]).tolist(), ns(sp["end"]).tolist(), kinds, ns(sp["superseded"]).tolist(),
                          ns(sp["closes"]).tolist()))
        for i, at in zip(cl.index, ns(cl["contact_at"]).tolist()):
            assert found[i] == (case_state(tuples, ns(cl["contact_at"]).tolist(), at)[0] == "met"), (j, i)
    assert set(ours["status"]) == {"met", "open", "withdrawn"}
    assert len(pulls) > 10  # some calls pulled their journey back in
