"""What Airflow needs from the pipeline, and nothing else.

The DAG files in ``dags/`` only wire tasks; the decisions that make a night's runs
reproducible live here, small and testable without a scheduler:

- the **run date** (the partition key) of a DAG run, derived the same way on every
  retry, clear and backfill;
- the **deadline** rule: before ``orchestration.source_deadline`` a build waits for late
  sources; at the deadline it publishes what landed and the run is marked incomplete;
- what a rebuild must re-stage (``stale_sources``) and when an ingest run announces
  (``announcement_redundant``), so each run date is built once, from its own extracts;
- the **landing watcher**: a trigger that notices new or corrected extracts in the
  landing folders without touching them;
- the **failure notifier**: a log line always, a webhook POST when the connection exists.

Nothing here imports pandas, GX, Splink or duckdb at module level: the DAG processor
and the triggerer import this module on every parse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import Asset, AssetWatcher, BaseNotifier
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline.config import CONFIG_FILE_ENV, SOURCES, Config, OrchestrationRules, load_config
from pipeline.sources import SYSTEM_SOURCES

log = logging.getLogger("pipeline.orchestration")

# Source systems: one ingest DAG each (declared once, in pipeline.sources).
SYSTEMS = SYSTEM_SOURCES

PUBLISHED = Asset(name="journeys_published", uri="x-journeys://published/journeys")

# Files a sender is still writing, or that are not extracts at all.
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp")
# At most this many file names travel in one asset event (the count is always exact).
_MAX_NAMES_PER_EVENT = 50


# --------------------------------------------------------------------------- config


def config_file() -> str | None:
    """The council config file named by ``JOURNEYS_CONFIG_FILE``, if any."""
    return os.environ.get(CONFIG_FILE_ENV) or None


def load_dag_config() -> Config:
    """Config as the DAGs see it (defaults, council file, environment)."""
    return load_config(config_file())


def council_config_file(params: Mapping[str, Any] | None) -> str | None:
    """The council config file a run builds: its ``config_file`` param (one deployment
    building several councils, each with its own file and warehouse), else the
    deployment's own (``JOURNEYS_CONFIG_FILE``)."""
    return (params or {}).get("config_file") or config_file()


def default_args(rules: OrchestrationRules, tz: str) -> dict[str, Any]:
    """Retries with doubling backoff and the failure notifier, for every task."""
    return {
        "owner": rules.owner,
        "retries": rules.retries,
        "retry_delay": dt.timedelta(minutes=rules.retry_delay_minutes),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=rules.max_retry_delay_minutes),
        "on_failure_callback": [FailureNotifier(rules.webhook_conn_id, tz)],
    }


# --------------------------------------------------------------------------- assets


def landing_asset(system: str, landing_dir: Path | str, rules: OrchestrationRules) -> Asset:
    """The landing folders of one source system, watched by the triggerer."""
    root = Path(landing_dir).resolve()
    trigger = LandingFilesTrigger(
        folders=[str(root / source) for source in SYSTEMS[system]],
        poke_interval=rules.poke_interval_seconds,
        settle_seconds=rules.settle_seconds,
    )
    return Asset(name=f"journeys_landing_{system}", uri=f"x-journeys://landing/{system}",
                 watchers=[AssetWatcher(name=f"journeys_landing_{system}_watcher", trigger=trigger)])


def staged_asset(system: str) -> Asset:
    """A system's extracts staged for one run date (``extra['run_date']``)."""
    return Asset(name=f"journeys_staged_{system}", uri=f"x-journeys://staged/{system}")


# --------------------------------------------------------------------------- run date


def parse_run_date(value: str | dt.date) -> dt.date:
    """A run date from a param or asset event, with an error that says what was wrong."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"run_date must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def run_date_from_moment(moment: dt.datetime, tz: str) -> dt.date:
    """The last local day that had fully ended at ``moment``.

    Nightly extracts delivered on day D carry day D-1; the fallback cron fires on D;
    a CronTriggerTimetable run's data interval is the zero-length instant of the
    trigger, so it says nothing about the day and is not used.
    """
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware (Airflow gives UTC datetimes)")
    return moment.astimezone(ZoneInfo(tz)).date() - dt.timedelta(days=1)


def run_moment(dag_run: Any) -> dt.datetime:
    """When the run is *for*: its logical date, else (asset-triggered or manual runs
    without one) the time it was queued to run after. Both survive a clear or retry."""
    return dag_run.logical_date or dag_run.run_after


def run_date_for(context: Mapping[str, Any], tz: str) -> dt.date:
    """The partition key of a DAG run, identical on every retry, clear and backfill.

    In order: an explicit ``run_date`` param (manual reruns), the latest run date
    carried by the staged-asset events that triggered the run, else the day before
    the run's moment (``run_date_from_moment``).
    """
    explicit = (context.get("params") or {}).get("run_date")
    if explicit:
        return parse_run_date(explicit)
    dag_run = context["dag_run"]
    carried = [parse_run_date(e.extra["run_date"]) for e in (dag_run.consumed_asset_events or [])
               if (e.extra or {}).get("run_date")]
    if carried:
        return max(carried)
    return run_date_from_moment(run_moment(dag_run), tz)


def announcement_redundant(run_type: str, run_date: dt.date, last_announced: str | None) -> bool:
    """Whether a nightly fallback ingest run would only repeat what the watcher announced.

    Extracts usually land before the fallback cron; the watcher's run has then staged
    and announced the run date, and announcing it again would build it twice. Runs the
    watcher started (new or corrected files) and manual runs always announce.
    """
    return run_type == "scheduled" and last_announced == run_date.isoformat()


# --------------------------------------------------------------------------- deadline


def deadline_cron(source_deadline: str) -> str:
    """``"06:00"`` -> ``"0 6 * * *"``: the build's fallback schedule."""
    hour, minute = (int(part) for part in source_deadline.split(":"))
    return f"{minute} {hour} * * *"


