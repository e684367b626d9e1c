"""The linkage pair cache: an incremental identity run gives exactly a full run's people.

Each scenario resolves a first day in full, hands its pair cache to the next day, and
checks the incremental result against a full pass over the same next day (with the
same previous identity map): same people, same cached pairs to the last bit.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline.config import ConfigError
from pipeline.identity import PreviousIdentity
from pipeline.identity.linkage import load_model, model_version
from pipeline.identity.pair_cache import LinkCache, content_hashes, plan
from pipeline.transforms.identity_features import contact_features, linkage_records

JONES_HOUSE = {"surname": "Jones", "address_line1": "4 High Street", "postcode": "ZX2 4CD", "uprn": "90000000004"}
DAY_1 = [
    {"case_id": "C100", "forename": "William", "phone": "+447700900501", "date_of_birth": "1961-04-12", **JONES_HOUSE},
    {"case_id": "C200", "forename": "Mary", "phone": "+447700900777", "date_of_birth": "1964-09-30", **JONES_HOUSE},
    {"case_id": "C300", "forename": "Priya", "surname": "Desai", "phone": "+447700900888",
     "address_line1": "9 Low Road", "postcode": "ZX5 5EF"},
    {"case_id": "C400", "forename": "Bill", "phone": "+447700900501", "date_of_birth": "1961-04-12",
     **JONES_HOUSE, "address_line1": "4 High St"},  # William again
]
BILL = DAY_1[3]


def carried(result, *, min_records: int | None = None) -> PreviousIdentity:
    """The next run's view of ``result``: its identity map and its pair cache."""
    record = result.link_record if min_records is None else result.link_record.assign(min_records=min_records)
    return PreviousIdentity(result.person_record, result.person, LinkCache(record, result.link_pair))


def pairs_of(result) -> set[tuple[str, str]]:
    return set(zip(result.link_pair["unique_id_l"], result.link_pair["unique_id_r"]))


def incremental_and_full(kit, day_1: list[dict], day_2: list[dict]):
    """Day 2 resolved from day 1's cache, and in full from the same identity map."""
    first = kit.resolve(day_1, run_id="run-1")
    assert first.report["linkage_mode"] == "full"
    full = kit.resolve(day_2, previous=PreviousIdentity(first.person_record, first.person), run_id="run-2")
    # the cache's floor as a full pass over day 2 sets it, so both must hold the same pairs
    incremental = kit.resolve(day_2, previous=carried(first, min_records=int(full.link_record["min_records"][0])),
                              run_id="run-2")
    assert incremental.report["linkage_mode"] == "incremental", incremental.report["linkage_full_reason"]
    assert full.report["linkage_mode"] == "full"
    return first, incremental, full


def assert_same_outcome(incremental, full) -> None:
    by_case = ["case_id"]
    pd.testing.assert_frame_equal(incremental.person_record.sort_values(by_case, ignore_index=True),
                                  full.person_record.sort_values(by_case, ignore_index=True))
    for name in ("person", "call_attribution", "identity_audit", "link_record", "link_pair"):
        pd.testing.assert_frame_equal(getattr(incremental, name), getattr(full, name), obj=name, check_exact=True)
    cache_counts = {"linkage_mode", "linkage_full_reason", "records_scored", "records_dropped", "pairs_scored",
                    "pairs_reused"}
    assert {k: v for k, v in incremental.report.items() if k not in cache_counts} == \
        {k: v for k, v in full.report.items() if k not in cache_counts}


def test_a_new_record_links_to_an_existing_person(kit):
    first, incremental, full = incremental_and_full(kit, DAY_1[:3], DAY_1)
    assert kit.same_person(incremental, "C100", "C400")
    assert kit.person_of(incremental, "C100") == kit.person_of(first, "C100")  # the existing person's id
    assert incremental.report["records_scored"] == 1  # only Bill's pairs were scored
    assert incremental.report["pairs_scored"] > 0 and full.report["pairs_scored"] is None  # full: Splink's own predict
    assert incremental.report["pairs_reused"] == len(first.link_pair)
    assert ("C100", "C400") in pairs_of(incremental)
    assert_same_outcome(incremental, full)


def test_a_changed_record_drops_its_old_pairs(kit):
    moved = {**BILL, "forename": "Zed", "surname": "Quist", "phone": "+447700900999", "date_of_birth": None,
             "address_line1": "1 Far Lane", "postcode": "ZX8 8GH", "uprn": None}
    first, incremental, full = incremental_and_full(kit, DAY_1, [*DAY_1[:3], moved])
    assert ("C100", "C400") in pairs_of(first)
    assert not any("C400" in pair for pair in pairs_of(incremental))
    assert not kit.same_person(incremental, "C100", "C400")
    assert incremental.report["records_scored"] == 1 and incremental.report["records_dropped"] == 1
    assert_same_outcome(incremental, full)


def test_a_removed_record_leaves_the_cache(kit):
    first, incremental, full = incremental_and_full(kit, DAY_1, DAY_1[:3])
    assert "C400" not in set(incremental.link_record["unique_id"])
    assert not any("C400" in pair for pair in pairs_of(incremental))
    assert incremental.report["records_scored"] == 0 and incremental.report["records_dropped"] == 1
    assert_same_outcome(incremental, full)


