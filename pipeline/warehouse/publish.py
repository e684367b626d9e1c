"""Write-Audit-Publish: analysts see the old publication or the new one, never a mix.

1. **Write** the build outputs into a run-scoped schema ``wap_<run_id>`` (same
   columns as the declared tables, no constraints, so bad data lands and the audit can
   say what is wrong with it) and commit.
2. **Audit**: read the tables back from that schema -- exactly what would be published
   -- hash them, and hand them to ``audit`` (normally ``validate_outputs``). An audit
   that raises stops here; the published tables were never touched.
3. **Publish**, in one transaction: for each table in ``BUILD_OUTPUTS``,
   ``DELETE`` + ``INSERT ... SELECT`` from the WAP schema (on PostgreSQL the published
   tables keep their grants and comments, unlike a drop-and-rename; on DuckDB see
   ``_swap``), together with the run's ``pipeline_run``, ``pipeline_run_input`` and
   ``validation_result`` rows.

``publish`` writes whole tables (a full build); ``publish_delta`` writes only what an
incremental night changes (``pipeline.warehouse.delta``): the inserted rows and the
keys of the deleted ones go to the WAP schema, the audit checks the inserted rows and,
in SQL, each table as it would be after the swap, and the swap deletes the keys that
go, updates the keys deleted and inserted again and inserts the new ones
(``delta.apply_delta``). Its content hashes are last night's, minus the deleted rows',
plus the inserted rows' (``hashing.updated_hash``), equal to a full publish's of the
same tables.

A run killed at any point leaves the previous publication intact (an uncommitted
transaction is rolled back by the database) and at most a stale ``wap_*`` schema,
which the next publish drops before it starts. On PostgreSQL an advisory lock makes
concurrent publishes queue rather than drop each other's schemas; a DuckDB file has one
writer process at a time anyway.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.errors import PipelineError, PublishError
from pipeline.redact import redact, redact_url
from pipeline.warehouse.delta import (AfterSwap, References, TableDelta, after_swap, apply_delta, removed_rows,
                                      twin_table, write_delta)
from pipeline.warehouse.hashing import is_current, table_hash, table_hashes, updated_hash
from pipeline.warehouse.io import create_tables, is_duckdb, quote, read_frame, write_frame
from pipeline.warehouse.tables import (BUILD_OUTPUTS, PUBLISHED_TABLES, pipeline_run, pipeline_run_input,
                                       validation_result)

log = logging.getLogger(__name__)

WAP_PREFIX = "wap_"
RUN_LOG_FRAMES = ("pipeline_run_input", "validation_result")  # optional extra keys of ``tables``
_LOCK_KEY = 0x4A4F55524E45  # "JOURNE": one publish at a time per PostgreSQL database
PUBLISHED_STATUSES = ("succeeded", "incomplete")  # runs whose outputs were published

Audit = Callable[[dict[str, pd.DataFrame]], list[dict[str, Any]] | None]
# the inserted rows per table, and each table as it would be after the swap
DeltaAudit = Callable[[dict[str, pd.DataFrame], dict[str, AfterSwap]], list[dict[str, Any]] | None]


def wap_schema(run_id: str) -> str:
    """The run's WAP schema: ``wap_`` and the run id as a plain lower-case identifier."""
    return WAP_PREFIX + re.sub(r"[^a-z0-9_]", "_", run_id.lower())[:50]


def _schemas(conn: Connection) -> list[str]:
    if is_duckdb(conn):
        sql = "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
    else:
        sql = "SELECT nspname FROM pg_catalog.pg_namespace"
    return [row[0] for row in conn.exec_driver_sql(sql).fetchall()]


def drop_wap_schemas(conn: Connection, keep: Iterable[str] = ()) -> list[str]:
    """Drop every ``wap_*`` schema except ``keep`` (left by failed or killed runs)."""
    keep = set(keep)
    stale = sorted(s for s in _schemas(conn) if s.startswith(WAP_PREFIX) and s not in keep)
    prep = conn.dialect.identifier_preparer
    for schema in stale:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {prep.quote_schema(schema)} CASCADE")
    return stale


