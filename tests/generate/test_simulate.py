"""The mess the issue asks for is actually in the extracts (and the truth shows it)."""

from __future__ import annotations

import pandas as pd
import phonenumbers

from pipeline.generate import catalogue as cat
from pipeline.generate.mess import nicknames_of


def _e164(text: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(text, "GB"), phonenumbers.PhoneNumberFormat.E164)


def test_people_leave_several_messy_contact_records(council):
    cases = council.latest("crm_cases")
    person = council.records.set_index("source_ref")["person_id"]
    cases = cases.assign(person_id=person.loc[cases["case_id"]].to_numpy())
    known = cases[cases["customer_id"] != ""]
    assert (known.groupby("person_id")["customer_id"].nunique() > 1).any()
    nicknames = {n for f in cat.FORENAMES for n in nicknames_of(f)} - set(cat.FORENAMES)
    assert known["forename"].str.strip().str.title().isin(nicknames).any()
    surnames = known.assign(s=known["surname"].str.strip().str.lower()).groupby("person_id")["s"].nunique()
    assert (surnames > 1).any()  # typos
    for col in ("forename", "email", "phone", "address_line1", "postcode", "uprn", "date_of_birth"):
        assert (known[col] == "").any() and (known[col] != "").any(), col
    assert (cases["customer_id"] == "").any()  # anonymous reports


def test_households_share_a_landline_and_people_change_phones(council):
    cases = council.latest("crm_cases")
    person = council.records.set_index("source_ref")["person_id"]
    phones = cases[cases["phone"] != ""].assign(person_id=lambda df: person.loc[df["case_id"]].to_numpy(),
                                                e164=lambda df: df["phone"].map(_e164))
    per_number = phones.groupby("e164")["person_id"].nunique()
    assert (per_number[per_number.index.str.startswith(cat.LOCAL_LANDLINE_BLOCK)] > 1).any()
    calls = council.extracts["call_logs"]
    calls = calls[~calls["caller_number"].isin(["", "withheld"])]
    rang = pd.DataFrame({"person_id": person.loc[calls["call_id"]].to_numpy(),
                         "e164": calls["caller_number"].map(_e164).to_numpy()})
    mobiles = pd.concat([phones[["person_id", "e164"]], rang])
    mobiles = mobiles[mobiles["e164"].str.startswith(cat.MOBILE_BLOCK)].drop_duplicates()
    assert (mobiles.groupby("person_id")["e164"].nunique() > 1).any()  # an old or a new mobile


def test_calls_are_messy(council):
    calls = council.extracts["call_logs"]
    assert calls["caller_number"].isin(["", "withheld"]).any()
    assert (calls["parent_call_id"] != "").any()  # transfer legs
    assert (calls["answered_at"] == "").any()  # abandoned
    assert set(calls["wrap_code"]) >= {"new_request", "progress_chase", "complaint", "information_given",
                                       "transferred", "repeat_report", ""}
    assert (calls["queue"] == cat.GENERAL_QUEUE).any()
    crm_numbers = {_e164(p) for p in council.extracts["crm_cases"]["phone"] if p}
    callers = {_e164(n) for n in calls["caller_number"] if n not in ("", "withheld")}
    assert callers - crm_numbers  # numbers no CRM record knows


def test_cases_and_works_are_messy(council):
    cases = council.latest("crm_cases")
    assert (cases["duplicate_of"] != "").any()
    assert (cases["status"] == "cancelled").any() and (cases["closure_reason"] == "withdrawn").any()
    assert (cases["status"] == "open").any()
    assert set(cases["channel"]) == {c for c, _ in cat.CHANNELS}
    assert (council.extracts["crm_case_events"]["event_type"] == "reopened").any()
    wos = council.latest("works_orders")
    follow_ons = wos[wos["parent_work_order_id"] != ""]
    assert len(follow_ons) and (follow_ons["case_ref"] == "").any() and (follow_ons["case_ref"] != "").any()
    assert ((wos["case_ref"] == "") & (wos["parent_work_order_id"] == "")).any()  # proactive


def test_the_truth_shows_every_kind_of_journey(council):
    j = council.journeys
    assert set(j["status"]) == {"met", "open", "withdrawn", "abandoned", "unlinked"}
    assert (j[[c for c in j.columns if c.startswith("failure_")]].sum() > 0).all()
    journeys_with = council.records.groupby("journey_id")["system"]
    assert (journeys_with.apply(lambda s: (s == "crm").sum()) > 1).any()  # repeats and duplicates
    info = j[(j["status"] == "met") & (j["category"] == "")]
    assert len(info) > 0