def deadline_for(run_date: dt.date, source_deadline: str, tz: str) -> dt.datetime:
    """The moment (UTC) after which a run date is built with whatever landed."""
    hour, minute = (int(part) for part in source_deadline.split(":"))
    local = dt.datetime.combine(run_date + dt.timedelta(days=1), dt.time(hour, minute), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.timezone.utc)


def plan_build(run_date: dt.date, landed: Mapping[str, bool], *, run_type: str, moment: dt.datetime,
               source_deadline: str, tz: str, already_complete: bool = False) -> dict[str, Any]:
    """Whether a build DAG run should build now, and with which sources missing.

    - manual and backfill runs always build (an operator asked for it);
    - the deadline's scheduled run skips when a complete publication for the run
      date already exists (the asset-triggered run did the work);
    - with nothing landed for the run date there is nothing new to publish;
    - before the deadline a run never publishes without a source: it waits;
    - otherwise it builds, naming the sources that had not landed.
    """
    missing = sorted(source for source, ok in landed.items() if not ok)
    deadline = deadline_for(run_date, source_deadline, tz)
    plan = {"run_date": run_date.isoformat(), "missing_sources": missing, "build": True,
            "deadline": deadline.isoformat()}
    if run_type in ("manual", "backfill"):
        return {**plan, "reason": f"{run_type} run"}
    if run_type == "scheduled" and already_complete:
        return {**plan, "build": False, "reason": "already published from every source"}
    if missing and len(missing) == len(landed):
        return {**plan, "build": False, "reason": f"no extract has landed for {run_date.isoformat()}"}
    if missing and moment < deadline:
        return {**plan, "build": False,
                "reason": f"waiting for {', '.join(missing)} until the deadline {deadline.isoformat()}"}
    if missing:
        return {**plan, "reason": f"deadline passed without {', '.join(missing)}: publishing as incomplete"}
    return {**plan, "reason": "every source landed"}


