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


def test_every_column_type_reads_back_exactly(warehouse_url):
    """The fast read paths (DuckDB's Arrow scan, PostgreSQL's COPY TO STDOUT, and a
    snapshot's ADBC reads, which must give the very same frame) keep the
    awkward values apart: NULL vs empty string, text that looks like a NULL or holds a
    separator, quote or newline, NULL booleans and integers, dates, float bits."""
    import datetime as dt

    import sqlalchemy as sa

    table = sa.Table("_types", sa.MetaData(), sa.Column("k", sa.Integer), sa.Column("text", sa.Text),
                     sa.Column("flag", sa.Boolean), sa.Column("n", sa.Integer), sa.Column("x", sa.Double),
                     sa.Column("seen_at", sa.DateTime), sa.Column("day", sa.Date), schema="staging")
    frame = pd.DataFrame({
        "k": [1, 2, 3, 4],
        "text": ["", None, "NA", 'a, "quoted"\nline'],
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "n": pd.array([7, None, -1, 0], dtype="Int64"),
        "x": [0.1 + 0.2, None, 1e-300, -2.5],
        "seen_at": pd.to_datetime(["2026-03-29 00:30:00.123456", None, "2026-10-25 01:30:00.000000",
                              "2026-01-01 00:00:00.000000"]),
        "day": [dt.date(1950, 1, 2), None, dt.date(2026, 2, 28), dt.date(2000, 12, 31)],
    })
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn)
        table.create(conn)
        io.write_frame(conn, table, frame)
    with engine.connect() as conn:
        back = io.read_frame(conn, table).sort_values("k").reset_index(drop=True)
    with io.snapshot(engine) as conn:  # PostgreSQL: through ADBC, one table and a batch
        for snapped in (io.read_frame(conn, table), io.read_frames(conn, {"t": table, "again": table})["again"]):
            pd.testing.assert_frame_equal(snapped.sort_values("k").reset_index(drop=True), back)
    assert back["text"].tolist() == ["", None, "NA", 'a, "quoted"\nline']
    assert [None if pd.isna(v) else bool(v) for v in back["flag"]] == [True, None, False, True]
    assert [None if pd.isna(v) else int(v) for v in back["n"]] == [7, None, -1, 0]
    assert back["x"].iloc[0] == 0.1 + 0.2 and pd.isna(back["x"].iloc[1]) and back["x"].iloc[2] == 1e-300
    assert back["seen_at"].tolist()[0] == pd.Timestamp("2026-03-29 00:30:00.123456") and pd.isna(back["seen_at"].iloc[1])
    assert [None if pd.isna(v) else pd.Timestamp(v).date() for v in back["day"]] == frame["day"].tolist()


def test_replace_rows_deletes_by_the_given_columns_and_inserts(warehouse_url):
    engine = io.create_engine(warehouse_url)
    record = pd.DataFrame({"case_id": ["C1", "C2", "C3"], "person_id": ["P1", "P1", "P2"]})
    with engine.begin() as conn:
        io.create_tables(conn)
        io.write_frame(conn, t.person_record, record)
        io.replace_rows(conn, t.person_record, pd.DataFrame({"case_id": ["C2", "C3"]}),
                        pd.DataFrame({"case_id": ["C3", "C4"], "person_id": ["P3", "P3"]}))
    with engine.connect() as conn:
        back = io.read_frame(conn, t.person_record).sort_values("case_id")
    assert back.values.tolist() == [["C1", "P1"], ["C3", "P3"], ["C4", "P3"]]


@pytest.mark.postgres
def test_a_snapshot_reads_one_moment_of_the_warehouse(pg_url):
    """A run publishing while a build reads must not hand it some tables from before and
    some from after: every read of a snapshot, its own connection's and ADBC's, sees the
    warehouse as it was when the snapshot began. And a snapshot only reads."""
    import sqlalchemy as sa

    engine = io.create_engine(pg_url)
    with engine.begin() as conn:
        io.create_tables(conn)
        io.write_frame(conn, t.person_record, pd.DataFrame({"case_id": ["C1"], "person_id": ["P1"]}))
    with io.snapshot(engine) as conn:
        with engine.begin() as other:
            io.write_frame(other, t.person_record, pd.DataFrame({"case_id": ["C2"], "person_id": ["P2"]}))
            io.write_frame(other, t.person, pd.DataFrame({"person_id": ["P2"], "person_key": ["K2"],
                                                          "first_run_id": ["r2"]}))
        assert io.read_frame(conn, t.person_record)["case_id"].tolist() == ["C1"]
        frames = io.read_frames(conn, {"record": t.person_record, "person": t.person})
        assert frames["record"]["case_id"].tolist() == ["C1"] and frames["person"].empty
        assert conn.exec_driver_sql("SELECT count(*) FROM identity.person_record").scalar() == 1
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            conn.exec_driver_sql("DELETE FROM identity.person_record")
    with engine.connect() as conn:
        assert sorted(io.read_frame(conn, t.person_record)["case_id"]) == ["C1", "C2"]
