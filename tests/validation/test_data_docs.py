"""Data Docs render from validation_result rows: readable pages, no values, no secrets."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.validation.data_docs import render_data_docs
from pipeline.validation.results import check_row_count
from pipeline.validation.validate import validate_source

AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")


def _all_html(root) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*.html"))


def test_renders_an_index_and_a_page_per_suite_without_row_values(staged, rules, tmp_path):
    secret_email = "jo.bloggs@example.org"
    frame = staged("crm_cases", {"email": secret_email, "channel": "pigeon-post"}, {})
    rows = validate_source("crm_cases", frame, rules, AS_OF, "run-7").results
    rows.append(check_row_count("crm_cases", 2, 100, (0.5, 3.0), "run-7"))
    index = render_data_docs(rows, tmp_path / "docs", run_time=dt.datetime(2026, 11, 27, 2, 30))
    assert index.name == "index.html" and index.exists()
    html = _all_html(tmp_path / "docs")
    assert "source_crm_cases" in html and "run-7" in html
    assert "2 rows vs 100 in the previous run" in html  # the warning, with its figures
    assert secret_email not in html and "pigeon-post" not in html  # quarantined values stay restricted


def test_a_second_run_adds_pages_to_the_same_site(staged, rules, tmp_path):
    for run in ("run-1", "run-2"):
        rows = validate_source("works_orders", staged("works_orders", {}), rules, AS_OF, run).results
        index = render_data_docs(rows, tmp_path, run_time=dt.datetime(2026, 11, 27, 2, 30))
    assert "run-1" in index.read_text() and "run-2" in index.read_text()


def test_rows_of_several_runs_or_none_are_refused(tmp_path):
    row = check_row_count("crm_cases", 1, 1, (0.5, 3.0), "a")
    with pytest.raises(ValueError, match="one run at a time"):
        render_data_docs([row, {**row, "run_id": "b"}], tmp_path)
    with pytest.raises(ValueError, match="at least one"):
        render_data_docs([], tmp_path)