def complete_run_exists(warehouse_url: str, run_date: dt.date, tz: str) -> bool:
    """Whether a run for ``run_date`` already published from every source."""
    import sqlalchemy as sa

    from pipeline.clock import as_of_for
    from pipeline.health import table_exists
    from pipeline.warehouse.io import create_engine
    from pipeline.warehouse.tables import pipeline_run

    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            if not table_exists(conn, pipeline_run):
                return False
            query = (sa.select(sa.func.count()).select_from(pipeline_run)
                     .where(pipeline_run.c.as_of == as_of_for(run_date, tz).to_pydatetime(),
                            pipeline_run.c.status == "succeeded"))
            return bool(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def stale_sources(warehouse_url: str, run_date: dt.date) -> list[str]:
    """Sources whose staging is not for ``run_date`` (staged for another day, or never).

    A build re-stages these first, so rebuilding a run date (a clear, a manual rerun,
    a backfill) reads the same extracts as the original run, not whatever the latest
    nightly ingest left in staging.
    """
    import sqlalchemy as sa

    from pipeline.health import table_exists
    from pipeline.warehouse.io import create_engine
    from pipeline.warehouse.tables import source_load

    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            staged_for: dict[str, Any] = {}
            if table_exists(conn, source_load):
                staged_for = dict(conn.execute(sa.select(source_load.c.source, sa.func.max(source_load.c.run_date))
                                               .group_by(source_load.c.source)).all())
    finally:
        engine.dispose()
    return [source for source in SOURCES if staged_for.get(source) != run_date]


# --------------------------------------------------------------------------- landing watcher


def scan_landing(folders: Sequence[str], settle_seconds: float, now: float) -> dict[str, str]:
    """Settled extract files as ``{"<folder>/<file>": "<size>:<mtime_ns>"}``.

    A file still being written (modified less than ``settle_seconds`` ago), hidden
    files and partial-download names are left for a later scan. A missing folder is
    empty, not an error: a source may not have delivered yet.
    """
    found: dict[str, str] = {}
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name.endswith(_PARTIAL_SUFFIXES):
                continue
            if not entry.is_file():
                continue
            stat = entry.stat()
            if now - stat.st_mtime < settle_seconds:
                continue
            found[f"{Path(folder).name}/{entry.name}"] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return found


def changed_files(seen: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Files that are new, or were re-delivered with other bytes, since ``seen``."""
    return sorted(name for name, fingerprint in current.items() if seen.get(name) != fingerprint)


class LandingFilesTrigger(BaseEventTrigger):
    """Fires an asset event when extracts land or are re-delivered in the landing folders.

    Airflow's own file triggers do not fit extracts: ``FileDeleteTrigger`` and
    ``DirectoryFileDeleteTrigger`` delete the file they fire on (fine for flag files,
    fatal for an extract that later reruns must read again), and ``FileTrigger`` is a
    one-shot sensor trigger, not an event trigger, so an AssetWatcher refuses it. This
    one only lists the folders. What it has already announced is kept in the asset's
    state store (Airflow 3.3), so a triggerer restart or hand-over does not announce
    the same files twice; it announces, then records (at-least-once: staging is
    idempotent on file checksums).
    """

    _STATE_KEY = "seen_files"

    def __init__(self, folders: Sequence[str], poke_interval: float = 30.0, settle_seconds: float = 60.0):
        super().__init__()
        self.folders = list(folders)
        self.poke_interval = poke_interval
        self.settle_seconds = settle_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"folders": self.folders, "poke_interval": self.poke_interval,
                 "settle_seconds": self.settle_seconds})

    async def _load_seen(self) -> dict[str, str]:
        if self.asset_state_store is None:  # not run by a triggerer (tests, dag.test)
            return {}
        stored = await self.asset_state_store.aget(self._STATE_KEY, default={})
        return dict(stored) if isinstance(stored, dict) else {}

    async def _save_seen(self, seen: dict[str, str]) -> None:
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(self._STATE_KEY, seen)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        seen = await self._load_seen()
        while True:
            current = await asyncio.to_thread(scan_landing, self.folders, self.settle_seconds, time.time())
            changed = changed_files(seen, current)
            if changed:
                self.log.info("new or corrected extracts: %s", changed)
                yield TriggerEvent({"files": changed[:_MAX_NAMES_PER_EVENT], "count": len(changed)})
            if current != seen:
                seen = current
                await self._save_seen(seen)
            await asyncio.sleep(self.poke_interval)


# --------------------------------------------------------------------------- failure notifier


def failure_payload(context: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """What an on-call person needs: which DAG, task and run date failed, and why.

    The exception text is cut short; the pipeline's own errors never carry secrets
    and the task log holds the rest.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    try:
        run_date: str | None = run_date_for(context, tz).isoformat()
    except (KeyError, AttributeError, TypeError, ValueError):
        run_date = None  # a notification is sent even when the context is partial
    return {
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "run_date": run_date,
        "error": f"{type(exception).__name__}: {exception}"[:500] if exception else None,
    }


def webhook_url(conn: Any) -> str:
    """A webhook URL from an Airflow connection: ``extra.url``, a full URL in ``host``,
    or ``<conn_type>://host[:port][/schema]``."""
    extra_url = (conn.extra_dejson or {}).get("url")
    if extra_url:
        return extra_url
    host = conn.host or ""
    if "://" in host:
        return host
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "https"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema}" if conn.schema else ""
    return f"{scheme}://{host}{port}{path}"


class FailureNotifier(BaseNotifier):
    """Logs every task failure; POSTs it as JSON when the webhook connection exists.

    A notification that cannot be delivered is logged, never raised: it must not
    hide the failure it reports.
    """

    def __init__(self, webhook_conn_id: str | None = None, tz: str = "Europe/London",
                 timeout_seconds: float = 10.0):
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.tz = tz
        self.timeout_seconds = timeout_seconds

    def _connection(self) -> Any | None:
        if not self.webhook_conn_id:
            return None
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return Connection.get(self.webhook_conn_id)
        except AirflowNotFoundException:
            return None

    def notify(self, context: Mapping[str, Any]) -> None:
        payload = failure_payload(context, self.tz)
        log.error("council-journeys task failed: %s", json.dumps(payload, default=str))
        conn = self._connection()
        if conn is None:
            return
        import httpx

        try:
            response = httpx.post(webhook_url(conn), json=payload, timeout=self.timeout_seconds)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.error("failure webhook %s not delivered: %s", self.webhook_conn_id, exc)
