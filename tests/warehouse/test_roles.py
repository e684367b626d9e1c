"""journeys db init: least privilege proven against the real PostgreSQL, and DuckDB."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from pipeline.warehouse.roles import init_database
from pipeline.warehouse.tables import PUBLISHED_TABLES, RESTRICTED_SCHEMAS, metadata

RESTRICTED_TABLES = [t for t in metadata.sorted_tables if t.schema in RESTRICTED_SCHEMAS]


@pytest.fixture()
def roles(pg_url):
    """Role names unique to this test (roles are cluster-wide), dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"analyst": f"ja_{suffix}", "writer": f"jw_{suffix}", "login": f"jl_{suffix}"}
    yield names
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        existing = [n for n in names.values()
                    if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": n}).first()]
        if existing:
            conn.exec_driver_sql(f"DROP OWNED BY {', '.join(existing)}")
            conn.exec_driver_sql(f"DROP ROLE {', '.join(existing)}")
    engine.dispose()


def _as(pg_url: str, role: str, sql: str):
    """Run ``sql`` as ``role`` (SET ROLE drops the superuser's rights)."""
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET ROLE {role}")
            return conn.exec_driver_sql(sql).fetchall() if sql.lstrip().upper().startswith("SELECT") \
                else conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_analyst_reads_published_tables_only(pg_url, roles):
    init_database(pg_url, roles["analyst"], roles["writer"])
    for table in PUBLISHED_TABLES.values():
        assert _as(pg_url, roles["analyst"], f"SELECT count(*) FROM published.{table.name}") == [(0,)]
    for table in RESTRICTED_TABLES:
        with pytest.raises(sa.exc.ProgrammingError) as err:
            _as(pg_url, roles["analyst"], f"SELECT * FROM {table.schema}.{table.name}")
        assert isinstance(err.value.orig, psycopg.errors.InsufficientPrivilege), table.fullname


@pytest.mark.postgres
def test_analyst_cannot_write_published_tables(pg_url, roles):
    init_database(pg_url, roles["analyst"], roles["writer"])
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _as(pg_url, roles["analyst"], "DELETE FROM published.journey")


@pytest.mark.postgres
def test_init_twice_is_fine_and_future_published_tables_are_readable(pg_url, roles):
    first = init_database(pg_url, roles["analyst"], roles["writer"])
    assert init_database(pg_url, roles["analyst"], roles["writer"]) == first
    _as(pg_url, roles["writer"], "CREATE TABLE published.measure_new (x int)")
    assert _as(pg_url, roles["analyst"], "SELECT count(*) FROM published.measure_new") == [(0,)]
    _as(pg_url, roles["writer"], "CREATE TABLE staging.new_raw (x int)")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _as(pg_url, roles["analyst"], "SELECT count(*) FROM staging.new_raw")


@pytest.mark.postgres
def test_writer_owns_everything_and_a_member_login_can_publish(pg_url, roles, outputs, run_row):
    from pipeline.warehouse.publish import publish

    init_database(pg_url, roles["analyst"], roles["writer"])
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        owners = conn.execute(sa.text(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN ('published','staging','identity','quarantine')"
        )).scalars().all()
        conn.exec_driver_sql(f"CREATE ROLE {roles['login']} LOGIN IN ROLE {roles['writer']}")
    admin.dispose()
    assert owners == [roles["writer"]]
    login_url = sa.engine.make_url(pg_url).set(username=roles["login"])
    engine = sa.create_engine(login_url)
    publish(engine, outputs, None, run_row("run-1"))  # WAP schema, swap and run log as the writer's member
    engine.dispose()
    assert _as(pg_url, roles["analyst"], "SELECT count(*) FROM published.journey") == [(6,)]


@pytest.mark.postgres
def test_comments_come_from_the_declarations(pg_url, roles):
    init_database(pg_url, roles["analyst"], roles["writer"])
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        table = conn.exec_driver_sql("SELECT obj_description('published.journey'::regclass)").scalar_one()
        column = conn.exec_driver_sql("SELECT col_description('published.journey'::regclass, 1)").scalar_one()
    engine.dispose()
    assert table == PUBLISHED_TABLES["journey"].comment and table.startswith("Grain: one row per journey")
    assert column == PUBLISHED_TABLES["journey"].c.journey_id.comment


def test_duckdb_gets_schemas_tables_and_comments_twice_over(duckdb_url):
    statements = init_database(duckdb_url)
    assert statements and all(s.startswith("COMMENT ON") for s in statements)  # no roles in DuckDB
    assert init_database(duckdb_url) == statements
    engine = sa.create_engine(duckdb_url)
    with engine.connect() as conn:
        comment = conn.exec_driver_sql(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'published' AND table_name = 'journey'").scalar_one()
        tables = conn.exec_driver_sql("SELECT count(*) FROM duckdb_tables()").scalar_one()
    engine.dispose()
    assert comment == PUBLISHED_TABLES["journey"].comment
    assert tables == len(metadata.tables)
