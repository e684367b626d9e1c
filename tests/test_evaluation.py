"""B³ scoring on hand-computed clusterings."""

import pandas as pd
import pytest

from pipeline.evaluation import b_cubed, score_people, true_person_of


def test_identical_clusterings_score_one():
    s = pd.Series(["a", "a", "b"], index=[1, 2, 3])
    assert b_cubed(s, s) == (1.0, 1.0, 1.0)


def test_over_merge_costs_precision_not_recall():
    truth = pd.Series(["a", "a", "b", "b"], index=[1, 2, 3, 4])
    merged = pd.Series(["x"] * 4, index=[1, 2, 3, 4])
    p, r, f = b_cubed(merged, truth)
    assert p == pytest.approx(0.5) and r == 1.0 and f == pytest.approx(2 / 3)


def test_split_costs_recall_not_precision():
    truth = pd.Series(["a", "a"], index=[1, 2])
    split = pd.Series(["x", "y"], index=[1, 2])
    p, r, _ = b_cubed(split, truth)
    assert p == 1.0 and r == pytest.approx(0.5)


# ------------------------------------------------------------------ score_people

def _truth(tmp_path, rows: list[tuple[str, str, str, str]]):
    """records.csv from (system, source_ref, true person, customer_id) rows."""
    records = pd.DataFrame(rows, columns=["system", "source_ref", "person_id", "customer_id"])
    records.insert(3, "journey_id", "TJ1")
    records.to_csv(tmp_path / "records.csv", index=False)
    return tmp_path


def _people_fixture(tmp_path):
    """Ann (two cases, both with a contact record), Bob (one), Cat (an anonymous report
    only: the CRM never knew her). Calls: two by Ann, one by Bob, two by Cat, one by Dan
    (no case at all)."""
    truth = _truth(tmp_path, [
        ("crm", "C1", "ANN", "CUST1"), ("crm", "C2", "ANN", "CUST1"), ("crm", "C3", "BOB", "CUST2"),
        ("crm", "C4", "CAT", ""),
        ("telephony", "L1", "ANN", ""), ("telephony", "L2", "ANN", ""), ("telephony", "L3", "BOB", ""),
        ("telephony", "L4", "CAT", ""), ("telephony", "L5", "CAT", ""), ("telephony", "L6", "DAN", ""),
    ])
    person_record = pd.DataFrame({"case_id": ["C1", "C2", "C3", "C4"], "person_id": ["p1", "p1", "p2", "p3"]})
    return truth, person_record


def _attribution(pairs: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"call_id": list(pairs), "person_id": list(pairs.values())})


def test_calls_attributed_to_their_callers_score_one(tmp_path):
    truth, person_record = _people_fixture(tmp_path)
    s = score_people(truth, person_record, _attribution({"L1": "p1", "L2": "p1", "L3": "p2", "L4": None,
                                                          "L5": None, "L6": None}))
    assert (s.call_precision, s.call_precision_all, s.call_recall) == (1.0, 1.0, 1.0)
    assert s.calls_attributed == 3 and s.calls_attributed_unknown_caller == 0


def test_a_known_callers_call_given_to_another_person_costs_precision_and_recall(tmp_path):
    truth, person_record = _people_fixture(tmp_path)
    s = score_people(truth, person_record, _attribution({"L1": "p1", "L2": "p2", "L3": "p2"}))
    assert s.call_precision == pytest.approx(2 / 3) and s.call_recall == pytest.approx(2 / 3)


def test_calls_of_callers_the_crm_never_knew_are_counted_apart_not_hidden(tmp_path):
    """Cat (anonymous report only) and Dan (no case) ring from numbers known for Bob."""
    truth, person_record = _people_fixture(tmp_path)
    s = score_people(truth, person_record, _attribution({"L1": "p1", "L2": "p1", "L3": "p2", "L4": "p2",
                                                          "L6": "p2"}))
    assert s.call_precision == 1.0 and s.calls_attributed_unknown_caller == 2
    assert s.call_precision_all == pytest.approx(3 / 5)


def test_recall_is_over_calls_made_by_known_callers(tmp_path):
    truth, person_record = _people_fixture(tmp_path)
    s = score_people(truth, person_record, _attribution({"L1": "p1"}))
    assert s.call_recall == pytest.approx(1 / 3)  # L2 and L3 missed; Cat's and Dan's calls not counted


def test_our_person_stands_for_the_true_person_holding_most_of_its_cases(tmp_path):
    truth, _ = _people_fixture(tmp_path)
    merged = pd.DataFrame({"case_id": ["C1", "C2", "C3", "C4"], "person_id": ["p1", "p1", "p1", "p3"]})
    s = score_people(truth, merged, _attribution({"L1": "p1", "L3": "p1"}))
    assert s.person_precision < 1.0
    assert s.call_precision == pytest.approx(0.5)  # p1 is Ann (two of its three cases): Bob's call is wrong


def test_true_person_of_breaks_ties_by_the_smaller_true_id():
    ours = pd.Series(["p1", "p1"], index=["C1", "C2"])
    truth = pd.Series(["BOB", "ANN"], index=["C1", "C2"])
    assert true_person_of(ours, truth).to_dict() == {"p1": "ANN"}


def test_a_call_attributed_to_an_unknown_person_id_counts_as_wrong(tmp_path):
    truth, person_record = _people_fixture(tmp_path)
    s = score_people(truth, person_record, _attribution({"L1": "p1", "L2": "p-not-in-person-record"}))
    assert s.call_precision == pytest.approx(0.5)
