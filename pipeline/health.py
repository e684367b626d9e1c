"""`journeys health`: is the published warehouse fresh, validated and fed?

Reads only the run logs the pipeline publishes (``pipeline_run``,
``pipeline_run_input``, ``validation_result``), so an operator or a monitoring probe
can ask with the analysts' read-only role. Every problem says what was expected and
what was found; an unreachable or empty warehouse is a problem too, never a crash.
Light on purpose (SQLAlchemy only): a probe should not load pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.config import SOURCES, HealthRules
from pipeline.warehouse.tables import pipeline_run, pipeline_run_input, validation_result

# Deliveries that count as a source having sent something new.
_NEW_DELIVERIES = ("new", "corrected")
_FINISHED = ("succeeded", "incomplete", "failed")
_MAX_LISTED = 5


@dataclass(frozen=True)
class Problem:
    """One thing that needs attention. ``check`` names the rule that found it."""

    check: str  # warehouse, run_age, last_run, validation, quarantine_rate, source_age
    message: str


def table_exists(conn: Connection, table: sa.Table) -> bool:
    return sa.inspect(conn).has_table(table.name, schema=table.schema)


def _utc_naive(moment: dt.datetime | None) -> dt.datetime:
    """The warehouse stores naive UTC; compare like with like."""
    if moment is None:
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _fmt(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _missing_duckdb_file(url: str) -> str | None:
    """Health must not create an empty DuckDB file where the warehouse should be."""
    if url.startswith("duckdb:///") and not url.startswith("duckdb:///:memory:"):
        path = Path(url[len("duckdb:///"):].split("?", 1)[0])
        if not path.exists():
            return str(path)
    return None


def check_health(warehouse_url: str, rules: HealthRules, now: dt.datetime | None = None) -> list[Problem]:
    """Every problem with the latest runs, in the order an operator should read them."""
    now = _utc_naive(now)
    missing_file = _missing_duckdb_file(warehouse_url)
    if missing_file:
        return [Problem("warehouse", f"no warehouse file at {missing_file}: the pipeline has not run here")]
    shown_url = sa.engine.make_url(warehouse_url).render_as_string(hide_password=True)
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            if not table_exists(conn, pipeline_run):
                return [Problem("warehouse", f"{shown_url} has no {pipeline_run.fullname} table: "
                                             "nothing has been published there yet")]
            return _check_runs(conn, rules, now)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return [Problem("warehouse", f"cannot read the warehouse {shown_url}: {reason}")]
    finally:
        engine.dispose()


def _check_runs(conn: Connection, rules: HealthRules, now: dt.datetime) -> list[Problem]:
    r = pipeline_run.c
    last = conn.execute(sa.select(r.run_id, r.started_at, r.status, r.validation_outcome, r.rows_read,
                                  r.rows_quarantined, r.error)
                        .where(r.status.in_(_FINISHED))
                        .order_by(r.started_at.desc(), r.run_id.desc()).limit(1)).first()
    if last is None:
        return [Problem("run_age", "no finished run is recorded in pipeline_run")]
    problems = _run_age(conn, rules, now)
    problems += _last_run(conn, last)
    problems += _quarantine_rate(conn, rules, last)
    problems += _source_age(conn, rules, now)
    return problems


def _run_age(conn: Connection, rules: HealthRules, now: dt.datetime) -> list[Problem]:
    r = pipeline_run.c
    ended = conn.execute(sa.select(sa.func.max(sa.func.coalesce(r.ended_at, r.started_at)))
                         .where(r.status == "succeeded")).scalar()
    if ended is None:
        return [Problem("run_age", "no successful run is recorded in pipeline_run")]
    age = _hours(now - ended)
    if age > rules.max_run_age_hours:
        return [Problem("run_age", f"last successful run ended {_fmt(ended)}, {age:.1f} h ago "
                                   f"(limit {rules.max_run_age_hours:g} h)")]
    return []


def _last_run(conn: Connection, last: sa.Row) -> list[Problem]:
    if last.validation_outcome == "failed":
        v = validation_result.c
        failed = conn.execute(sa.select(v.suite, v.expectation, v.unexpected_count)
                              .where(v.run_id == last.run_id, v.success.is_(False), v.critical.is_(True))
                              .order_by(v.suite, v.expectation)).all()
        listed = "; ".join(f"{f.suite}: {f.expectation}"
                           + (f" ({f.unexpected_count} rows)" if f.unexpected_count else "")
                           for f in failed[:_MAX_LISTED])
        more = f" and {len(failed) - _MAX_LISTED} more" if len(failed) > _MAX_LISTED else ""
        return [Problem("validation", f"last run {last.run_id} failed validation"
                                      + (f": {listed}{more}" if listed else "")
                                      + "; nothing from it was published")]
    if last.status == "failed":
        return [Problem("last_run", f"last run {last.run_id} failed: {last.error or 'no error recorded'}")]
    return []


def _quarantine_rate(conn: Connection, rules: HealthRules, last: sa.Row) -> list[Problem]:
    i = pipeline_run_input.c
    per_source = conn.execute(sa.select(i.source, sa.func.sum(i.rows_read), sa.func.sum(i.rows_quarantined))
                              .where(i.run_id == last.run_id).group_by(i.source).order_by(i.source)).all()
    if not per_source and last.rows_read:
        per_source = [("all sources", last.rows_read, last.rows_quarantined)]
    problems = []
    for source, read, quarantined in per_source:
        if not read:
            continue
        rate = (quarantined or 0) / read
        if rate > rules.max_quarantine_rate:
            problems.append(Problem("quarantine_rate",
                                    f"{source}: {quarantined} of {read} rows quarantined ({rate:.1%}) in run "
                                    f"{last.run_id} (limit {rules.max_quarantine_rate:.1%})"))
    return problems


def _source_age(conn: Connection, rules: HealthRules, now: dt.datetime) -> list[Problem]:
    i, r = pipeline_run_input.c, pipeline_run.c
    latest = dict(conn.execute(
        sa.select(i.source, sa.func.max(r.started_at))
        .select_from(pipeline_run_input.join(pipeline_run, i.run_id == r.run_id))
        .where(i.delivery.in_(_NEW_DELIVERIES)).group_by(i.source)).all())
    problems = []
    for source in SOURCES:
        seen = latest.get(source)
        if seen is None:
            problems.append(Problem("source_age", f"{source}: no new file has ever been read"))
            continue
        age = _hours(now - seen)
        if age > rules.max_source_age_hours:
            problems.append(Problem("source_age", f"{source}: no new file since the run of {_fmt(seen)}, "
                                                  f"{age:.1f} h ago (limit {rules.max_source_age_hours:g} h)"))
    return problems


def format_problems(problems: Sequence[Problem]) -> str:
    """The text `journeys health` prints: one line per problem, or a single all-clear."""
    if not problems:
        return "healthy: recent successful run, validation passed, quarantine and sources within limits"
    lines = [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found:"]
    lines += [f"  [{p.check}] {p.message}" for p in problems]
    return "\n".join(lines)