def _drop_schema(engine: Engine, schema: str) -> None:
    """Best effort: a schema left behind is dropped by the next publish anyway."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {conn.dialect.identifier_preparer.quote_schema(schema)} CASCADE")
    except Exception as exc:  # never hide the error that got us here
        log.warning("could not drop %s (the next publish will): %s", schema, type(exc).__name__)


def _wap_tables(schema: str) -> list[sa.Table]:
    """Constraint-free twins of the build outputs in ``schema``."""
    return [twin_table(PUBLISHED_TABLES[name], schema) for name in BUILD_OUTPUTS]


@contextlib.contextmanager
def _publish_lock(engine: Engine) -> Iterator[None]:
    if is_duckdb(engine):
        yield
        return
    with engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_KEY})")
        lock.commit()
        try:
            yield
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
            lock.commit()


def _frame(rows: pd.DataFrame | list[dict[str, Any]] | None, table: sa.Table) -> pd.DataFrame:
    frame = pd.DataFrame(rows if rows is not None else [])
    return frame.reindex(columns=[c.name for c in table.columns])


def _run_frame(run_row: dict[str, Any], secrets: Iterable[str | None]) -> pd.DataFrame:
    row = dict(run_row)
    if row.get("error"):
        row["error"] = redact(str(row["error"]), secrets)
    unknown = set(row) - {c.name for c in pipeline_run.columns}
    if unknown:
        raise KeyError(f"run_row has keys that are not pipeline_run columns: {sorted(unknown)}")
    return _frame([row], pipeline_run)


def _record(conn: Connection, run: pd.DataFrame, inputs: pd.DataFrame, results: pd.DataFrame) -> None:
    """Replace this run's rows in the three run-log tables (re-recording a run is safe)."""
    run_id = run["run_id"].iloc[0]
    for table, frame in ((pipeline_run, run), (pipeline_run_input, inputs), (validation_result, results)):
        conn.execute(sa.text(f"DELETE FROM {quote(conn, table)} WHERE run_id = :run_id"), {"run_id": run_id})
        write_frame(conn, table, frame.assign(run_id=run_id) if len(frame) else frame)


def record_run(engine: Engine, run_row: dict[str, Any], *, run_inputs: pd.DataFrame | list[dict] | None = None,
               validation_rows: pd.DataFrame | list[dict] | None = None, secrets: Iterable[str | None] = ()) -> None:
    """Record a run that publishes nothing (failed, or stopped by validation) in one
    transaction; ``error`` is redacted of ``secrets`` and of the warehouse password."""
    secrets = [*secrets, engine.url.password]
    with engine.begin() as conn:
        create_tables(conn, [pipeline_run, pipeline_run_input, validation_result])
        _record(conn, _run_frame(run_row, secrets), _frame(run_inputs, pipeline_run_input),
                _frame(validation_rows, validation_result))


def _check_tables(tables: Mapping[str, object], run_log: bool = True) -> None:
    missing = [t for t in BUILD_OUTPUTS if t not in tables]
    unknown = [t for t in tables if t not in BUILD_OUTPUTS and not (run_log and t in RUN_LOG_FRAMES)]
    if missing or unknown:
        extra = f" (plus optional {list(RUN_LOG_FRAMES)})" if run_log else ""
        raise PublishError(f"publish needs exactly the build outputs {list(BUILD_OUTPUTS)}{extra}; "
                           f"missing {missing}, unknown {unknown}")


@contextlib.contextmanager
def _run_schema(engine: Engine, run_id: str, secrets: list[str | None]) -> Iterator[str]:
    """The run's WAP schema, created under the publish lock after dropping stale ones,
    and dropped at the end. Errors other than the pipeline's own become a redacted
    ``PublishError``: the previous publication is intact whatever happened inside."""
    schema = wap_schema(run_id)
    try:
        with _publish_lock(engine):
            with engine.begin() as conn:
                dropped = drop_wap_schemas(conn)
                if dropped:
                    log.warning("dropped stale WAP schemas left by earlier runs: %s", ", ".join(dropped))
                create_tables(conn)
                conn.exec_driver_sql(f"CREATE SCHEMA {conn.dialect.identifier_preparer.quote_schema(schema)}")
            try:
                yield schema
            finally:
                _drop_schema(engine, schema)
    except PipelineError:
        raise
    except Exception as exc:
        raise PublishError(redact(f"publishing run {run_id} failed ({type(exc).__name__}): {exc}", secrets)) from None


