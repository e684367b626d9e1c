"""The thin shell around the pure stages: read the warehouse, call the core, write back.

The CLI, the Airflow tasks and the tests all call these functions, so a night's run
behaves the same wherever it is started. Each function takes a run date (the
partition key) and resolves the as-of time, config and engine once, up front.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets as _secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline import runs
from pipeline.clock import as_of_for
from pipeline.config import SOURCES, Config, JourneyRules, load_config, read_secret
from pipeline.errors import PipelineError
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

if TYPE_CHECKING:
    from pipeline import incremental

log = logging.getLogger("pipeline")

Progress = runs.Progress


@dataclass
class RunContext:
    """Everything a stage needs, resolved once per call."""

    config: Config
    run_date: dt.date
    engine: Engine
    run_id: str = field(default_factory=lambda: new_run_id())
    started_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC").tz_localize(None))

    @property
    def as_of(self) -> pd.Timestamp:
        return as_of_for(self.run_date, self.config.timezone)


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + _secrets.token_hex(3)


def parse_run_date(run_date: str | dt.date) -> dt.date:
    if isinstance(run_date, dt.date):
        return run_date
    try:
        return dt.date.fromisoformat(str(run_date)[:10])
    except ValueError:
        raise PipelineError(f"run date must be YYYY-MM-DD, got {run_date!r}") from None


def make_context(run_date: str | dt.date, *, config_file: str | Path | None = None,
                 config: Config | None = None, warehouse_url: str | None = None,
                 landing_dir: str | Path | None = None) -> RunContext:
    cfg = config or load_config(config_file)
    overrides = {k: v for k, v in (("warehouse_url", warehouse_url), ("landing_dir", landing_dir)) if v}
    if overrides:
        cfg = cfg.model_copy(update={k: (Path(v) if k == "landing_dir" else v) for k, v in overrides.items()})
    engine = io.create_engine(cfg.warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn)
    return RunContext(config=cfg, run_date=parse_run_date(run_date), engine=engine)


# --------------------------------------------------------------------------- ingest


def stage_source(source: str, run_date: str | dt.date, *, config_file: str | Path | None = None,
                 ctx: RunContext | None = None, full: bool = False) -> dict:
    """Ingest, validate and stage one source extract.

    Incremental by default: only files not processed before (``staging.processed_file``)
    are read, and their rows are folded into the existing staging. The source is
    restaged from every landing file when ``full`` is asked for, on its first run, when
    the run date is before the one it was staged for (a backfill), or when a processed
    file was re-delivered corrected (its old rows cannot be taken back one by one).
    """
    from pipeline.ingest.extract import ingest_source
    from pipeline.ingest.mapping import load_mapping
    from pipeline.transforms.increments import fold_night, staging_changes
    from pipeline.validation.validate import validate_source

    if source not in SOURCES:
        raise PipelineError(f"unknown source {source!r}; expected one of {list(SOURCES)}")
    ctx = ctx or make_context(run_date, config_file=config_file)
    cfg = ctx.config
    with ctx.engine.connect() as conn:
        seen = io.read_frame(conn, t.processed_file, where=f"source = '{source}'")
        staged_for = conn.execute(sa.select(sa.func.max(t.source_load.c.run_date))
                                  .where(t.source_load.c.source == source)).scalar()
    full = full or seen.empty or staged_for is None or staged_for > ctx.run_date

    def ingest(previously: pd.DataFrame | None):
        return ingest_source(source, Path(cfg.landing_dir), load_mapping(cfg.mappings[source]),
                             queue_service=cfg.journeys.queue_service, tz=cfg.timezone, seen=previously,
                             until=ctx.run_date)

    result = ingest(None if full else seen)
    inputs = result.inputs
    if not full and result.corrected_files:
        log.warning("%s: %s re-delivered corrected; restaging from every file", source,
                    ", ".join(result.corrected_files))
        delivery = inputs.set_index("file")["delivery"]
        full, result = True, ingest(None)
        inputs = result.inputs.assign(delivery=result.inputs["file"].map(delivery).fillna(result.inputs["delivery"]))
    checked = validate_source(source, result.staged, cfg.validation, ctx.as_of, ctx.run_id)
    staging = t.staging_tables[source]
    staged, previous = checked.clean, None
    if not full and len(result.staged):
        with ctx.engine.connect() as conn:
            previous = _staged_versions(conn, staging, source, result.staged)
        staged = fold_night(previous, result.staged, checked.clean, source)
    quarantine = pd.concat([result.quarantine, checked.quarantine], ignore_index=True)
    quarantine["run_id"] = ctx.run_id
    inputs = _inputs_with_validation(inputs, checked.quarantine)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    with ctx.engine.begin() as conn:
        if full:
            io.write_frame(conn, staging, staged, replace=True)
        elif previous is not None:
            io.replace_rows(conn, staging, *staging_changes(previous, staged))
        if full:  # an incremental night keeps earlier nights' quarantine and adds its own
            conn.exec_driver_sql(f"DELETE FROM quarantine.quarantine WHERE source = '{source}'")
            conn.exec_driver_sql(f"DELETE FROM staging.processed_file WHERE source = '{source}'")
        io.write_frame(conn, t.quarantine, quarantine)
        conn.exec_driver_sql(f"DELETE FROM staging.source_validation WHERE source = '{source}'")
        io.write_frame(conn, t.source_validation, pd.DataFrame(checked.results).assign(source=source))
        conn.exec_driver_sql(f"DELETE FROM staging.source_load WHERE source = '{source}'")
        io.write_frame(conn, t.source_load, inputs.assign(run_date=ctx.run_date, staged_at=now))
        known = seen.iloc[0:0] if full else seen
        new_files = inputs.merge(known[["file", "sha256"]], how="left", on=["file", "sha256"], indicator=True)
        new_files = new_files[new_files["_merge"] == "left_only"].drop_duplicates(["file", "sha256"])
        io.write_frame(conn, t.processed_file, new_files.assign(first_run_id=ctx.run_id))
        rows_staged = conn.execute(sa.select(sa.func.count()).select_from(staging)).scalar()
    read = inputs[inputs["delivery"] != "duplicate"]
    summary = {
        "source": source, "run_date": ctx.run_date.isoformat(), "mode": "full" if full else "incremental",
        "files": int(len(inputs)), "files_read": int(len(read)), "rows_read": int(inputs["rows_read"].sum()),
        "rows_staged": int(rows_staged), "rows_quarantined": int(len(quarantine)), "report": result.report,
    }
    log.info("staged %s: %s", source, {k: v for k, v in summary.items() if k != "report"})
    return summary


def _staged_versions(conn: Connection, staging: sa.Table, source: str, night: pd.DataFrame) -> pd.DataFrame:
    """The staged rows of the records the night's rows belong to: those sharing the first
    key column (a superset for a compound key, which the fold narrows), read through a
    temporary table rather than reading the whole source."""
    from pipeline.sources import SOURCES as CONTRACT

    key = CONTRACT[source].key[0]
    keys = io.temporary_table(conn, "keys", night[[key]].drop_duplicates(), {key: sa.Text()})
    column = conn.dialect.identifier_preparer.quote(key)
    rows = io.read_frame(conn, staging, where=f"{column} IN (SELECT {column} FROM {io.quote(conn, keys)})")
    keys.drop(conn)
    return rows


def _inputs_with_validation(inputs: pd.DataFrame, validation_quarantine: pd.DataFrame) -> pd.DataFrame:
    """Move rows the source suite rejected from 'staged' to 'quarantined' per file."""
    if validation_quarantine.empty:
        return inputs
    per_file = (validation_quarantine.drop_duplicates(["file", "line"]).groupby("file").size()
                .rename("extra"))
    out = inputs.merge(per_file, how="left", left_on="file", right_index=True)
    out["extra"] = out["extra"].fillna(0).astype(int)
    out["rows_staged"] -= out["extra"]
    out["rows_quarantined"] += out["extra"]
    return out.drop(columns="extra")


def sources_landed(run_date: str | dt.date, *, config_file: str | Path | None = None,
                   config: Config | None = None) -> dict[str, bool]:
    """Whether each source has a landing file for the run date (for the deadline)."""
    cfg = config or load_config(config_file)
    day = parse_run_date(run_date).isoformat()
    return {s: any(p.name.startswith(day) for p in (Path(cfg.landing_dir) / s).glob("*"))
            for s in SOURCES}


# --------------------------------------------------------------------------- build


def build(run_date: str | dt.date, *, config_file: str | Path | None = None,
          missing_sources: Sequence[str] = (), ctx: RunContext | None = None,
          progress: Progress | None = None, timings: dict[str, float] | None = None,
          full: bool = False) -> dict:
    """Identity → journeys → measures → validate → publish (Write-Audit-Publish).

    Builds on the last publication when it can (``pipeline.incremental``): only the
    journeys a night's changes reach are reassembled and only the aggregate groups they
    feed are recomputed. ``full`` (or anything that makes the last publication
    untraceable, see ``full_build_reason``) rebuilds every journey and aggregate.
    """
    from pipeline import incremental
    from pipeline.identity.pair_cache import LinkCache
    from pipeline.identity.resolve import PreviousIdentity, resolve_identity
    from pipeline.identity.stable_ids import same_secret
    from pipeline.transforms.measures import build_measures
    from pipeline.validation.suites import REFERENCES
    from pipeline.warehouse.publish import publish, publish_delta

    ctx = ctx or make_context(run_date, config_file=config_file)
    cfg = ctx.config
    timings = {} if timings is None else timings
    run_row = runs.new_run_row(ctx, missing_sources)
    validation_rows: list[dict] = []
    secret_values: list[str] = []
    try:
        secret = read_secret(cfg.identity.hmac_secret_env, cfg.identity.hmac_secret_conn_id)
        secret_values.append(secret)
        with io.snapshot(ctx.engine) as conn:  # staging, identity and publication of one moment
            with runs.timed(timings, "read staging", progress):
                last = incremental.last_publication(conn)
                cached = _reuse_link_cache(last, run_row["code_version"], full)
                wanted = {**t.staging_tables, "person_record": t.person_record, "person": t.person,
                          "call_attribution": t.call_attribution, "source_load": t.source_load,
                          "source_validation": t.source_validation}
                if cached:
                    wanted.update(link_record=t.link_record, link_pair=t.link_pair)
                frames = io.read_frames(conn, wanted)
                staged = {s: incremental.staged_in_extract_order(frames.pop(s)) for s in SOURCES}
                previous = PreviousIdentity(
                    person_record=frames["person_record"], person=frames["person"],
                    link_cache=LinkCache(frames["link_record"], frames["link_pair"]) if cached else None)
                previous_attribution = frames["call_attribution"]
                # what the identity tables hold now (None: not read), so that publishing writes
                # only the rows identity changed (runs.identity_saver)
                saved = {name: frames.get(name) for name in runs.IDENTITY_TABLES}
                inputs = frames["source_load"]
                validation_rows = runs.source_validation_rows(frames["source_validation"], ctx.run_id)
                del frames
            full_reason = incremental.full_build_reason(last, ctx.as_of, run_row["code_version"], inputs, full,
                                                        secret_changed=not same_secret(previous.person, secret))
            run_row["mode"] = "full" if full_reason else "incremental"
            if full_reason:
                log.info("full build: %s", full_reason)
            else:
                with runs.timed(timings, "read publication", progress):
                    published = incremental.read_publication(conn)
        with runs.timed(timings, "identity", progress):
            ident = resolve_identity(staged["crm_cases"], staged["call_logs"], previous, cfg.identity,
                                     cfg.journeys, secret, ctx.run_id)
        increment: dict = {}
        if full_reason:
            with runs.timed(timings, "journeys", progress):
                journey, journey_event, proactive, journeys_report = full_journeys(
                    staged, ident.person_record, ident.call_attribution, ident.person, cfg.journeys, ctx.as_of)
            with runs.timed(timings, "measures", progress):
                measures = build_measures(journey, journey_event, cfg.measures, ctx.as_of, cfg.timezone)
        else:
            with runs.timed(timings, "journeys", progress):
                update = incremental.update_journeys(staged, published, last, inputs, previous.person_record,
                                                     previous_attribution, ident, cfg, ctx.as_of)
                journey, journey_event, proactive = update.journey, update.journey_event, update.proactive_works_orders
                journeys_report = update.report.pop("assembly")
                increment = update.report
            with runs.timed(timings, "measures", progress):
                measure_update = incremental.update_measures(update, published, cfg, ctx.as_of)
                measures, increment["measure_groups_recomputed"] = measure_update.tables, measure_update.groups
        outputs = {"journey": journey, "journey_event": journey_event, **measures}
        staged.clear()  # publishing and validating hold copies of the outputs: free what is no longer read
        if not full_reason:
            published.clear()
        run_row.update(runs.input_summary(inputs))
        run_row["status"] = "incomplete" if missing_sources else "succeeded"
        with runs.timed(timings, "validate and publish", progress):
            audit = runs.auditor(cfg, ctx.run_id, run_row, validation_rows, timings, progress)
            if full_reason:
                hashes = publish(ctx.engine, {**outputs, "pipeline_run_input": runs.run_inputs(inputs, ctx.run_id),
                                              "validation_result": pd.DataFrame(validation_rows)},
                                 audit, run_row, secrets=secret_values, before_commit=runs.identity_saver(ident, saved))
            else:  # only what the night changed: its rows audited, each table's key and references after the swap
                deltas = {**update.deltas, **measure_update.deltas}
                increment["rows_published"] = {
                    name: {"deleted": "all" if d.whole else len(d.deleted), "inserted": len(d.inserted)}
                    for name, d in deltas.items()}
                hashes = publish_delta(ctx.engine, deltas, audit, run_row,
                                       base_run_id=last.run_id, references=REFERENCES,
                                       run_inputs=runs.run_inputs(inputs, ctx.run_id), validation_rows=validation_rows,
                                       secrets=secret_values, before_commit=runs.identity_saver(ident, saved))
        timings["publish"] = round(timings.pop("validate and publish") - timings.get("validation", 0.0), 3)
    except Exception as exc:
        validation_rows = getattr(exc, "results", None) or validation_rows
        runs.record_failure(ctx, run_row, exc, validation_rows, timings, secret_values)
        raise
    return {
        "run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(), "as_of": str(ctx.as_of),
        "status": run_row["status"], "mode": run_row["mode"], "full_reason": full_reason,
        "journeys": int(len(journey)), "events": int(len(journey_event)),
        "people": int(len(ident.person)), "proactive_works_orders": int(proactive),
        "validation_outcome": run_row["validation_outcome"], "data_docs_path": run_row["data_docs_path"],
        "table_hashes": hashes, "timings": timings, "identity_report": ident.report,
        "journeys_report": journeys_report, "increment": increment,
        "rows_quarantined": run_row.get("rows_quarantined", 0),
    }


def full_journeys(staged: dict[str, pd.DataFrame], person_record: pd.DataFrame, call_attribution: pd.DataFrame,
                  person: pd.DataFrame, rules: JourneyRules,
                  as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, int, dict]:
    """(journeys with their person_key in key order, events, proactive works orders,
    report) of the staged records given: a full build passes every record, a partition
    of a partitioned build (``pipeline.partitions``) the records of its components."""
    from pipeline.transforms.increments import in_key_order
    from pipeline.transforms.journeys import assemble_journeys

    jr = assemble_journeys(staged["crm_cases"], staged["crm_case_events"], staged["call_logs"],
                           staged["works_orders"], person_record, call_attribution, rules, as_of)
    journey = in_key_order(jr.journey.merge(person[["person_id", "person_key"]], how="left", on="person_id"))
    # jr's membership and contacts are not published: they are freed on return
    return journey, jr.journey_event, jr.proactive_works_orders, jr.report


def _reuse_link_cache(last: incremental.LastPublication | None, code_version: str, full: bool) -> bool:
    """Whether to start from the last publication's pair cache (docs/identity.md). Not
    when a full build is asked for or the code changed since (new code may score pairs
    differently): identity then scores every pair."""
    return not (full or last is None or last.code_version != code_version)


# --------------------------------------------------------------------------- whole run


def run_pipeline(run_date: str | dt.date, *, config_file: str | Path | None = None,
                 warehouse_url: str | None = None, landing_dir: str | Path | None = None,
                 progress: Progress | None = None, full: bool = False) -> dict:
    """Stage every source, then build: one night's run in-process. Incremental unless
    ``full`` (``journeys run --full``): then every source is restaged from the landing
    folder and every journey and aggregate rebuilt."""
    ctx = make_context(run_date, config_file=config_file, warehouse_url=warehouse_url,
                       landing_dir=landing_dir)
    timings: dict[str, float] = {}
    staged = {}
    try:
        for source in SOURCES:
            with runs.timed(timings, f"ingest {source}", progress):
                staged[source] = stage_source(source, ctx.run_date, ctx=ctx, full=full)
    except Exception as exc:
        runs.record_failure(ctx, runs.new_run_row(ctx), exc, [], timings, [])
        raise
    summary = build(ctx.run_date, ctx=ctx, progress=progress, timings=timings, full=full)
    summary["sources"] = staged
    return summary
