"""Reading the publication: only published tables, the run that published them."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.report.load import NothingPublishedError, latest_runs, read_published
from pipeline.warehouse.io import create_engine, create_tables
from tests.report.conftest import FAILED_RUN_ID, RUN_ID, build_fixture_warehouse, fixture_frames


def _runs(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"run_id": r, "started_at": pd.Timestamp(t), "status": s} for r, t, s in rows])


def test_latest_publishing_run_and_a_later_failure():
    run, later = latest_runs(_runs(("a", "2026-11-01", "succeeded"), ("b", "2026-11-02", "incomplete"),
                                   ("c", "2026-11-03", "failed")))
    assert (run["run_id"], later["run_id"]) == ("b", "c")


def test_no_later_run_when_the_newest_published():
    run, later = latest_runs(_runs(("a", "2026-11-01", "failed"), ("b", "2026-11-02", "succeeded")))
    assert (run["run_id"], later) == ("b", None)


@pytest.mark.parametrize(("runs", "message"), [
    (_runs(), "pipeline_run is empty"),
    (_runs(("a", "2026-11-01", "failed"), ("b", "2026-11-02", "running")), "no run in pipeline_run has published"),
])
def test_nothing_published_says_why(runs, message):
    with pytest.raises(NothingPublishedError, match=message):
        latest_runs(runs)


def test_read_published_on_both_warehouses(warehouse_url):
    build_fixture_warehouse(warehouse_url)
    published = read_published(warehouse_url, ["journey", "journey_event"])
    expected = fixture_frames()
    assert published.run["run_id"] == RUN_ID
    assert published.later_run["run_id"] == FAILED_RUN_ID
    assert len(published["journey"]) == len(expected["journey"])
    assert len(published["journey_event"]) == len(expected["journey_event"])
    assert published["journey_event"]["event_at"].dtype == "datetime64[ns]"


def test_missing_tables_name_the_tables(duckdb_url):
    with pytest.raises(NothingPublishedError, match=r"published tables \['pipeline_run', 'journey'\] do not exist"):
        read_published(duckdb_url, ["journey"])


def test_empty_warehouse_has_published_nothing(duckdb_url):
    engine = create_engine(duckdb_url)
    with engine.begin() as conn:
        create_tables(conn)
    engine.dispose()
    with pytest.raises(NothingPublishedError, match="pipeline_run is empty"):
        read_published(duckdb_url, ["journey"])


def test_restricted_tables_cannot_be_asked_for(published_duckdb):
    with pytest.raises(ValueError, match=r"not published tables: \['person'\]"):
        read_published(published_duckdb, ["person"])
