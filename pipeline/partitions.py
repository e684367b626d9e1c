"""A full build in three steps that may run in different processes or on different machines.

``plan_partitions`` -> ``build_partition`` (once per partition, in parallel) ->
``finalise_partitions``: what the ``journeys_build_partitioned`` DAG maps over its
Celery workers, and what ``journeys build --partitions N`` runs one after another in
one process. It publishes exactly what ``stages.build(full=True)`` publishes
(docs/scale.md says why); the partition rule is ``pipeline.transforms.partitions``.

The steps share nothing but the warehouse, the one store every worker reaches. A
run-scoped, restricted *work schema* ``part_<run_id>`` carries the work between them:

- a snapshot of staging (the four sources, ``source_load``, ``source_validation``), so
  every step reads the same records even if an ingest restages meanwhile;
- the identity result (twins of the ``identity.*`` tables it fills), the partition of
  every record and person (``assignment``), and the plan (``step`` row ``plan``);
- each partition's journeys and events, and its ``step`` row (report and timing), both
  written in one transaction so a retried partition replaces its own rows.

Finalise drops it once it has published. A failed run leaves it for its retries; the
next plan drops it (as ``publish`` drops stale ``wap_*`` schemas: one partitioned run
per warehouse at a time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline import runs, stages
from pipeline.config import SOURCES, read_secret
from pipeline.errors import PipelineError
from pipeline.runs import Progress
from pipeline.stages import RunContext
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

if TYPE_CHECKING:
    from pipeline.transforms.partitions import PartitionPlan

log = logging.getLogger("pipeline")

WORK_PREFIX = "part_"
PART = "partition_no"  # the partition column of the work schema's tables
PLAN_STEP = "plan"
FULL_REASON = "a partitioned full build"
# Snapshotted at plan time: everything the build reads from staging.
SNAPSHOT = (*t.staging_tables.values(), t.source_load, t.source_validation)
# Written by each partition.
PARTITION_OUTPUTS = (t.journey, t.journey_event)
# The staged rows of a partition: (source, id column, assignment kind).
RECORDS = {"crm_cases": ("case_id", "c"), "crm_case_events": ("case_id", "c"), "call_logs": ("call_id", "k"),
           "works_orders": ("work_order_id", "w")}
IDENTITY_ROWS = {"person_record": ("case_id", "c"), "call_attribution": ("call_id", "k"), "person": ("person_id", "p")}


def work_schema(run_id: str) -> str:
    """The run's work schema: ``part_`` and the run id as a plain lower-case identifier."""
    return WORK_PREFIX + re.sub(r"[^a-z0-9_]", "_", run_id.lower())[:50]


def _twin(table: sa.Table, schema: str, *extra: sa.Column) -> sa.Table:
    """A constraint-free copy of a declared table in the work schema, named
    ``<area>__<table>`` so that tables of different areas never clash."""
    return sa.Table(f"{table.schema}__{table.name}", sa.MetaData(),
                    *[sa.Column(c.name, c.type) for c in table.columns], *extra, schema=schema)


def _output(table: sa.Table, schema: str) -> sa.Table:
    return _twin(table, schema, sa.Column(PART, sa.Integer))


def _assignment(schema: str) -> sa.Table:
    return sa.Table("assignment", sa.MetaData(), sa.Column("kind", sa.String(1)), sa.Column("id", sa.Text),
                    sa.Column(PART, sa.Integer), schema=schema)


def _steps(schema: str) -> sa.Table:
    return sa.Table("step", sa.MetaData(), sa.Column("step", sa.String(40)), sa.Column("detail", sa.Text),
                    schema=schema)


def _identity_table(name: str) -> sa.Table:
    """The declared ``identity`` table an ``IdentityResult`` frame fills: its twin in the
    work schema carries the frame from plan to the partitions and finalise."""
    table = t.metadata.tables.get(f"{t.IDENTITY}.{name}")
    if table is None:
        raise PipelineError(f"IdentityResult.{name} cannot be carried between partitioned steps: "
                            f"declare it as table {t.IDENTITY}.{name} (pipeline/warehouse/tables.py)")
    return table