def publish(engine: Engine, tables: dict[str, pd.DataFrame], audit: Audit | None, run_row: dict[str, Any], *,
            secrets: Iterable[str | None] = (),
            before_commit: Callable[[Connection], None] | None = None) -> dict[str, str]:
    """Write-Audit-Publish the build outputs; returns their content hashes.

    ``tables`` holds a frame per ``BUILD_OUTPUTS`` table and optionally the run's
    ``pipeline_run_input`` and ``validation_result`` rows. ``audit`` gets the frames as
    read back from the WAP schema; it raises (e.g. ``ValidationFailed``) to stop the
    publication and may return more ``validation_result`` rows to record. ``run_row``
    is the ``pipeline_run`` row, read after the audit (which may fill in fields such as
    ``data_docs_path``); ``table_hashes`` is filled in. ``before_commit`` runs
    inside the publishing transaction just before it commits (tests use it to kill
    the process at the worst moment).

    Raises the audit's error unchanged, or ``PublishError`` (message redacted of
    ``secrets`` and the warehouse password); the previous publication stays intact.
    """
    _check_tables(tables)
    secrets = [*secrets, engine.url.password]
    run_id = str(run_row["run_id"])
    log.info("publishing run %s to %s via %s", run_id, redact_url(engine.url), wap_schema(run_id))
    with _run_schema(engine, run_id, secrets) as schema:
        with engine.begin() as conn:
            for wap in _wap_tables(schema):
                wap.create(conn)
                write_frame(conn, PUBLISHED_TABLES[wap.name], tables[wap.name], schema=schema)
        with engine.connect() as conn:
            audited = {name: read_frame(conn, PUBLISHED_TABLES[name], schema=schema) for name in BUILD_OUTPUTS}
        hashes = table_hashes(audited, PUBLISHED_TABLES)
        audit_rows = (audit(audited) if audit is not None else None) or []
        run = _run_frame({**run_row, "table_hashes": json.dumps(hashes, sort_keys=True)}, secrets)
        results = pd.concat([_frame(tables.get("validation_result"), validation_result),
                             _frame(audit_rows, validation_result)], ignore_index=True)
        with engine.begin() as conn:
            for name in BUILD_OUTPUTS:
                _swap(conn, PUBLISHED_TABLES[name], schema)
            _record(conn, run, _frame(tables.get("pipeline_run_input"), pipeline_run_input), results)
            if before_commit is not None:
                before_commit(conn)
    log.info("published run %s: %s", run_id, ", ".join(f"{k}={v[:19]}" for k, v in hashes.items()))
    return hashes


def current_publication(conn: Connection) -> str | None:
    """The run whose outputs are published now: the latest run that published."""
    r = pipeline_run.c
    return conn.execute(sa.select(r.run_id).where(r.status.in_(PUBLISHED_STATUSES))
                        .order_by(r.started_at.desc()).limit(1)).scalar()


def _recorded_hashes(conn: Connection, run_id: str) -> dict[str, str]:
    value = conn.execute(sa.select(pipeline_run.c.table_hashes).where(pipeline_run.c.run_id == run_id)).scalar()
    return json.loads(value) if value else {}


