"""Results as rows: the row-count band, the run's outcome, and what details may say."""

from __future__ import annotations

import pytest

from pipeline.validation.results import (ROW_COUNT_EXPECTATION, check_row_count, checked_rows,
                                         failure_summary, validation_outcome)


@pytest.mark.parametrize("rows, previous, ok", [
    (100, 100, True), (50, 100, True), (300, 100, True), (49, 100, False), (301, 100, False),
    (0, 0, True), (5, 0, False), (10, None, True),
])
def test_row_count_band_against_the_previous_run(rows, previous, ok):
    row = check_row_count("call_logs", rows, previous, (0.5, 3.0), "run-2")
    assert row["success"] is ok
    assert row["critical"] is False  # a warning, never a reason to withhold publication
    assert (row["suite"], row["expectation"], row["run_id"]) == ("source_call_logs", ROW_COUNT_EXPECTATION, "run-2")
    if not ok:
        assert f"{rows} rows vs {previous} in the previous run" in row["details"]


def _row(success, critical, expectation="e", details=None):
    return {"run_id": "r", "suite": "s", "expectation": expectation, "critical": critical, "success": success,
            "unexpected_count": None, "details": details}


@pytest.mark.parametrize("rows, outcome", [
    ([_row(True, True), _row(True, False)], "passed"),
    ([_row(True, True), _row(False, False)], "warned"),
    ([_row(False, True), _row(False, False)], "failed"),
    ([], "passed"),
])
def test_validation_outcome(rows, outcome):
    assert validation_outcome(rows) == outcome


def test_failure_summary_names_suite_expectation_and_details_of_critical_failures_only():
    rows = [_row(False, True, "a(x)", "2 of 9 rows failed: x bad"), _row(False, False, "b(y)")]
    assert failure_summary(rows) == "s: a(x) (2 of 9 rows failed: x bad)"


@pytest.mark.parametrize("details, rows", [
    ("checked 12 rows", 12), ("3 of 40 rows quarantined: reason", 40), ("could not be evaluated: x", None), (None, None),
])
def test_checked_rows_reads_the_count_back(details, rows):
    assert checked_rows(details) == rows