def _partition_step(partition: int) -> str:
    return f"partition {partition}"


# --------------------------------------------------------------------------- work schemas


def _work_schemas(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql("SELECT schema_name FROM information_schema.schemata "
                                "WHERE catalog_name = current_database()").fetchall()
    return sorted(row[0] for row in rows if row[0].startswith(WORK_PREFIX))


def _drop(conn: Connection, schema: str) -> None:
    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {conn.dialect.identifier_preparer.quote_schema(schema)} CASCADE")


def drop_work_schemas(conn: Connection) -> list[str]:
    """Drop every ``part_*`` schema (left by failed or killed runs)."""
    stale = _work_schemas(conn)
    for schema in stale:
        _drop(conn, schema)
    return stale


def _drop_schema(engine: Engine, schema: str) -> None:
    """Best effort: a schema left behind is dropped by the next plan anyway."""
    try:
        with engine.begin() as conn:
            _drop(conn, schema)
    except Exception as exc:  # the run has published: never fail it for this
        log.warning("could not drop %s (the next partitioned run will): %s", schema, type(exc).__name__)


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def _write_step(conn: Connection, schema: str, step: str, detail: dict) -> None:
    table = _steps(schema)
    conn.execute(sa.delete(table).where(table.c.step == step))
    conn.execute(sa.insert(table).values(step=step, detail=_json(detail)))


def _read_steps(conn: Connection, schema: str) -> dict[str, dict]:
    table = _steps(schema)
    return {step: json.loads(detail) for step, detail in conn.execute(sa.select(table.c.step, table.c.detail))}


def _in_partition(conn: Connection, schema: str, column: str, kind: str, partition: int) -> str:
    """A WHERE clause: ``column`` is the id of a ``kind`` assigned to ``partition``."""
    col = conn.dialect.identifier_preparer.quote(column)
    return (f"{col} IN (SELECT id FROM {io.quote(conn, _assignment(schema))} "
            f"WHERE kind = '{kind}' AND {PART} = {int(partition)})")


# --------------------------------------------------------------------------- identity through the warehouse


def _identity_fields() -> list[str]:
    """The frames of an ``IdentityResult`` (all its fields but the report)."""
    from pipeline.identity.resolve import IdentityResult

    return [f.name for f in dataclasses.fields(IdentityResult) if f.name != "report"]


def _read_identity(conn: Connection, schema: str, report: dict):
    from pipeline.identity.resolve import IdentityResult

    return IdentityResult(**{name: io.read_frame(conn, _twin(_identity_table(name), schema))
                             for name in _identity_fields()}, report=report)


# --------------------------------------------------------------------------- the three steps


def plan_partitions(run_date: str | dt.date, partitions: int, *, config_file: str | Path | None = None,
                    ctx: RunContext | None = None, missing_sources: tuple[str, ...] | list[str] = (),
                    progress: Progress | None = None) -> list[dict]:
    """Snapshot staging, resolve identity once over every record (people cross
    services), assign every record and person to one of at most ``partitions``
    partitions, and write all of it to the run's work schema.

    Returns one small JSON-able descriptor per partition (what goes to XCom):
    ``run_id, run_date, partition, partitions, services, records``.
    """
    from pipeline import incremental
    from pipeline.identity.resolve import PreviousIdentity, resolve_identity
    from pipeline.transforms.partitions import plan_partitions as assign

    if partitions < 1:
        raise PipelineError(f"partitions must be at least 1, got {partitions}")
    ctx = ctx or stages.make_context(run_date, config_file=config_file)
    cfg, schema = ctx.config, work_schema(ctx.run_id)
    timings: dict[str, float] = {}
    run_row = {**runs.new_run_row(ctx, missing_sources), "mode": "full"}
    secret_values: list[str] = []
    try:
        secret = read_secret(cfg.identity.hmac_secret_env, cfg.identity.hmac_secret_conn_id)
        secret_values.append(secret)
        with runs.timed(timings, "plan: snapshot staging", progress), ctx.engine.begin() as conn:
            dropped = drop_work_schemas(conn)
            if dropped:
                log.warning("dropped work schemas left by earlier partitioned runs: %s", ", ".join(dropped))
            _create_work_schema(conn, schema)
        with runs.timed(timings, "plan: read staging", progress), io.snapshot(ctx.engine) as conn:
            staged = {s: incremental.staged_in_extract_order(io.read_frame(conn, _twin(t.staging_tables[s], schema)))
                      for s in SOURCES}
            previous = PreviousIdentity(person_record=io.read_frame(conn, t.person_record),
                                        person=io.read_frame(conn, t.person))
        with runs.timed(timings, "plan: identity", progress):
            ident = resolve_identity(staged["crm_cases"], staged["call_logs"], previous, cfg.identity,
                                     cfg.journeys, secret, ctx.run_id)
        with runs.timed(timings, "plan: partitions", progress):
            plan = assign(staged["crm_cases"], staged["call_logs"], staged["works_orders"], ident.person_record,
                          ident.call_attribution, partitions)
        descriptors = _descriptors(ctx, plan)
        with ctx.engine.begin() as conn:
            start = time.perf_counter()
            for name in _identity_fields():
                io.write_frame(conn, _twin(_identity_table(name), schema), getattr(ident, name))
            io.write_frame(conn, _assignment(schema), plan.assignment.rename(columns={"partition": PART}))
            timings["plan: write"] = round(time.perf_counter() - start, 3)
            _write_step(conn, schema, PLAN_STEP, {
                "run_date": ctx.run_date.isoformat(), "started_at": ctx.started_at.isoformat(),
                "code_version": run_row["code_version"], "missing_sources": list(missing_sources),
                "requested": partitions, "partitions": plan.partitions, "services": plan.services.to_dict("records"),
                "identity_report": ident.report, "timings": timings})
    except Exception as exc:
        runs.record_failure(ctx, run_row, exc, [], timings, secret_values)
        raise
    log.info("planned run %s in %s: %s", ctx.run_id, schema,
             "; ".join(f"{d['partition']}: {', '.join(d['services'])} ({d['records']} records)" for d in descriptors))
    return descriptors


def _create_work_schema(conn: Connection, schema: str) -> None:
    """The work schema with its empty tables and the staging snapshot, copied inside
    the warehouse (no rows pass through Python)."""
    prep = conn.dialect.identifier_preparer
    conn.exec_driver_sql(f"CREATE SCHEMA {prep.quote_schema(schema)}")
    for table in SNAPSHOT:
        twin = _twin(table, schema)
        twin.create(conn)
        cols = ", ".join(prep.quote(c.name) for c in table.columns)
        conn.exec_driver_sql(f"INSERT INTO {io.quote(conn, twin)} ({cols}) SELECT {cols} FROM {io.quote(conn, table)}")
    identity = [_twin(_identity_table(name), schema) for name in _identity_fields()]
    for table in (_assignment(schema), _steps(schema), *[_output(o, schema) for o in PARTITION_OUTPUTS], *identity):
        table.create(conn)


def _descriptors(ctx: RunContext, plan: PartitionPlan) -> list[dict]:
    services = plan.services
    return [{"run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(), "partition": p, "partitions": plan.partitions,
             "services": services.loc[services["partition"] == p, "service"].tolist(),
             "records": int(services.loc[services["partition"] == p, "records"].sum())}
            for p in range(plan.partitions)]


def _resume(run_date: str | dt.date, run_id: str, config_file: str | Path | None,
            ctx: RunContext | None) -> tuple[RunContext, dict, dict]:
    """The run's context, ``pipeline_run`` row and plan, as its plan step left them.
    The code must be the plan's: identity and journeys from two versions never mix."""
    ctx = ctx or stages.make_context(run_date, config_file=config_file)
    schema = work_schema(run_id)
    with ctx.engine.connect() as conn:
        if schema not in _work_schemas(conn):
            raise PipelineError(f"run {run_id} has no work schema {schema}: plan it first "
                                "(a later partitioned run drops an earlier one's)")
        plan = _read_steps(conn, schema).get(PLAN_STEP)
    if plan is None:
        raise PipelineError(f"run {run_id} was never planned to the end: plan it again")
    ctx = dataclasses.replace(ctx, run_id=run_id, started_at=pd.Timestamp(plan["started_at"]))
    if ctx.run_date.isoformat() != plan["run_date"]:
        raise PipelineError(f"run {run_id} was planned for {plan['run_date']}, not {ctx.run_date.isoformat()}")
    run_row = {**runs.new_run_row(ctx, plan["missing_sources"]), "mode": "full",
               "code_version": plan["code_version"]}
    if runs.code_version() != plan["code_version"]:
        raise PipelineError(f"run {run_id} was planned with code {plan['code_version']}, this is "
                            f"{runs.code_version()}: start a new partitioned run")
    return ctx, run_row, plan


def build_partition(run_date: str | dt.date, run_id: str, partition: int, *, config_file: str | Path | None = None,
                    ctx: RunContext | None = None) -> dict:
    """Assemble the journeys of one partition's records (whole components, so exactly
    the journeys a full build gives them) and write them to the work schema."""
    from pipeline.incremental import staged_in_extract_order

    ctx, run_row, plan = _resume(run_date, run_id, config_file, ctx)
    if not 0 <= partition < plan["partitions"]:
        raise PipelineError(f"run {run_id} has partitions 0..{plan['partitions'] - 1}, not {partition}")
    schema = work_schema(run_id)
    start = time.perf_counter()
    try:
        with io.snapshot(ctx.engine) as conn:
            staged = {s: staged_in_extract_order(io.read_frame(
                          conn, _twin(t.staging_tables[s], schema),
                          where=_in_partition(conn, schema, column, kind, partition)))
                      for s, (column, kind) in RECORDS.items()}
            ident = {name: io.read_frame(conn, _twin(_identity_table(name), schema),
                                         where=_in_partition(conn, schema, column, kind, partition))
                     for name, (column, kind) in IDENTITY_ROWS.items()}
        journey, journey_event, proactive, report = stages.full_journeys(
            staged, ident["person_record"], ident["call_attribution"], ident["person"], ctx.config.journeys,
            ctx.as_of)
        with ctx.engine.begin() as conn:
            for table, frame in zip(PARTITION_OUTPUTS, (journey, journey_event)):
                output = _output(table, schema)
                conn.execute(sa.delete(output).where(output.c[PART] == partition))
                io.write_frame(conn, output, frame.assign(**{PART: partition}))
            seconds = round(time.perf_counter() - start, 3)
            _write_step(conn, schema, _partition_step(partition), {
                "journeys": int(len(journey)), "events": int(len(journey_event)),
                "proactive_works_orders": int(proactive), "report": report, "seconds": seconds})
    except Exception as exc:
        label = f"journeys, partition {partition + 1} of {plan['partitions']}"
        runs.record_failure(ctx, run_row, exc, [], {label: round(time.perf_counter() - start, 3)}, [])
        raise
    log.info("built partition %d of run %s: %d journeys in %.1f s", partition, run_id, len(journey), seconds)
    return {"run_id": run_id, "run_date": ctx.run_date.isoformat(), "partition": partition,
            "journeys": int(len(journey)), "events": int(len(journey_event)), "seconds": seconds}


def finalise_partitions(run_date: str | dt.date, run_id: str, *, config_file: str | Path | None = None,
                        ctx: RunContext | None = None, progress: Progress | None = None) -> dict:
    """Every partition's journeys -> measures -> validate -> publish (Write-Audit-
    Publish, the identity map saved in the publishing transaction), as ``build`` does.
    Publishes nothing unless every partition of the plan has been built."""
    from pipeline.transforms.increments import in_key_order
    from pipeline.transforms.measures import build_measures
    from pipeline.warehouse.publish import publish

    ctx, run_row, plan = _resume(run_date, run_id, config_file, ctx)
    cfg, schema, count = ctx.config, work_schema(run_id), plan["partitions"]
    timings: dict[str, float] = dict(plan["timings"])
    validation_rows: list[dict] = []
    secret_values: list[str] = []
    try:
        secret_values.append(read_secret(cfg.identity.hmac_secret_env, cfg.identity.hmac_secret_conn_id))
        with runs.timed(timings, "finalise: read", progress), io.snapshot(ctx.engine) as conn:
            steps = _read_steps(conn, schema)
            missing = [p for p in range(count) if _partition_step(p) not in steps]
            if missing:
                raise PipelineError(f"run {run_id}: partitions {missing} of {count} have not been built; "
                                    "nothing is published")
            journey = in_key_order(io.read_frame(conn, _output(t.journey, schema)).drop(columns=PART))
            journey_event = (io.read_frame(conn, _output(t.journey_event, schema)).drop(columns=PART)
                             .sort_values(["journey_id", "seq"], ignore_index=True))
            inputs = io.read_frame(conn, _twin(t.source_load, schema))
            validation_rows = runs.source_validation_rows(io.read_frame(conn, _twin(t.source_validation, schema)),
                                                             run_id)
            ident = _read_identity(conn, schema, plan["identity_report"])
        built = [steps[_partition_step(p)] for p in range(count)]
        timings.update({f"journeys, partition {p + 1} of {count}": b["seconds"] for p, b in enumerate(built)})
        with runs.timed(timings, "measures", progress):
            measures = build_measures(journey, journey_event, cfg.measures, ctx.as_of, cfg.timezone)
        outputs = {"journey": journey, "journey_event": journey_event, **measures}
        run_row.update(runs.input_summary(inputs))
        run_row["status"] = "incomplete" if plan["missing_sources"] else "succeeded"
        with runs.timed(timings, "validate and publish", progress):
            audit = runs.auditor(cfg, run_id, run_row, validation_rows, timings, progress)
            hashes = publish(ctx.engine, {**outputs, "pipeline_run_input": runs.run_inputs(inputs, run_id),
                                          "validation_result": pd.DataFrame(validation_rows)},
                             audit, run_row, secrets=secret_values, before_commit=runs.identity_saver(ident))
        timings["publish"] = round(timings.pop("validate and publish") - timings.get("validation", 0.0), 3)
    except Exception as exc:
        validation_rows = getattr(exc, "results", None) or validation_rows
        runs.record_failure(ctx, run_row, exc, validation_rows, timings, secret_values)
        raise
    _drop_schema(ctx.engine, schema)
    return {
        "run_id": run_id, "run_date": ctx.run_date.isoformat(), "as_of": str(ctx.as_of),
        "status": run_row["status"], "mode": "full", "full_reason": FULL_REASON, "partitions": count,
        "journeys": int(len(journey)), "events": int(len(journey_event)), "people": int(len(ident.person)),
        "proactive_works_orders": sum(b["proactive_works_orders"] for b in built),
        "validation_outcome": run_row["validation_outcome"], "data_docs_path": run_row["data_docs_path"],
        "table_hashes": hashes, "timings": timings, "identity_report": ident.report,
        "journeys_report": {p: b["report"] for p, b in enumerate(built)}, "increment": {},
        "rows_quarantined": run_row.get("rows_quarantined", 0), "services": plan["services"],
    }


def run_partitioned(run_date: str | dt.date, partitions: int, *, config_file: str | Path | None = None,
                    ctx: RunContext | None = None, progress: Progress | None = None) -> dict:
    """The three steps one after another in this process (``journeys build
    --partitions N``): the same code path the DAG spreads over workers."""
    ctx = ctx or stages.make_context(run_date, config_file=config_file)
    planned = plan_partitions(ctx.run_date, partitions, ctx=ctx, progress=progress)
    for descriptor in planned:
        if progress:
            progress(f"journeys, partition {descriptor['partition'] + 1} of {descriptor['partitions']}")
        build_partition(ctx.run_date, descriptor["run_id"], descriptor["partition"], ctx=ctx)
    return finalise_partitions(ctx.run_date, planned[0]["run_id"], ctx=ctx, progress=progress)
