"""Moving DataFrames in and out of declared tables, fast on both warehouses.

Writes go through the caller's open transaction (so Write-Audit-Publish can make a
whole publication atomic) and count their own rows: ``to_sql``'s return value differs
per driver (stack-notes.md). DuckDB takes the frame by reference (zero-copy scan);
PostgreSQL takes it through ``COPY``. No table reflection anywhere: the declared
``Table`` is the contract.

Reads: DuckDB hands back frames directly. On PostgreSQL a ``snapshot`` connection (a
build's bulk reads) reads through ADBC, which turns the server's binary ``COPY`` into
Arrow in C; any other connection reads through psycopg's ``COPY``, whose rows reach
Python one by one (two to three times as slow on millions of rows, but it sees the
connection's own temporary tables and uncommitted writes).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from io import BytesIO, StringIO
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.warehouse.tables import ALL_SCHEMAS, metadata

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection as AdbcConnection


DDL_LOCK_KEY = 727_274_001  # any constant shared by every process of the pipeline
_ADBC = "journeys.adbc"  # Connection.info key of a snapshot connection's ADBC reader


def create_engine(url: str) -> Engine:
    """An engine for the warehouse URL; DuckDB files get their folder created."""
    if url.startswith("duckdb:///") and not url.startswith("duckdb:///:memory:"):
        from pathlib import Path

        Path(url[len("duckdb:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


def is_duckdb(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "duckdb"


def quote(conn: Connection, table: sa.Table, schema: str | None = None) -> str:
    prep = conn.dialect.identifier_preparer
    sch = schema if schema is not None else table.schema
    return (prep.quote_schema(sch) + "." if sch else "") + prep.quote(table.name)


def ensure_schemas(conn: Connection, schemas: Iterable[str] = ALL_SCHEMAS) -> None:
    prep = conn.dialect.identifier_preparer
    for schema in schemas:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {prep.quote_schema(schema)}"))


def create_tables(conn: Connection, tables: Iterable[sa.Table] | None = None) -> None:
    """Create declared tables that do not exist yet (idempotent, and safe when parallel
    tasks do it at once: on PostgreSQL a transaction lock serialises the DDL)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({DDL_LOCK_KEY})")
    ensure_schemas(conn)
    metadata.create_all(conn, tables=list(tables) if tables is not None else None, checkfirst=True)


