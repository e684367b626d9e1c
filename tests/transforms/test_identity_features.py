"""Linkage features of CRM contact details: names, nicknames, addresses, phones."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.identity_features import (contact_features, hard_link_edges, linkage_records,
                                                   nickname_names, standardise_address, standardise_name)


def cases(*rows: dict) -> pd.DataFrame:
    columns = ["case_id", "customer_id", "forename", "surname", "email", "phone", "address_line1", "postcode",
               "uprn", "date_of_birth"]
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns).astype(object)
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"])
    return frame


def equivalent(a: str, b: str) -> bool:
    return bool(set(nickname_names(standardise_name(a))) & set(nickname_names(standardise_name(b))))


def test_nickname_groups_make_bill_will_and_william_equivalent():
    assert equivalent("Bill", "William") and equivalent("Will", "William") and equivalent("Bill", "Will")
    assert equivalent("Bob", "Robert") and equivalent("Liz", "Elizabeth") and equivalent("Peggy", "Margaret")
    assert not equivalent("Mary", "William") and not equivalent("Olivia", "Omar")
    assert nickname_names("zxqv") == ["zxqv"] and nickname_names(None) is None


def test_names_and_addresses_are_standardised():
    assert standardise_name("  O'Brien-SMITH ") == "obrien smith"
    assert standardise_name("Zoë") == "zoe" and standardise_name(" - ") is None
    assert standardise_address("10, High St.") == "10 high street"
    assert standardise_address("Flat 2  12 Mill Rd") == "flat 2 12 mill road"


def test_phones_split_into_mobile_and_landline_and_blocked_numbers_vanish():
    out = contact_features(cases({"case_id": "A", "phone": "+447700900123"}, {"case_id": "B", "phone": "+441632960123"},
                                 {"case_id": "C", "phone": "+441632960000"}, {"case_id": "D", "phone": " "}),
                           blocked_numbers=["+441632960000"]).set_index("case_id")
    assert out.loc["A", ["mobile", "landline"]].tolist() == ["+447700900123", None]
    assert out.loc["B", ["mobile", "landline"]].tolist() == [None, "+441632960123"]
    assert out.loc[["C", "D"], ["mobile", "landline"]].isna().all().all()


def test_blanks_become_none_and_dates_iso_text():
    out = contact_features(cases({"case_id": "A", "forename": "  ", "email": "A@Example.COM ", "postcode": "zx1 2ab",
                                  "date_of_birth": "1970-01-02"}), []).iloc[0]
    assert out["forename"] is None and out["forename_names"] is None
    assert (out["email"], out["postcode"], out["date_of_birth"]) == ("a@example.com", "ZX1 2AB", "1970-01-02")


def test_identical_identifying_details_collapse_into_one_record_but_thin_ones_do_not():
    features = contact_features(cases(
        {"case_id": "C2", "customer_id": "CU1", "forename": "Ann", "surname": "Lee", "phone": "+447700900123"},
        {"case_id": "C1", "customer_id": "CU1", "forename": "ANN", "surname": "Lee", "phone": "+447700900123"},
        {"case_id": "C3", "forename": "Ann"}, {"case_id": "C4", "forename": "Ann"},  # a forename only
        {"case_id": "C5"}, {"case_id": "C6"},  # nothing at all
    ), [])
    records, case_record = linkage_records(features)
    assert case_record.set_index("case_id")["unique_id"].to_dict() == {
        "C2": "C1", "C1": "C1", "C3": "C3", "C4": "C4", "C5": "C5", "C6": "C6"}
    assert sorted(records["unique_id"]) == ["C1", "C3", "C4", "C5", "C6"]


def test_hard_links_join_shared_customer_ids_and_emails_as_stars():
    records = pd.DataFrame({"unique_id": ["a", "b", "c", "d", "e"],
                            "customer_id": ["CU1", "CU1", "CU1", None, None],
                            "email": [None, None, "x@example.org", "x@example.org", None]})
    edges = hard_link_edges(records)
    assert sorted(map(tuple, edges[["unique_id_l", "unique_id_r", "reason"]].to_numpy())) == [
        ("a", "b", "customer_id"), ("a", "c", "customer_id"), ("c", "d", "email")]