def test_a_late_case_with_a_smaller_id_renames_the_record(kit):
    """C050 gives exactly Bill's details: the record is now C050, a new id to the cache."""
    first, incremental, full = incremental_and_full(kit, DAY_1, [*DAY_1, {**BILL, "case_id": "C050"}])
    ids = set(incremental.link_record["unique_id"])
    assert "C050" in ids and "C400" not in ids
    assert ("C050", "C100") in pairs_of(incremental) and not any("C400" in p for p in pairs_of(incremental))
    assert kit.same_person(incremental, "C050", "C100", "C400")
    assert incremental.report["records_scored"] == 1 and incremental.report["records_dropped"] == 1
    assert_same_outcome(incremental, full)


def test_nothing_changed_scores_nothing(kit):
    first = kit.resolve(DAY_1, run_id="run-1")
    again = kit.resolve(DAY_1, previous=carried(first), run_id="run-2")
    assert again.report["linkage_mode"] == "incremental"
    assert again.report["records_scored"] == again.report["pairs_scored"] == 0
    assert again.person_record.equals(first.person_record)
    pd.testing.assert_frame_equal(again.link_pair, first.link_pair, check_exact=True)


def test_a_new_threshold_forces_a_full_pass(kit):
    first = kit.resolve(DAY_1, run_id="run-1")
    lower = kit.resolve(DAY_1, previous=carried(first), run_id="run-2", match_probability=0.9)
    assert lower.report["linkage_mode"] == "full"
    assert "match_probability" in lower.report["linkage_full_reason"]
    assert set(lower.link_record["match_probability"]) == {0.9}


def test_a_new_model_forces_a_full_pass(kit, rules, tmp_path):
    first = kit.resolve(DAY_1, run_id="run-1")
    model = load_model(rules.model_path)
    model["probability_two_random_records_match"] *= 1.5  # a retrain
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    retrained = kit.resolve(DAY_1, previous=carried(first), run_id="run-2", model_path=path)
    assert retrained.report["linkage_mode"] == "full"
    assert "the model changed" in retrained.report["linkage_full_reason"]
    assert set(retrained.link_record["model_version"]) == {model_version(model)}


def test_far_fewer_records_than_the_cache_allows_force_a_full_pass(kit):
    first = kit.resolve(DAY_1, run_id="run-1")
    few = kit.resolve(DAY_1, previous=carried(first), run_id="run-2", with_background=False)
    assert few.report["linkage_mode"] == "full"
    assert "fewer than the pair cache allows" in few.report["linkage_full_reason"]


def test_plan_keeps_only_pairs_of_unchanged_records(kit, rules):
    records, _ = linkage_records(contact_features(kit.cases(*DAY_1), []))
    hashes = content_hashes(records)
    assert hashes.is_unique and hashes.equals(content_hashes(records.copy()))
    ids = records["unique_id"]
    cache = LinkCache(
        pd.DataFrame({"unique_id": ids, "content_hash": hashes.where(ids != "C200", 0), "model_version": "m1",
                      "match_probability": 0.95, "min_records": 2}),
        pd.DataFrame({"unique_id_l": ["C100", "C100", "C050"], "unique_id_r": ["C400", "C200", "C100"],
                      "weight": [20.0, 9.0, 9.0], "mw_forename": 0.0, "mw_email": 0.0, "mw_mobile": 0.0,
                      "mw_date_of_birth": 0.0}))
    cache.record.loc[len(cache.record)] = ["C050", 1, "m1", 0.95, 2]  # a record no longer staged
    got = plan(records, hashes, cache, "m1", 0.95)
    assert got.mode == "incremental" and got.full_reason is None
    assert got.dirty.tolist() == ["C200"]  # its hash changed
    assert sorted(got.dropped) == ["C050", "C200"]
    assert got.kept[["unique_id_l", "unique_id_r"]].values.tolist() == [["C100", "C400"]]
    assert plan(records, hashes, cache, "m2", 0.95).mode == "full"
    assert plan(records, hashes, None, "m1", 0.95).full_reason.startswith("no pair cache")
    assert plan(records, hashes, LinkCache.empty(), "m1", 0.95).full_reason == "the pair cache is empty"
    assert plan(records, hashes, cache, "m1", 0.9).mode == "full"
    full = plan(records, hashes, None, "m1", 0.95)
    assert full.dirty.tolist() == ids.tolist() and full.kept.empty and full.min_records == max(2, len(records) // 2)


def test_a_model_with_term_frequencies_is_refused(kit, rules, tmp_path):
    """Its pairs' weights would depend on every other record: nothing could be cached."""
    model = load_model(rules.model_path)
    model["comparisons"][1]["comparison_levels"][1]["tf_adjustment_column"] = "surname"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    with pytest.raises(ConfigError, match="term-frequency adjustments"):
        kit.resolve(DAY_1, model_path=path)


@pytest.mark.parametrize("field", ["forename", "email", "phone", "postcode", "date_of_birth"])
def test_every_compared_detail_changes_the_hash(kit, field):
    base = {**DAY_1[2], "email": "p.desai@example.net", "date_of_birth": "1990-01-01"}
    changed = {**base, field: {"forename": "Pria", "email": "p.desai@example.org", "phone": "+447700900889",
                               "postcode": "ZX5 5EG", "date_of_birth": "1990-01-02"}[field]}
    hashes = [content_hashes(linkage_records(contact_features(kit.cases(row), []))[0]).iloc[0]
              for row in (base, changed)]
    assert hashes[0] != hashes[1]
