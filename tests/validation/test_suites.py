"""The committed suites: generated from the declarations, well-formed, never drifting."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from pipeline.sources import SOURCES
from pipeline.validation import suites
from pipeline.warehouse.tables import PUBLISHED_TABLES


@pytest.fixture(scope="module")
def built() -> dict:
    return suites.build_suites()


def test_committed_files_equal_what_the_generator_writes():
    assert suites.stale_suites() == [], "run: python -m pipeline.validation.suites --write"


def test_one_suite_per_source_and_per_published_table(built):
    expected = {f"source_{s}" for s in SOURCES} | {f"published_{t}" for t in PUBLISHED_TABLES}
    assert set(built) == expected
    assert {p.stem for p in suites.DEFAULT_DIR.glob("*.json")} == expected


def test_every_expectation_says_whether_it_is_critical_and_why(built):
    for name, suite in built.items():
        for exp in suite["expectations"]:
            assert isinstance(exp["meta"]["critical"], bool), (name, exp["type"])
            assert exp["meta"]["reason"], (name, exp["type"])
            assert exp["severity"] == ("critical" if exp["meta"]["critical"] else "warning")
            if exp["meta"].get("quarantine"):
                assert name.startswith("source_") and not exp["meta"]["critical"]


def test_expectation_ids_are_unique_within_each_suite(built):
    for name, suite in built.items():
        ids = Counter(suites.expectation_id(e) for e in suite["expectations"])
        assert [i for i, n in ids.items() if n > 1] == [], name


def _types(suite: dict, column: str) -> set[str]:
    return {e["type"] for e in suite["expectations"] if column in suites.expectation_id(e)}


def test_source_suite_covers_the_contract(built):
    cases = built["source_crm_cases"]
    assert "expect_column_values_to_be_unique" in _types(cases, "(case_id)")
    assert "expect_column_values_to_not_be_null" in _types(cases, "(opened_at)")
    assert "expect_column_values_to_be_in_set" in _types(cases, "(status)")
    assert "expect_column_pair_values_a_to_be_greater_than_b" in _types(cases, "(closed_at, opened_at)")
    calls = built["source_call_logs"]
    assert _types(calls, "(answered_at, started_at)") and _types(calls, "(ended_at, answered_at)")
    events = built["source_crm_case_events"]
    assert "expect_compound_columns_to_be_unique" in _types(events, "(case_id, event_at, event_type, team, status)")


def test_published_suites_cover_privacy_and_integrity(built):
    journey, events, demand = built["published_journey"], built["published_journey_event"], built["published_measure_demand"]
    assert "expect_column_values_to_not_match_regex_list" in _types(journey, "(service)")
    assert "expect_column_values_to_be_between" in _types(journey, "(e2e_hours)")
    assert "expect_column_values_to_be_in_set" in _types(events, "(journey_id_in_journey)")
    assert "expect_compound_columns_to_be_unique" in _types(events, "(journey_id, seq)")
    small = [e for e in demand["expectations"] if e["type"] == "expect_column_values_to_not_be_in_set"]
    assert {e["kwargs"]["column"] for e in small} >= {"contacts", "value_contacts", "failure_contacts"}
    assert all(e["kwargs"]["value_set"] == {"$PARAMETER": "small_counts"} and e["meta"]["critical"] for e in small)


def test_load_suite_reads_the_committed_file():
    suite = suites.load_suite("source_works_orders")
    assert suite.name == "source_works_orders"
    assert len(suite.expectations) == len(suites.load_suite_dict("source_works_orders")["expectations"])


def test_missing_suite_file_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"source_crm_cases.*--write"):
        suites.load_suite("source_crm_cases", tmp_path)


def test_check_reports_drift_and_write_repairs_it(tmp_path, capsys):
    assert suites.main(["--write", "--dir", str(tmp_path)]) == 0
    assert suites.main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / "published_journey.json").write_text("{}\n")
    assert suites.main(["--check", "--dir", str(tmp_path)]) == 1
    assert "published_journey.json" in capsys.readouterr().err


@pytest.mark.parametrize("text", [
    "alex.smith@example.org", "contact: a_b+c@mail.example.co.uk",
    "07700 900123", "07700900123", "+44 7700 900123", "+447700900123", "01632 960123", "(01632) 960123",
    "+44 (0)1632 960123", "LS6 1AA", "ls61aa", "SW1A 1AA", "call from M1 1AE today",
])
def test_personal_data_is_recognised(text):
    assert any(re.search(r, text) for r in suites.PERSONAL_DATA_REGEXES)


@pytest.mark.parametrize("text", [
    "Highways Hub", "Contact Centre", "Housing Repairs", "LS6", "2026-W47", "2026-11", "91+", "8-28",
    "progress_chase", "2026-11-26 02:30:00", "landing/crm_cases/2026-11-26.csv",
    '{"ingest": 12.0123456789, "journeys": 3.5}', "J-3fa9c0e1d2b4a5f6", "0123456789abcdef0123456789",
    "P1", "wo_completed",
])
def test_ordinary_published_text_is_not_flagged(text):
    assert not any(re.search(r, text) for r in suites.PERSONAL_DATA_REGEXES)


@pytest.mark.parametrize("identifier", ["07700900123", "WO123AB", "J-0001-c17", "5f" * 32])
def test_identifiers_are_checked_for_email_only(identifier):
    assert not re.search(suites.EMAIL_REGEX, identifier)
