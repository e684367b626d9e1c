"""Stable person ids across runs, the identity audit, and person_key."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from pipeline.config import ConfigError
from pipeline.identity import PreviousIdentity
from pipeline.identity.stable_ids import assign_person_ids, new_person_id, person_key, person_table, same_secret

DAY_1 = [
    {"case_id": "D1-1", "customer_id": "CU1", "forename": "Nia", "surname": "Hale", "phone": "+447700900111",
     "opened_at": "2026-03-01 09:00"},
    {"case_id": "D1-2", "customer_id": "CU2", "forename": "Omar", "surname": "Reyes", "email": "o.reyes@example.net",
     "opened_at": "2026-03-01 10:00"},
    {"case_id": "D1-3", "customer_id": "CU3", "forename": "Omar", "surname": "Reyes", "email": "o.reyes@example.net",
     "phone": "+447700900222", "opened_at": "2026-03-01 11:00"},
]
DAY_2 = [
    {"case_id": "D2-1", "customer_id": "CU1", "forename": "Nia", "surname": "Hale", "phone": "+447700900111",
     "opened_at": "2026-03-02 09:00"},  # Nia again
    {"case_id": "D2-2", "customer_id": "CU9", "forename": "Lev", "surname": "Ostrov", "opened_at": "2026-03-02 10:00"},
]


def carried(result) -> PreviousIdentity:
    return PreviousIdentity(result.person_record, result.person)


def test_rerun_with_another_day_keeps_unchanged_people_and_their_keys(kit):
    first = kit.resolve(DAY_1, run_id="run-1")
    second = kit.resolve(DAY_1 + DAY_2, previous=carried(first), run_id="run-2")
    before = first.person_record.merge(first.person, on="person_id").set_index("case_id")
    after = second.person_record.merge(second.person, on="person_id").set_index("case_id")
    assert after.loc[before.index, ["person_id", "person_key"]].equals(before[["person_id", "person_key"]])
    assert kit.same_person(second, "D1-1", "D2-1")
    assert after.loc["D1-1", "first_run_id"] == "run-1"
    changes = second.identity_audit
    assert changes[["change", "new_person_id"]].values.tolist() == [["new", kit.person_of(second, "D2-2")]]
    assert changes.loc[0, "run_id"] == "run-2" and changes.loc[0, "old_person_id"] is None
    assert after.loc["D2-2", "first_run_id"] == "run-2"


def test_same_data_gives_the_same_ids_and_keys_from_scratch(kit):
    one, two = kit.resolve(DAY_1 + DAY_2), kit.resolve(DAY_1 + DAY_2, run_id="another-run")
    assert one.person_record.equals(two.person_record)
    assert one.person[["person_id", "person_key"]].equals(two.person[["person_id", "person_key"]])
    # New ids derive from the smallest case_id of the person.
    assert kit.person_of(one, "D1-2") == "P-" + hashlib.sha256(b"D1-2").hexdigest()[:16]


def test_a_forced_merge_is_audited(kit):
    """Last run kept the two Omar records apart (as if the model had not linked them);
    tonight they share an email and become one person."""
    ids = {"D1-1": "P-nia", "D1-2": "P-omar-a", "D1-3": "P-omar-b"}
    previous = PreviousIdentity(
        pd.DataFrame({"case_id": list(ids), "person_id": list(ids.values())}),
        pd.DataFrame({"person_id": ["P-nia", "P-omar-a", "P-omar-b"], "person_key": ["k1", "k2", "k3"],
                      "first_run_id": ["run-0"] * 3}))
    result = kit.resolve(DAY_1, previous=previous, run_id="run-1")
    assert kit.person_of(result, "D1-2") == kit.person_of(result, "D1-3") == "P-omar-a"  # tie: the smaller id
    merge = result.identity_audit[result.identity_audit["change"] == "merge"]
    assert merge[["old_person_id", "new_person_id"]].values.tolist() == [["P-omar-b", "P-omar-a"]]
    assert "1 of 1 cases of P-omar-b" in merge.iloc[0]["reason"]
    assert "P-omar-b" not in set(result.person["person_id"])
    assert result.report["previous_ids_gone"] == 1


def test_a_forced_split_is_audited(kit):
    """Last run put Nia and Omar together; tonight they are two people."""
    previous = PreviousIdentity(
        pd.DataFrame({"case_id": ["D1-1", "D1-2", "D1-3"], "person_id": ["P-old"] * 3}),
        pd.DataFrame({"person_id": ["P-old"], "person_key": ["k"], "first_run_id": ["run-0"]}))
    result = kit.resolve(DAY_1, previous=previous, run_id="run-1")
    assert kit.person_of(result, "D1-2") == "P-old"  # the larger share keeps the id
    nia = kit.person_of(result, "D1-1")
    split = result.identity_audit[result.identity_audit["change"] == "split"]
    assert split[["old_person_id", "new_person_id"]].values.tolist() == [["P-old", nia]]
    assert nia == new_person_id("D1-1", {"P-old"})
    assert result.person.set_index("person_id").at[nia, "first_run_id"] == "run-1"


def test_tied_overlaps_are_broken_the_same_way_whatever_the_row_order():
    previous = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "person_id": ["P-1", "P-1", "P-2", "P-2"]})
    clusters = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "cluster_id": ["x", "y", "x", "y"]})
    outcomes = {tuple(assign_person_ids(order, previous, {"P-1", "P-2"}, "r")[0]
                      .sort_values("case_id")["person_id"])
                for order in (clusters, clusters.iloc[::-1])}
    assert outcomes == {("P-1", "P-2", "P-1", "P-2")}


def test_a_new_id_already_taken_is_salted_deterministically():
    plain = new_person_id("C-1", set())
    salted = new_person_id("C-1", {plain})
    assert salted != plain and salted == new_person_id("C-1", {plain})


def test_person_key_is_hmac_sha256_of_the_id():
    expected = hmac.new(b"s3cret", b"P-0123", hashlib.sha256).hexdigest()
    assert person_key("s3cret", "P-0123") == expected == person_key("s3cret", "P-0123")
    assert person_key("other", "P-0123") != expected
    assert len(expected) == 64


def test_person_key_without_a_secret_is_an_error():
    with pytest.raises(ConfigError, match="secret is empty"):
        person_key("", "P-0123")


def test_known_keys_are_read_back_under_the_same_secret_and_all_remade_under_a_new_one():
    record = pd.DataFrame({"case_id": ["a", "b", "c"], "person_id": ["P-1", "P-2", "P-3"]})
    made = person_table(record.iloc[:2], pd.DataFrame(columns=["person_id", "person_key", "first_run_id"]), "s1", "r0")
    assert same_secret(made, "s1") and not same_secret(made, "s2")
    tonight = person_table(record, made, "s1", "r1").set_index("person_id")
    assert tonight["person_key"].to_dict() == {p: person_key("s1", p) for p in ("P-1", "P-2", "P-3")}
    assert tonight["first_run_id"].to_dict() == {"P-1": "r0", "P-2": "r0", "P-3": "r1"}
    # A stored key that is not the HMAC under tonight's secret is never published again.
    rotated = person_table(record, made, "s2", "r1").set_index("person_id")
    assert rotated["person_key"].to_dict() == {p: person_key("s2", p) for p in ("P-1", "P-2", "P-3")}


def test_uncontested_and_contested_overlaps_claim_as_one_greedy_pass_would():
    """P-1 is wanted by x (2 cases) and y (1 case); P-2 only by z: x keeps P-1, z P-2, y gets a new id."""
    previous = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "person_id": ["P-1", "P-1", "P-1", "P-2"]})
    clusters = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "cluster_id": ["x", "x", "y", "z"]})
    record, audit = assign_person_ids(clusters, previous, {"P-1", "P-2"}, "r")
    ids = record.set_index("case_id")["person_id"]
    assert (ids["a"], ids["b"], ids["d"]) == ("P-1", "P-1", "P-2")
    assert ids["c"] == new_person_id("c", {"P-1", "P-2"})
    assert audit["change"].tolist() == ["split"]