def _conform(df: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """Exactly the table's columns, in order, with missing values as None."""
    names = [c.name for c in table.columns]
    extra = set(df.columns) - set(names)
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise KeyError(f"frame for {table.fullname} lacks columns {missing}")
    del extra  # extra columns (e.g. person_id before publishing) are simply not written
    out = df[names]
    for col in table.columns:
        if isinstance(col.type, sa.Boolean) and out[col.name].dtype != bool:
            out = out.assign(**{col.name: out[col.name].astype("boolean")})
        elif isinstance(col.type, sa.Integer) and pd.api.types.is_float_dtype(out[col.name].dtype):
            # NULLs turn integer columns into floats in pandas; COPY would write "3.0".
            try:
                out = out.assign(**{col.name: out[col.name].astype("Int64")})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{table.fullname}.{col.name}: integer column holds non-integer values") from exc
    return out


def _copy_csv(df: pd.DataFrame) -> str:
    """The frame as COPY CSV: NULL as \\N (so an empty string stays a string), floats
    at full precision, timestamps with microseconds. Much faster than row by row."""
    buf = StringIO()
    df.to_csv(buf, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S.%f")
    return buf.getvalue()


def _python_rows(df: pd.DataFrame) -> list[tuple]:
    obj = df.astype(object).where(df.notna(), None)
    return [tuple(v.item() if isinstance(v, np.generic) else v for v in row)
            for row in obj.itertuples(index=False, name=None)]


def write_frame(conn: Connection, table: sa.Table, df: pd.DataFrame, *, schema: str | None = None,
                replace: bool = False) -> int:
    """Insert ``df`` into ``table`` (optionally in another schema, e.g. a WAP schema);
    ``replace`` deletes existing rows first, in the same transaction. Returns rows written."""
    df = _conform(df, table)
    target = quote(conn, table, schema)
    cols = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    if replace and is_duckdb(conn) and schema is None:
        # Deleting every key of a large table under its primary-key index costs DuckDB tens
        # of seconds at commit; re-creating it from its declaration (DuckDB has no grants
        # to lose) costs nothing and is as transactional.
        table.drop(conn)
        table.create(conn)
    elif replace:
        conn.execute(sa.text(f"DELETE FROM {target}"))
    if df.empty:
        return 0
    if is_duckdb(conn):
        duck = conn.connection.driver_connection
        view = f"_frame_{uuid.uuid4().hex[:12]}"
        duck.register(view, df)
        try:
            duck.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {view}")
        finally:
            duck.unregister(view)
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(_copy_csv(df))
    else:
        names = [c.name for c in table.columns]
        conn.execute(table.insert() if schema is None else sa.text(
            f"INSERT INTO {target} ({cols}) VALUES ({', '.join(':' + n for n in names)})"),
            [dict(zip(names, r)) for r in _python_rows(df)])
    return len(df)


def temporary_table(conn: Connection, name: str, frame: pd.DataFrame,
                    types: dict[str, sa.types.TypeEngine]) -> sa.Table:
    """``frame`` in a temporary table of this connection (dropped by the caller)."""
    table = sa.Table(f"_{name}_{uuid.uuid4().hex[:8]}", sa.MetaData(),
                     *[sa.Column(col, type_) for col, type_ in types.items()], prefixes=["TEMPORARY"])
    table.create(conn)
    write_frame(conn, table, frame)
    return table


def replace_rows(conn: Connection, table: sa.Table, gone: pd.DataFrame, added: pd.DataFrame) -> None:
    """Delete the rows matching ``gone`` on its columns (through a temporary table) and
    insert ``added``: a change of thousands of rows to a table of millions, without
    rewriting it."""
    if len(gone):
        columns = list(gone.columns)
        temp = temporary_table(conn, "gone", gone, {c: table.c[c].type for c in columns})
        names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
        conn.exec_driver_sql(f"DELETE FROM {quote(conn, table)} WHERE ({names}) IN "
                             f"(SELECT {names} FROM {quote(conn, temp)})")
        temp.drop(conn)
    write_frame(conn, table, added)


def _arrow_type(type_: sa.types.TypeEngine) -> pa.DataType:
    for sql_type, arrow in ((sa.Boolean, pa.bool_()), (sa.Integer, pa.int64()), (sa.Double, pa.float64()),
                            (sa.Float, pa.float64()), (sa.DateTime, pa.timestamp("us")), (sa.Date, pa.date32())):
        if isinstance(type_, sql_type):
            return arrow
    return pa.string()


def _copy_out(conn: Connection, sql: str, table: sa.Table) -> pa.Table:
    """``sql``'s rows through ``COPY ... TO STDOUT`` parsed by Arrow: 3-5x faster than
    ``read_sql_query`` on millions of rows. In PostgreSQL's CSV a NULL is an unquoted
    empty field and an empty string a quoted one, so the two stay apart; floats are
    printed shortest-exact (extra_float_digits 1, the default since PostgreSQL 12)."""
    buf = BytesIO()
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for block in copy:
                buf.write(block)
    buf.seek(0)
    return pa_csv.read_csv(
        buf, parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={c.name: _arrow_type(c.type) for c in table.columns}, null_values=[""],
            strings_can_be_null=True, quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"]))


def _adbc_out(reader: AdbcConnection, sql: str, table: sa.Table) -> pa.Table:
    """``sql``'s rows through an ADBC connection (binary ``COPY`` decoded in C), cast to
    the declared columns' Arrow types (an INTEGER arrives as int32)."""
    with reader.cursor() as cur:
        cur.execute(sql)
        arrow = cur.fetch_arrow_table()
    return arrow.cast(pa.schema([pa.field(c.name, _arrow_type(c.type)) for c in table.columns]))


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection for a build's reads, all of one moment of the warehouse.

    On PostgreSQL it is a ``REPEATABLE READ, READ ONLY`` transaction whose snapshot a
    second, ADBC connection imports (``SET TRANSACTION SNAPSHOT``, as ``pg_dump -j``
    does); ``read_frame`` on it reads through that second connection. Every table read
    then belongs to the same moment even if another run publishes meanwhile. Elsewhere
    (DuckDB) a plain connection.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            yield conn
            return
        import adbc_driver_postgresql.dbapi as adbc

        conn.execution_options(isolation_level="REPEATABLE READ")
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        moment = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        with adbc.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False)) as reader:
            with reader.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cur.execute(f"SET TRANSACTION SNAPSHOT '{moment}'")
            conn.info[_ADBC] = reader
            try:
                yield conn
            finally:
                del conn.info[_ADBC]
                reader.rollback()


def _select(conn: Connection, table: sa.Table, schema: str | None, where: str | None) -> str:
    cols = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    return f"SELECT {cols} FROM {quote(conn, table, schema)}" + (f" WHERE {where}" if where else "")


def _from_arrow(arrow: pa.Table) -> pd.DataFrame:
    # One block per column: consolidating millions of rows into 2-D blocks costs a copy
    # (about half the conversion time) and nothing downstream needs it.
    return arrow.to_pandas(split_blocks=True)


def _declared(df: pd.DataFrame, table: sa.Table, native: bool) -> pd.DataFrame:
    """The declared columns in order; NULL text as None (``native``: the reader's
    frames hold None already), timestamps as nanoseconds."""
    names = [c.name for c in table.columns]
    if list(df.columns) != names:  # reindexing copies every column, even to the same order
        df = df.reindex(columns=names)
    for col in table.columns:
        if isinstance(col.type, (sa.Text, sa.String)):
            if not (native and df[col.name].dtype == object):
                df[col.name] = df[col.name].astype(object).where(df[col.name].notna(), None)
        elif isinstance(col.type, sa.DateTime):
            df[col.name] = pd.to_datetime(df[col.name]).astype("datetime64[ns]")
    return df


def read_frame(conn: Connection, table: sa.Table, *, schema: str | None = None,
               where: str | None = None) -> pd.DataFrame:
    """All rows of a declared table as a frame with the declared columns."""
    sql = _select(conn, table, schema, where)
    native = True  # DuckDB's frames and Arrow's hold None for a NULL text already
    if is_duckdb(conn):
        df = conn.connection.driver_connection.execute(sql).df()
    elif _ADBC in conn.info:
        df = _from_arrow(_adbc_out(conn.info[_ADBC], sql, table))
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        df = _from_arrow(_copy_out(conn, sql, table))
    else:
        df, native = pd.read_sql_query(sa.text(sql), conn), False
    return _declared(df, table, native)


def read_frames(conn: Connection, tables: Mapping[str, sa.Table]) -> dict[str, pd.DataFrame]:
    """Every row of each of ``tables`` (by name), as ``read_frame``. On a ``snapshot``
    connection of PostgreSQL the next table is fetched (in C, off the GIL) while the
    last one is turned into a frame, so the server's work and ours overlap."""
    if _ADBC not in conn.info:
        return {name: read_frame(conn, table) for name, table in tables.items()}
    reader, items = conn.info[_ADBC], list(tables.items())

    def fetch(i: int) -> pa.Table:
        return _adbc_out(reader, _select(conn, items[i][1], None, None), items[i][1])

    out = {}
    with ThreadPoolExecutor(max_workers=1) as pool:  # one fetch at a time: ADBC connections are not shared
        ahead = pool.submit(fetch, 0) if items else None
        for i, (name, table) in enumerate(items):
            arrow = ahead.result()
            ahead = pool.submit(fetch, i + 1) if i + 1 < len(items) else None
            out[name] = _declared(_from_arrow(arrow), table, native=True)
            del arrow
    return out
