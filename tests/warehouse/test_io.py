"""Frames round-trip through declared tables on DuckDB and PostgreSQL alike."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.warehouse import io
from pipeline.warehouse import tables as t


def _events() -> pd.DataFrame:
    return pd.DataFrame({
        "journey_id": ["J-1", "J-1"], "seq": [1, 2],
        "event_at": pd.to_datetime(["2026-03-29 00:30", "2026-03-29 01:30"]),
        "system": ["telephony", "crm"], "source_ref": ["CALL1", "C1"],
        "event_type": ["call", "created"], "team": ["Contact Centre", None],
        "channel": ["phone", None], "demand_type": ["value", None], "failure_type": [None, None],
        "not_a_column": [1, 2],
    })


def test_round_trip_keeps_values_types_and_nulls(warehouse_url):
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn)
        assert io.write_frame(conn, t.journey_event, _events()) == 2
    with engine.connect() as conn:
        back = io.read_frame(conn, t.journey_event).sort_values("seq").reset_index(drop=True)
    assert list(back.columns) == [c.name for c in t.journey_event.columns]
    assert back["team"].tolist() == ["Contact Centre", None]
    assert back["event_at"].dtype == "datetime64[ns]"
    assert back["event_at"].tolist() == _events()["event_at"].tolist()


def test_replace_is_atomic_with_the_callers_transaction(warehouse_url):
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn)
        io.write_frame(conn, t.journey_event, _events())
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            io.write_frame(conn, t.journey_event, _events().iloc[:1], replace=True)
            raise RuntimeError("killed half way")
    with engine.connect() as conn:
        assert len(io.read_frame(conn, t.journey_event)) == 2


def test_missing_column_is_named(duckdb_url):
    engine = io.create_engine(duckdb_url)
    with engine.begin() as conn:
        io.create_tables(conn)
        with pytest.raises(KeyError, match="event_at"):
            io.write_frame(conn, t.journey_event, _events().drop(columns="event_at"))


def test_create_tables_is_idempotent(warehouse_url):
    engine = io.create_engine(warehouse_url)
    for _ in range(2):
        with engine.begin() as conn:
            io.create_tables(conn)


@pytest.mark.postgres
def test_parallel_tasks_can_create_the_tables_at_once(pg_url):
    """Two ingest tasks of one DAG start together; neither may fail on the DDL."""
    from concurrent.futures import ThreadPoolExecutor

    def init() -> None:
        engine = io.create_engine(pg_url)
        with engine.begin() as conn:
            io.create_tables(conn)
        engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(init) for _ in range(4)]:
            f.result()
