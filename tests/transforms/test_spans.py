"""Spans: what is still to be done in a journey, and when it was done."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.spans import case_spans, works_order_spans

AS_OF = pd.Timestamp("2026-06-30 23:00")


def _spans(council) -> list[tuple]:
    f = council.frames()
    spans = case_spans(f["cases"], f["case_events"], AS_OF)
    return [(r.case_id, str(r.start), None if pd.isna(r.end) else str(r.end), r.kind) for r in spans.itertuples()]


def test_case_span_runs_from_opening_to_closure(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00")
    council.case("C2", "2026-03-02 09:00", closed="2026-03-03 09:00", status="cancelled", reason=None)
    council.case("C3", "2026-03-02 09:00")
    council.case("C4", "2026-03-02 09:00", closed="2026-07-03 09:00")
    assert _spans(council) == [
        ("C1", "2026-03-02 09:00:00", "2026-03-03 09:00:00", "met"),
        ("C2", "2026-03-02 09:00:00", "2026-03-03 09:00:00", "withdrawn"),
        ("C3", "2026-03-02 09:00:00", None, None),
        ("C4", "2026-03-02 09:00:00", None, None)]


def test_reopened_case_is_split_at_its_recorded_closure(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-09 09:00")
    council.event("C1", "2026-03-04 09:00", "status_changed", status="cancelled")
    council.event("C1", "2026-03-06 09:00", "reopened")
    assert _spans(council) == [
        ("C1", "2026-03-02 09:00:00", "2026-03-04 09:00:00", "withdrawn"),
        ("C1", "2026-03-06 09:00:00", "2026-03-09 09:00:00", "met")]


def test_reopened_without_a_recorded_closure_splits_at_the_reopening(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-09 09:00")
    council.event("C1", "2026-03-06 09:00", "reopened")
    assert _spans(council) == [
        ("C1", "2026-03-02 09:00:00", "2026-03-06 09:00:00", "met"),
        ("C1", "2026-03-06 09:00:00", "2026-03-09 09:00:00", "met")]


def test_reopened_after_its_last_closure_is_open(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 09:00")
    council.event("C1", "2026-03-04 09:00", "closed", status="closed")
    council.event("C1", "2026-03-06 09:00", "reopened")
    assert _spans(council)[-1] == ("C1", "2026-03-06 09:00:00", None, None)


def test_works_order_waits_for_its_follow_on(council):
    council.works_order("W1", "2026-03-02 09:00", completed="2026-03-03 09:00", outcome="follow_on_required")
    council.works_order("W2", "2026-03-05 09:00", parent="W1", completed="2026-03-06 09:00")
    council.works_order("W3", "2026-03-02 09:00", completed="2026-03-03 09:00", outcome="follow_on_required")
    council.works_order("W4", "2026-03-02 09:00", status="cancelled")
    wos = council.frames()["works_orders"]
    spans = works_order_spans(wos, wos["parent_work_order_id"], AS_OF)
    assert spans["end"].astype(str).tolist() == ["2026-03-05 09:00:00", "2026-03-06 09:00:00", "NaT",
                                                 "2026-03-02 09:00:00"]
