"""format: sql — rows pulled from the source system's own database."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import ConfigError
from pipeline.errors import ExtractError
from pipeline.ingest import SourceMapping, ingest_source

QUERY = ("SELECT call_ref AS call_id, cli, start_time, end_time, ivr_queue, legs FROM cdr "
         "ORDER BY call_ref")


def _mapping(**keys) -> SourceMapping:
    return SourceMapping.model_validate({
        "source": "call_logs", "format": "sql", "query": QUERY,
        "renames": {"cli": "caller_number", "start_time": "started_at", "end_time": "ended_at",
                    "ivr_queue": "queue"},
        **keys})


def _fill(url: str, zoned: bool = False) -> None:
    engine = sa.create_engine(url)
    ts = sa.DateTime(timezone=zoned)
    cdr = sa.Table("cdr", sa.MetaData(), sa.Column("call_ref", sa.String), sa.Column("cli", sa.String),
                   sa.Column("start_time", ts), sa.Column("end_time", ts),
                   sa.Column("ivr_queue", sa.String), sa.Column("legs", sa.Integer))
    zone = dt.timezone.utc if zoned else None
    with engine.begin() as conn:
        cdr.create(conn)
        conn.execute(cdr.insert(), [
            dict(call_ref="L1", cli="07700 900123", start_time=dt.datetime(2026, 7, 1, 10, 0, tzinfo=zone),
                 end_time=dt.datetime(2026, 7, 1, 10, 5, tzinfo=zone), ivr_queue="Waste", legs=1),
            dict(call_ref="L2", cli=None, start_time=dt.datetime(2026, 3, 29, 1, 30, tzinfo=zone),
                 end_time=dt.datetime(2026, 3, 29, 2, 45, tzinfo=zone), ivr_queue="Highways", legs=None),
            dict(call_ref="L3'; DROP TABLE cdr;--", cli="withheld", start_time=dt.datetime(2026, 7, 1, 11, 0, tzinfo=zone),
                 end_time=dt.datetime(2026, 7, 1, 10, 0, tzinfo=zone), ivr_queue="Waste", legs=2),
        ])
    engine.dispose()


def _check(result) -> None:
    staged = result.staged.set_index("call_id")
    assert staged.loc["L1", "caller_number"] == "+447700900123"
    assert staged.loc["L1", "started_at"] == pd.Timestamp("2026-07-01 09:00")
    assert staged.loc["L2", "started_at"] == pd.Timestamp("2026-03-29 01:30")
    assert staged.loc["L2", "time_flags"] == "started_at:spring_gap_shifted"
    assert result.quarantine[["line", "reason"]].values.tolist() == [[3, "ended_at before started_at"]]
    assert result.quarantine["value"].iloc[0].startswith("2026-07-01 10:00:00")  # as the driver gave it
    assert result.report["extra_columns"] == {result.inputs["file"].iloc[0]: ["legs"]}


def test_sqlite_source_through_url_env(tmp_path, queues):
    url = f"sqlite:///{tmp_path / 'cdr.db'}"
    _fill(url)
    result = ingest_source("call_logs", tmp_path, _mapping(url_env="CDR_URL"), queue_service=queues,
                           environ={"CDR_URL": url})
    _check(result)
    assert result.inputs[["file", "delivery", "rows_read", "rows_staged"]].values.tolist() == [
        ["sql://CDR_URL/call_logs", "new", 3, 2]]


def test_unchanged_result_is_a_duplicate(tmp_path, queues):
    url = f"sqlite:///{tmp_path / 'cdr.db'}"
    _fill(url)
    env = {"CDR_URL": url}
    first = ingest_source("call_logs", tmp_path, _mapping(url_env="CDR_URL"), queue_service=queues, environ=env)
    again = ingest_source("call_logs", tmp_path, _mapping(url_env="CDR_URL"), queue_service=queues, environ=env,
                          seen=first.inputs)
    assert again.inputs["delivery"].tolist() == ["duplicate"] and again.staged.empty


@pytest.mark.postgres
def test_postgres_source_through_an_airflow_connection(pg_url, tmp_path, queues):
    _fill(pg_url)
    url = sa.engine.make_url(pg_url)
    conn = json.dumps({"conn_type": "postgres", "host": url.host, "port": url.port, "login": url.username,
                       "schema": url.database})
    result = ingest_source("call_logs", tmp_path, _mapping(conn_id="cdr_db"), queue_service=queues,
                           environ={"AIRFLOW_CONN_CDR_DB": conn})
    _check(result)


@pytest.mark.postgres
def test_zoned_timestamps_are_refused_naming_the_column(pg_url, tmp_path, queues):
    _fill(pg_url, zoned=True)
    with pytest.raises(ExtractError, match="AT TIME ZONE") as err:
        ingest_source("call_logs", tmp_path, _mapping(url_env="CDR_URL"), queue_service=queues,
                      environ={"CDR_URL": pg_url})
    assert err.value.column == "start_time"


def test_failing_query_is_an_extract_error(tmp_path, queues):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(ExtractError, match="query failed") as err:
        ingest_source("call_logs", tmp_path, _mapping(url_env="CDR_URL"), queue_service=queues,
                      environ={"CDR_URL": url})
    assert err.value.file == "sql://CDR_URL/call_logs"


def test_unset_url_says_what_to_export(tmp_path, queues):
    with pytest.raises(ConfigError, match="export AIRFLOW_CONN_CDR_DB"):
        ingest_source("call_logs", tmp_path, _mapping(conn_id="cdr_db"), queue_service=queues, environ={})
