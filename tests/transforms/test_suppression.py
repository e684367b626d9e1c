"""Small-number suppression: primary, complementary (within rows and across a
breakdown) and derived values."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.transforms.demand_measures import CHANNEL_SUPPRESSION, DEMAND_SUPPRESSION, FAILURE_COLUMNS
from pipeline.transforms.suppression import (Additive, SuppressionSpec, suppress_small_numbers,
                                             suppress_with_breakdown)

T = 5  # the default small_number_threshold
RATE_SPEC = SuppressionSpec(counts=("n",), derived={"mean": ("n",)})


def _demand_row(value: int, types: tuple[int, int, int, int], **keys) -> dict:
    failure = sum(types)
    return {**keys, "contacts": value + failure, "value_contacts": value, "failure_contacts": failure,
            "failure_share": failure / (value + failure) if value + failure else float("nan"),
            **dict(zip(FAILURE_COLUMNS, types))}


def _demand(*rows: dict) -> pd.DataFrame:
    return suppress_small_numbers(pd.DataFrame(list(rows)), DEMAND_SUPPRESSION, T)


@pytest.mark.parametrize("count, published", [(0, 0), (1, None), (4, None), (5, 5), (6, 6)])
def test_threshold_edge(count, published):
    out = suppress_small_numbers(pd.DataFrame({"n": [count], "mean": [2.5]}), RATE_SPEC, T)
    assert (None if pd.isna(out["n"][0]) else out["n"][0]) == published
    assert out["suppressed"][0] == ("" if published is not None else "n,mean")


def test_rate_on_a_base_of_four_is_suppressed_and_on_five_is_not():
    out = suppress_small_numbers(pd.DataFrame({"n": [4, 5], "mean": [1.5, 1.5]}), RATE_SPEC, T)
    assert pd.isna(out["mean"][0]) and out["mean"][1] == 1.5


def test_zero_is_published_as_zero_and_flags_nothing():
    out = _demand(_demand_row(0, (0, 0, 0, 0)) | {"failure_share": 0.0})
    assert out.loc[0, "contacts"] == 0 and out.loc[0, "suppressed"] == ""


def test_hidden_failure_hides_its_complement_value_and_the_share():
    out = _demand(_demand_row(50, (3, 0, 0, 0))).iloc[0]
    # contacts (53) stays: with value and failure both hidden, 53 = ? + ? cannot be solved.
    assert out["contacts"] == 53
    assert pd.isna(out["failure_contacts"]) and pd.isna(out["value_contacts"])
    # failure_share x contacts would give failure_contacts back.
    assert pd.isna(out["failure_share"])
    assert out["failure_progress_chase"] is pd.NA and out["failure_repeat"] == 0
    assert out["suppressed"] == "value_contacts,failure_contacts,failure_share,failure_progress_chase"


def test_complement_is_the_smallest_non_zero_part():
    out = _demand(_demand_row(40, (3, 6, 0, 20))).iloc[0]
    assert pd.isna(out["failure_progress_chase"]) and pd.isna(out["failure_repeat"])
    assert out["failure_complaint"] == 0 and out["failure_not_done_right"] == 20
    assert out["failure_contacts"] == 29 and out["value_contacts"] == 40


def test_complementary_suppression_cascades_through_the_failure_types():
    # value 3 is hidden; so failure (60) is hidden as its complement; then the types
    # would give failure back, so the smallest type is hidden too.
    out = _demand(_demand_row(3, (20, 20, 10, 10))).iloc[0]
    assert pd.isna(out["value_contacts"]) and pd.isna(out["failure_contacts"])
    assert out["contacts"] == 63
    hidden_types = [c for c in FAILURE_COLUMNS if pd.isna(out[c])]
    assert hidden_types == ["failure_complaint"]


def test_breakdown_channel_is_protected_against_the_total():
    keys = {"service": "Waste", "category": "Missed bin", "period_type": "week", "period": "2026-W10"}
    totals = pd.DataFrame([_demand_row(20, (0, 0, 0, 0), **keys)])
    parts = pd.DataFrame([
        {**keys, "channel": "phone", "contacts": 17, "value_contacts": 17, "failure_contacts": 0, "failure_share": 0.0},
        {**keys, "channel": "web", "contacts": 3, "value_contacts": 3, "failure_contacts": 0, "failure_share": 0.0},
    ])
    total, by_channel = suppress_with_breakdown(totals, DEMAND_SUPPRESSION, parts, CHANNEL_SUPPRESSION,
                                                keys=list(keys), columns=("contacts", "value_contacts",
                                                                          "failure_contacts"), threshold=T)
    assert total.loc[0, "contacts"] == 20 and total.loc[0, "suppressed"] == ""
    # web's 3 is hidden; phone's 17 too, or 20 - 17 would give it back.
    assert by_channel["contacts"].isna().all() and by_channel["value_contacts"].isna().all()
    assert by_channel["suppressed"].tolist() == ["contacts,value_contacts,failure_share"] * 2


def test_when_the_other_parts_are_zero_the_total_is_hidden_instead():
    # web: 1 value. phone: 4 value (hidden) + 5 failure, hidden as its complement.
    # The demand row's failure (5) now equals phone's hidden 5 plus web's 0, so it is
    # hidden too; then the demand row's value and the failure type follow.
    keys = {"service": "Waste", "category": "Missed bin", "period_type": "week", "period": "2026-W10"}
    totals = pd.DataFrame([_demand_row(5, (5, 0, 0, 0), **keys)])
    parts = pd.DataFrame([
        {**keys, "channel": "phone", "contacts": 9, "value_contacts": 4, "failure_contacts": 5, "failure_share": 5 / 9},
        {**keys, "channel": "web", "contacts": 1, "value_contacts": 1, "failure_contacts": 0, "failure_share": 0.0},
    ])
    total, by_channel = suppress_with_breakdown(totals, DEMAND_SUPPRESSION, parts, CHANNEL_SUPPRESSION,
                                                keys=list(keys), columns=("contacts", "value_contacts",
                                                                          "failure_contacts"), threshold=T)
    assert total.loc[0, "suppressed"] == "value_contacts,failure_contacts,failure_share,failure_progress_chase"
    assert total.loc[0, "contacts"] == 10
    # phone's contacts go too: 10 - 9 would give web's 1 back
    assert by_channel["suppressed"].tolist() == ["contacts,value_contacts,failure_contacts,failure_share",
                                                 "contacts,value_contacts,failure_share"]


def test_breakdown_row_without_a_total_is_an_error():
    keys = {"service": "Waste", "category": "X", "period_type": "week", "period": "2026-W10"}
    totals = pd.DataFrame([_demand_row(9, (0, 0, 0, 0), **keys)])
    parts = pd.DataFrame([{**keys, "period": "2026-W11", "channel": "web", "contacts": 9, "value_contacts": 9,
                           "failure_contacts": 0, "failure_share": 0.0}])
    with pytest.raises(ValueError, match="'period': '2026-W11'.*no total row"):
        suppress_with_breakdown(totals, DEMAND_SUPPRESSION, parts, CHANNEL_SUPPRESSION, keys=list(keys),
                                columns=("contacts",), threshold=T)


# --------------------------------------------------------------------------- properties

def _no_lone_hidden_cell(frame: pd.DataFrame, relations: tuple[Additive, ...]) -> bool:
    for rel in relations:
        hidden = frame[[rel.total, *rel.parts]].isna().sum(axis=1)
        if (hidden == 1).any():
            return False
    return True


small = st.integers(0, 30)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(small, st.tuples(small, small, small, small)), min_size=1, max_size=6))
def test_property_no_small_count_published_and_nothing_recomputable(rows):
    raw = pd.DataFrame([_demand_row(v, types) for v, types in rows])
    out = suppress_small_numbers(raw, DEMAND_SUPPRESSION, T)
    for col in DEMAND_SUPPRESSION.counts:
        shown = out[col].dropna()
        assert not ((shown >= 1) & (shown < T)).any(), col
        assert (shown == raw.loc[shown.index, col]).all(), col  # published numbers are true
        assert not (out[col].isna() & (raw[col] == 0)).any(), col  # 0 is never hidden
    assert _no_lone_hidden_cell(out, DEMAND_SUPPRESSION.additive)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(small, small), min_size=1, max_size=5))
def test_property_breakdown_has_no_lone_hidden_cell(channels):
    keys = {"service": "S", "category": "C", "period_type": "month", "period": "2026-01"}
    parts = pd.DataFrame([{**keys, "channel": f"ch{i}", "contacts": v + f, "value_contacts": v,
                           "failure_contacts": f, "failure_share": f / (v + f) if v + f else float("nan")}
                          for i, (v, f) in enumerate(channels)])
    value, failure = int(parts["value_contacts"].sum()), int(parts["failure_contacts"].sum())
    totals = pd.DataFrame([_demand_row(value, (failure, 0, 0, 0), **keys)])
    total, by_channel = suppress_with_breakdown(totals, DEMAND_SUPPRESSION, parts, CHANNEL_SUPPRESSION,
                                                keys=list(keys), columns=("contacts", "value_contacts",
                                                                          "failure_contacts"), threshold=T)
    for col in ("contacts", "value_contacts", "failure_contacts"):
        hidden_cells = by_channel[col].isna().sum() + int(pd.isna(total.loc[0, col]))
        assert hidden_cells != 1, col
    assert _no_lone_hidden_cell(by_channel, CHANNEL_SUPPRESSION.additive)
    assert _no_lone_hidden_cell(total, DEMAND_SUPPRESSION.additive)
