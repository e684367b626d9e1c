"""The landing files honour the input contract (extracts.md) and deliver cumulative deltas."""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers
import pytest

from pipeline.generate import catalogue as cat
from pipeline.sources import SOURCES

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_file_has_exactly_the_canonical_columns(council, source):
    for path in sorted((council.summary.landing_dir / source).glob("*.csv")):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == SOURCES[source].column_names, path.name


@pytest.mark.parametrize("source", list(SOURCES))
def test_values_keep_the_contract(council, source):
    src, df = SOURCES[source], council.extracts[source]
    assert len(df) > 0
    for col in src.columns:
        values = df[col.name]
        if not col.nullable:
            assert (values != "").all(), f"{source}.{col.name} has blanks"
        filled = values[values != ""]
        if col.type == "timestamp":
            assert filled.str.match(TIMESTAMP).all(), f"{source}.{col.name}"
        if col.type == "date":
            assert filled.str.match(r"^\d{4}-\d{2}-\d{2}$").all()
        if col.allowed:
            assert set(filled) <= set(col.allowed), f"{source}.{col.name}: {set(filled) - set(col.allowed)}"


def test_nothing_after_the_end_of_the_last_day(council):
    end = f"{council.summary.end.isoformat()} 23:59:59"
    for source, df in council.extracts.items():
        for col in SOURCES[source].timestamp_columns:
            if col != "target_at":  # a due date may lie in the future
                assert (df[col] <= end).all(), f"{source}.{col}"


def test_rows_are_delivered_on_the_day_they_change(council):
    days = {"crm_cases": "updated_at", "crm_case_events": "event_at", "call_logs": "started_at",
            "works_orders": "updated_at"}
    for source, col in days.items():
        df = council.extracts[source]
        assert (df[col].str.slice(0, 10) + ".csv" == df["file"]).all(), source


def test_a_closed_case_appears_when_opened_and_again_when_closed(council):
    cases = council.extracts["crm_cases"]
    versions = cases.groupby("case_id")
    closed = council.latest("crm_cases").query("status == 'closed' and opened_at.str.slice(0, 10) != closed_at.str.slice(0, 10)")
    assert len(closed) > 50
    for case_id in closed["case_id"].head(50):
        rows = versions.get_group(case_id)
        assert len(rows) >= 2
        assert rows["file"].iloc[0] == rows["opened_at"].iloc[0][:10] + ".csv"
        assert rows["status"].iloc[0] == "open" and rows["closed_at"].iloc[0] == ""
        assert rows["updated_at"].is_monotonic_increasing and rows["updated_at"].iloc[-1] > rows["updated_at"].iloc[0]
        assert rows["status"].iloc[-1] == "closed"


def test_a_completed_works_order_appears_when_raised_and_when_completed(council):
    wos = council.extracts["works_orders"]
    latest = council.latest("works_orders")
    done = latest[(latest["status"] == "completed") & (latest["raised_at"].str[:10] != latest["completed_at"].str[:10])]
    assert len(done) > 20
    first = wos.drop_duplicates("work_order_id", keep="first").set_index("work_order_id")
    assert (first.loc[done["work_order_id"], "status"].isin(["raised", "scheduled"])).all()
    assert (first.loc[done["work_order_id"], "completed_at"] == "").all()


def test_events_and_call_legs_appear_once(council):
    assert not council.extracts["call_logs"]["call_id"].duplicated().any()
    key = list(SOURCES["crm_case_events"].key)
    assert not council.extracts["crm_case_events"].duplicated(key).any()


def test_every_case_has_a_created_event_at_its_opening(council):
    created = council.extracts["crm_case_events"].query("event_type == 'created'").set_index("case_id")["event_at"]
    cases = council.latest("crm_cases").set_index("case_id")["opened_at"]
    assert created.sort_index().equals(cases.sort_index())


def test_references_resolve_or_are_visibly_mistyped(council):
    case_ids = set(council.latest("crm_cases")["case_id"])
    refs = council.extracts["call_logs"]["case_ref"]
    refs = refs[refs != ""]
    bad = refs[~refs.isin(case_ids)]
    assert len(bad) > 0, "some calls should quote a mistyped reference"
    sizes = {len(c) for c in case_ids}
    assert all(len(r) not in sizes for r in bad)  # a dropped or doubled digit: can never hit a case
    for source, col in (("works_orders", "case_ref"), ("crm_cases", "duplicate_of")):
        values = council.extracts[source][col]
        assert values[values != ""].isin(case_ids).all(), source
    parents = council.extracts["works_orders"]["parent_work_order_id"]
    assert parents[parents != ""].isin(set(council.extracts["works_orders"]["work_order_id"])).all()


def test_numbers_are_drama_numbers_in_many_formats(council):
    phones = pd.concat([council.extracts["crm_cases"]["phone"], council.extracts["call_logs"]["caller_number"]])
    phones = phones[~phones.isin(["", "withheld"])].drop_duplicates()
    blocks = (cat.MOBILE_BLOCK, cat.LOCAL_LANDLINE_BLOCK, *cat.OTHER_LANDLINE_BLOCKS)
    for raw in phones:
        e164 = phonenumbers.format_number(phonenumbers.parse(raw, "GB"), phonenumbers.PhoneNumberFormat.E164)
        assert e164.startswith(blocks), raw
    shapes = {re.sub(r"\d", "9", p) for p in phones}
    for shape in ("99999 999999", "+99 9999 999999", "99999999999", "(99999) 999 999"):
        assert shape in shapes


def test_only_synthetic_personal_data(council):
    cases = council.extracts["crm_cases"]
    emails = cases["email"][cases["email"] != ""].str.lower()
    assert emails.str.endswith(tuple("@" + d for d in cat.EMAIL_DOMAINS)).all()
    postcodes = cases["postcode"][cases["postcode"] != ""].str.replace(" ", "").str.upper()
    assert postcodes.str.match(r"^ZX\d\d[A-Z]{2}$").all()
    assert not cases["postcode"].isin(postcodes).all(), "postcodes should vary in case and spacing"
