"""`journeys run` end to end on a small generated council, on DuckDB and PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.stages import run_pipeline
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

from .conftest import END

pytestmark = pytest.mark.slow

PERSONAL = {"forename", "surname", "email", "phone", "address_line1", "postcode", "date_of_birth",
            "caller_number", "customer_id", "uprn", "person_id"}


def _published(url: str) -> dict[str, pd.DataFrame]:
    engine = io.create_engine(url)
    with engine.connect() as conn:
        return {name: io.read_frame(conn, table) for name, table in t.PUBLISHED_TABLES.items()}


def test_run_publishes_every_table_and_is_idempotent(landing, warehouse_url):
    first = run_pipeline(END, warehouse_url=warehouse_url, landing_dir=landing)
    assert first["status"] == "succeeded"
    assert first["validation_outcome"] in ("passed", "warned")
    tables = _published(warehouse_url)
    for name in t.BUILD_OUTPUTS:
        assert len(tables[name]) > 0, f"{name} is empty"
    run = tables["pipeline_run"].iloc[0]
    assert run["status"] == "succeeded" and run["rows_read"] > 0
    inputs = json.loads(run["inputs"])
    assert {i["source"] for i in inputs} == set(t.staging_tables)
    assert all(len(i["sha256"]) == 64 for i in inputs)
    assert set(tables["journey"]["status"]) <= {"met", "open", "withdrawn", "abandoned", "unlinked"}
    assert set(tables["journey_event"]["journey_id"]) <= set(tables["journey"]["journey_id"])

    second = run_pipeline(END, warehouse_url=warehouse_url, landing_dir=landing)
    assert second["table_hashes"] == first["table_hashes"], "same inputs must publish identical tables"
    assert len(_published(warehouse_url)["pipeline_run"]) == 2


def test_no_personal_data_is_published(landing, duckdb_url):
    run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    for name, table in t.PUBLISHED_TABLES.items():
        assert not PERSONAL & {c.name for c in table.columns}, name
    journey = _published(duckdb_url)["journey"]
    districts = journey["postcode_district"].dropna()
    assert districts.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?").all(), "only postcode districts"
    assert journey["person_key"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()


def test_backfill_for_an_earlier_date_ignores_later_files(landing, duckdb_url):
    early = END - pd.Timedelta(days=30)
    summary = run_pipeline(early.date() if hasattr(early, "date") else early,
                           warehouse_url=duckdb_url, landing_dir=landing)
    journey = _published(duckdb_url)["journey"]
    assert summary["status"] == "succeeded"
    assert journey["started_at"].max() <= pd.Timestamp(END) - pd.Timedelta(days=29)


def test_missing_secret_stops_before_publishing(landing, duckdb_url, monkeypatch):
    monkeypatch.delenv("JOURNEYS_HMAC_SECRET")
    from pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="JOURNEYS_HMAC_SECRET"):
        run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    engine = sa.create_engine(duckdb_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM published.journey")).scalar() == 0
        assert conn.execute(sa.text("SELECT status FROM published.pipeline_run")).scalar() == "failed"