def publish_delta(engine: Engine, deltas: dict[str, TableDelta], audit: DeltaAudit | None, run_row: dict[str, Any],
                  *, base_run_id: str, references: References | None = None,
                  run_inputs: pd.DataFrame | None = None, validation_rows: pd.DataFrame | list[dict] | None = None,
                  secrets: Iterable[str | None] = (),
                  before_commit: Callable[[Connection], None] | None = None) -> dict[str, str]:
    """Write-Audit-Publish an incremental night's changes to the build outputs, built
    on the publication of run ``base_run_id``; returns the tables' content hashes.

    ``deltas`` holds a ``TableDelta`` per ``BUILD_OUTPUTS`` table. ``audit`` gets the
    inserted rows as read back from the WAP schema and, per table, its ``AfterSwap``
    (row count, repeated keys and broken ``references`` of the table as it would be
    after the swap); it raises to stop the publication, as for ``publish``. The swap
    refuses (``PublishError``) when another run has published since ``base_run_id``:
    the delta was computed against tables that are no longer there. ``run_inputs``,
    ``validation_rows``, ``secrets`` and ``before_commit`` are as for ``publish``.
    """
    _check_tables(deltas, run_log=False)
    secrets = [*secrets, engine.url.password]
    run_id = str(run_row["run_id"])
    tables = {name: PUBLISHED_TABLES[name] for name in BUILD_OUTPUTS}
    whole = {name: deltas[name].whole for name in BUILD_OUTPUTS}
    log.info("publishing run %s (changes to run %s) to %s via %s", run_id, base_run_id, redact_url(engine.url),
             wap_schema(run_id))
    with _run_schema(engine, run_id, secrets) as schema:
        with engine.begin() as conn:
            base = _recorded_hashes(conn, base_run_id)
            for name, table in tables.items():
                write_delta(conn, table, schema, deltas[name])
        with engine.connect() as conn:
            inserted = {name: read_frame(conn, table, schema=schema) for name, table in tables.items()}
            after = after_swap(conn, tables, schema, whole, references or {})
            hashes = {name: _delta_hash(conn, table, schema, inserted[name], whole[name], base.get(name))
                      for name, table in sorted(tables.items())}
        audit_rows = (audit(inserted, after) if audit is not None else None) or []
        run = _run_frame({**run_row, "table_hashes": json.dumps(hashes, sort_keys=True)}, secrets)
        results = pd.concat([_frame(validation_rows, validation_result), _frame(audit_rows, validation_result)],
                            ignore_index=True)
        with engine.begin() as conn:
            current = current_publication(conn)
            if current != base_run_id:
                raise PublishError(f"run {run_id} was built on the publication of run {base_run_id}, but run "
                                   f"{current} has published since: build again")
            for name, table in tables.items():
                if whole[name]:
                    _swap(conn, table, schema)
                else:
                    apply_delta(conn, table, schema)
            _record(conn, run, _frame(run_inputs, pipeline_run_input), results)
            if before_commit is not None:
                before_commit(conn)
    log.info("published run %s: %s", run_id, ", ".join(f"{k}={v[:19]}" for k, v in hashes.items()))
    return hashes


def _delta_hash(conn: Connection, table: sa.Table, schema: str, inserted: pd.DataFrame, whole: bool,
                previous: str | None) -> str:
    """The table's content hash after the swap: the inserted rows' for a whole table,
    else the previous hash updated by the deleted (as stored) and inserted rows. A
    previous hash of an older definition (or none) is made again from the published
    table, once."""
    if whole:
        return table_hash(inserted, table)
    if not is_current(previous):
        log.warning("%s: no incremental hash recorded for the last publication; hashing the table", table.name)
        previous = table_hash(read_frame(conn, table), table)
    return updated_hash(previous, removed_rows(conn, table, schema), inserted, table)


def _swap(conn: Connection, table: sa.Table, schema: str) -> None:
    """Replace ``table``'s rows with the WAP schema's, inside the caller's transaction.

    PostgreSQL: DELETE + INSERT keeps the table's grants. DuckDB has no grants, and
    there deleting and re-inserting a million keys under a primary-key index costs
    ~30 s at commit, so the table is dropped and re-created from its declaration
    (key and comments included) instead: ~1 s (benchmarks/publish_scale.py).
    """
    cols = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    target = quote(conn, table)
    if is_duckdb(conn):
        table.drop(conn)
        table.create(conn)
    else:
        conn.exec_driver_sql(f"DELETE FROM {target}")
    conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {quote(conn, table, schema)}")
