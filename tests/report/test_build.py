"""The HTML report built from the fixture publication."""

from __future__ import annotations

import re

import pytest

from pipeline.report import NothingPublishedError, build_report
from pipeline.report.build import REPORT_TABLES, report_context
from pipeline.report.load import Published, read_published
from tests.report.conftest import (DATA_DOCS, FAILED_RUN_ID, RUN_ID, THRESHOLD, add_restricted_canary,
                                   build_fixture_warehouse, fixture_frames)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> str:
    """Built once for the read-only checks below (a build takes about a second)."""
    folder = tmp_path_factory.mktemp("report")
    url = build_fixture_warehouse(f"duckdb:///{folder / 'warehouse.duckdb'}")
    path = build_report(url, folder / "out")
    assert path == folder / "out" / "index.html"
    return path.read_text(encoding="utf-8")


def test_report_is_self_contained(report_html):
    assert "<script src" not in report_html
    assert "plotly.js v" in report_html  # inlined from the installed package
    # Outside the plotly.js bundle (whose code names URLs used only by map charts),
    # nothing refers to the network. The browser test checks no request is made.
    page = re.sub(r"<script type=\"text/javascript\">/\*\*\s*\* plotly\.js.*?</script>", "", report_html,
                  count=1, flags=re.S)
    assert len(page) < len(report_html) / 10
    assert not re.search(r"https?://|<link[^>]+href=|@import", page)


def test_header_names_the_run_that_published_and_a_later_failure(report_html):
    assert RUN_ID in report_html and "warned" in report_html
    assert f'href="file://{DATA_DOCS}"' in report_html
    assert FAILED_RUN_ID in report_html and "published nothing" in report_html
    assert "How to read an XmR" in report_html
    assert "end of 2026-11-26 (Europe/London)" in report_html


def test_one_section_per_service_with_every_part(report_html):
    for service in ("General Enquiries", "Highways", "Housing Repairs", "Waste"):
        assert f">{service}</h2>" in report_html
    for part in ("Capability", "Demand: value and failure", "Flow", "Work in progress by age", "Study the work"):
        assert report_html.count(part) >= 4


def test_no_person_key_appears(report_html):
    for key in fixture_frames()["journey"]["person_key"].dropna():
        assert key not in report_html
    assert "person_key" not in report_html


def test_suppressed_capability_draws_no_points(report_html):
    assert "Streetlight out: <span class=\"suppressed\">suppressed" in report_html
    assert "J-L000" not in report_html  # its points exist in the table but must not be drawn


def test_study_the_work_shows_chosen_journeys_with_their_events(report_html):
    assert "Longest end to end: <code>J-P055</code>" in report_html
    assert "Most hand-offs: <code>J-P002</code>" in report_html
    assert "Most progress chases: <code>J-P006</code>" in report_html
    assert "failure (progress_chase)" in report_html


def _section(context, service):
    return next(s for s in context["sections"] if s["service"] == service)


def test_context_shows_no_small_counts():
    """Every count the context shows is 'suppressed', zero or at least the threshold."""
    frames = fixture_frames()
    published = Published(run=frames["pipeline_run"].iloc[1].to_dict(), frames=frames)
    context = report_context(published, THRESHOLD, "t", "Europe/London")
    shown = []
    for s in context["sections"]:
        shown.append(s["journeys"])
        shown.append(s["flow"]["met_journeys"])
        shown += [q["journeys"] for q in s["flow"]["sequences"]]
        shown += [v for r in s["wip"]["rows"] for v in r["cells"]]
    numbers = [int(v.replace(",", "")) for v in shown if v != "suppressed"]
    assert all(n == 0 or n >= THRESHOLD for n in numbers)
    assert "suppressed" in shown
    highways = _section(context, "Highways")
    assert [(q["sequence"], q["journeys"]) for q in highways["flow"]["sequences"]] == [
        ("Contact Centre → Highways Hub → Highways Gang A → Highways Hub", "9"),
        ("Contact Centre → Highways Hub → Highways Gang A", "6"),
        ("(other paths, each fewer than 5 journeys or beyond the top 10)", "6"),
    ]
    assert highways["wip"]["rows"] == [{"category": "Pothole", "cells": ["0", "5", "0", "suppressed"]}]
    assert _section(context, "Housing Repairs")["flow"]["handoffs"]["figure"] is None


def test_a_stricter_threshold_suppresses_more(published_duckdb, tmp_path):
    html = build_report(published_duckdb, tmp_path, small_number_threshold=20).read_text(encoding="utf-8")
    assert "Pothole: <span class=\"suppressed\">suppressed: fewer than 20 journeys" in html
    assert "Any count from 1 to 19 is shown as" in html


def test_report_reads_nothing_restricted(published_duckdb, tmp_path):
    canary = add_restricted_canary(published_duckdb)
    html = build_report(published_duckdb, tmp_path).read_text(encoding="utf-8")
    assert canary.split()[0] not in html and canary.split()[1] not in html


def test_a_publication_without_journeys_still_reports_its_run(duckdb_url, tmp_path):
    frames = {name: (f if name == "pipeline_run" else f.iloc[0:0]) for name, f in fixture_frames().items()}
    html = build_report(build_fixture_warehouse(duckdb_url, frames), tmp_path).read_text(encoding="utf-8")
    assert RUN_ID in html and "This publication holds no journeys." in html


def test_report_of_an_empty_warehouse_is_a_clear_error(duckdb_url, tmp_path):
    with pytest.raises(NothingPublishedError, match="do not exist"):
        build_report(duckdb_url, tmp_path)
    assert not (tmp_path / "index.html").exists()


def test_threshold_must_be_positive(published_duckdb, tmp_path):
    with pytest.raises(ValueError, match="small_number_threshold must be at least 1"):
        build_report(published_duckdb, tmp_path, small_number_threshold=0)


@pytest.mark.postgres
def test_report_on_postgres(pg_url, tmp_path):
    build_fixture_warehouse(pg_url)
    published = read_published(pg_url, REPORT_TABLES)
    assert published.run["run_id"] == RUN_ID
    html = build_report(pg_url, tmp_path).read_text(encoding="utf-8")
    assert "Longest end to end: <code>J-P055</code>" in html
