"""pipeline.orchestration: run dates, the deadline rule, the landing watcher, the notifier."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

# Importing Airflow creates $AIRFLOW_HOME/logs: keep it out of the developer's home.
os.environ.setdefault("AIRFLOW_HOME", str(Path(tempfile.gettempdir()) / "journeys-test-airflow-home"))

from pipeline import orchestration as orc  # noqa: E402

pytestmark = pytest.mark.airflow

UTC = dt.timezone.utc
TZ = "Europe/London"


def dag_run(*, logical_date=None, run_after=None, events=(), run_type="scheduled"):
    """The fields of Airflow's runtime DagRun that the helpers read."""
    return SimpleNamespace(dag_id="journeys_build", run_id="r1", logical_date=logical_date,
                           run_after=run_after or logical_date, run_type=run_type,
                           consumed_asset_events=[SimpleNamespace(extra=e) for e in events])


# --------------------------------------------------------------------------- run date


@pytest.mark.parametrize(("moment", "expected"), [
    (dt.datetime(2026, 11, 27, 2, 30, tzinfo=UTC), dt.date(2026, 11, 26)),  # nightly fallback, GMT
    (dt.datetime(2026, 11, 26, 23, 59, tzinfo=UTC), dt.date(2026, 11, 25)),  # still the 26th in London
    (dt.datetime(2026, 6, 30, 23, 30, tzinfo=UTC), dt.date(2026, 6, 30)),  # 00:30 BST on 1 July
    (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), dt.date(2026, 3, 28)),  # just before the spring change
])
def test_run_date_is_the_last_local_day_that_ended(moment, expected):
    assert orc.run_date_from_moment(moment, TZ) == expected


def test_naive_moment_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        orc.run_date_from_moment(dt.datetime(2026, 11, 27, 2, 30), TZ)


def test_scheduled_run_is_keyed_on_its_logical_date():
    run = dag_run(logical_date=dt.datetime(2026, 11, 27, 2, 30, tzinfo=UTC),
                  run_after=dt.datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # a clear a day later
    assert orc.run_date_for({"dag_run": run, "params": {}}, TZ) == dt.date(2026, 11, 26)


def test_asset_triggered_run_without_logical_date_uses_run_after():
    run = dag_run(run_after=dt.datetime(2026, 11, 27, 1, 15, tzinfo=UTC), run_type="asset_triggered")
    assert orc.run_date_for({"dag_run": run}, TZ) == dt.date(2026, 11, 26)


def test_staged_events_carry_the_run_date_to_the_build():
    run = dag_run(run_after=dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC), run_type="asset_triggered",
                  events=[{"run_date": "2026-11-25"}, {"run_date": "2026-11-26"}, {"from_trigger": True}])
    assert orc.run_date_for({"dag_run": run}, TZ) == dt.date(2026, 11, 26)


def test_explicit_param_wins_and_bad_values_are_named():
    run = dag_run(logical_date=dt.datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    assert orc.run_date_for({"dag_run": run, "params": {"run_date": "2026-10-25"}}, TZ) == dt.date(2026, 10, 25)
    with pytest.raises(ValueError, match=r"run_date must be an ISO date \(YYYY-MM-DD\), got '25/10/2026'"):
        orc.run_date_for({"dag_run": run, "params": {"run_date": "25/10/2026"}}, TZ)


def test_a_run_builds_its_council_file_else_the_deployments(monkeypatch):
    monkeypatch.setenv("JOURNEYS_CONFIG_FILE", "/config/leeds.yaml")
    assert orc.council_config_file({"config_file": "/config/york.yaml"}) == "/config/york.yaml"
    assert orc.council_config_file({"config_file": None}) == "/config/leeds.yaml"
    assert orc.council_config_file(None) == "/config/leeds.yaml"
    monkeypatch.delenv("JOURNEYS_CONFIG_FILE")
    assert orc.council_config_file({}) is None


@pytest.mark.parametrize(("run_type", "last", "redundant"), [
    ("scheduled", "2026-11-26", True),  # the watcher's run already announced the date
    ("scheduled", "2026-11-25", False),  # the watcher saw nothing for it: the fallback announces
    ("scheduled", None, False),
    ("asset_triggered", "2026-11-26", False),  # a corrected re-delivery is announced again
    ("manual", "2026-11-26", False),
])
def test_fallback_ingest_does_not_repeat_an_announcement(run_type, last, redundant):
    assert orc.announcement_redundant(run_type, dt.date(2026, 11, 26), last) is redundant


# --------------------------------------------------------------------------- deadline


def test_deadline_cron_and_moment_follow_local_time():
    assert orc.deadline_cron("06:00") == "0 6 * * *"
    assert orc.deadline_cron("23:45") == "45 23 * * *"
    assert orc.deadline_for(dt.date(2026, 11, 26), "06:00", TZ) == dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert orc.deadline_for(dt.date(2026, 6, 30), "06:00", TZ) == dt.datetime(2026, 7, 1, 5, 0, tzinfo=UTC)


ALL = {"crm_cases": True, "crm_case_events": True, "call_logs": True, "works_orders": True}
LATE_WORKS = {**ALL, "works_orders": False}
DAY = dt.date(2026, 11, 26)
BEFORE = dt.datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
AT_DEADLINE = dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def plan(landed, run_type, moment, complete=False):
    return orc.plan_build(DAY, landed, run_type=run_type, moment=moment, source_deadline="06:00", tz=TZ,
                          already_complete=complete)


def test_every_source_landed_builds_complete():
    p = plan(ALL, "asset_triggered", BEFORE)
    assert (p["build"], p["missing_sources"], p["run_date"]) == (True, [], "2026-11-26")


def test_before_the_deadline_a_late_source_is_waited_for():
    p = plan(LATE_WORKS, "asset_triggered", BEFORE)
    assert not p["build"] and "waiting for works_orders" in p["reason"]


def test_at_the_deadline_what_landed_is_published_as_incomplete():
    p = plan(LATE_WORKS, "scheduled", AT_DEADLINE)
    assert p["build"] and p["missing_sources"] == ["works_orders"] and "incomplete" in p["reason"]


def test_nothing_landed_means_nothing_to_publish_even_at_the_deadline():
    p = plan(dict.fromkeys(ALL, False), "scheduled", AT_DEADLINE)
    assert not p["build"] and p["reason"] == "no extract has landed for 2026-11-26"


def test_deadline_run_skips_when_already_published_complete():
    p = plan(ALL, "scheduled", AT_DEADLINE, complete=True)
    assert not p["build"] and p["reason"] == "already published from every source"


@pytest.mark.parametrize("run_type", ["manual", "backfill"])
def test_operator_runs_always_build(run_type):
    p = plan(LATE_WORKS, run_type, BEFORE, complete=True)
    assert p["build"] and p["missing_sources"] == ["works_orders"]


def test_complete_run_exists_reads_pipeline_run(warehouse_url):
    import pandas as pd

    from pipeline.clock import as_of_for
    from pipeline.warehouse import io
    from pipeline.warehouse.tables import pipeline_run

    assert not orc.complete_run_exists(warehouse_url, DAY, TZ)  # no tables yet
    row = {c.name: None for c in pipeline_run.columns}
    runs = pd.DataFrame([
        {**row, "run_id": "a", "as_of": as_of_for(DAY, TZ), "started_at": pd.Timestamp("2026-11-27 03:00"),
         "status": "incomplete"},
        {**row, "run_id": "b", "as_of": as_of_for(DAY - dt.timedelta(days=1), TZ),
         "started_at": pd.Timestamp("2026-11-26 03:00"), "status": "succeeded"},
    ])
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn, [pipeline_run])
        io.write_frame(conn, pipeline_run, runs)
    assert not orc.complete_run_exists(warehouse_url, DAY, TZ)
    assert orc.complete_run_exists(warehouse_url, DAY - dt.timedelta(days=1), TZ)
    engine.dispose()


def test_stale_sources_are_those_staged_for_another_day_or_never(warehouse_url):
    import pandas as pd

    from pipeline.warehouse import io
    from pipeline.warehouse.tables import source_load

    assert orc.stale_sources(warehouse_url, DAY) == list(orc.SOURCES)  # nothing staged yet
    row = {c.name: None for c in source_load.columns}
    loads = pd.DataFrame([
        {**row, "source": "crm_cases", "file": "crm_cases/2026-11-26.csv", "run_date": DAY},
        {**row, "source": "crm_case_events", "file": "crm_case_events/2026-11-26.csv", "run_date": DAY},
        {**row, "source": "call_logs", "file": "call_logs/2026-11-27.csv", "run_date": DAY + dt.timedelta(days=1)},
    ])
    engine = io.create_engine(warehouse_url)
    with engine.begin() as conn:
        io.create_tables(conn, [source_load])
        io.write_frame(conn, source_load, loads)
    engine.dispose()
    assert orc.stale_sources(warehouse_url, DAY) == ["call_logs", "works_orders"]


# --------------------------------------------------------------------------- landing watcher


def land(folder: Path, name: str, text: str, age_seconds: float = 3600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_scan_skips_unsettled_hidden_and_partial_files(tmp_path):
    crm = tmp_path / "crm_cases"
    land(crm, "2026-11-26.csv", "a,b\n")
    land(crm, "2026-11-27.csv", "a,b\n", age_seconds=5)  # still being copied
    land(crm, ".2026-11-27.csv.swx", "x")
    land(crm, "2026-11-27.csv.part", "x")
    (crm / "archive").mkdir()
    found = orc.scan_landing([str(crm), str(tmp_path / "not_yet_created")], settle_seconds=60, now=time.time())
    assert list(found) == ["crm_cases/2026-11-26.csv"]


def test_changed_files_are_new_or_redelivered_with_other_bytes(tmp_path):
    folder = tmp_path / "call_logs"
    f = land(folder, "2026-11-26.csv", "a\n")
    seen = orc.scan_landing([str(folder)], 60, time.time())
    land(folder, "2026-11-27.csv", "b\n")
    assert orc.changed_files(seen, orc.scan_landing([str(folder)], 60, time.time())) == ["call_logs/2026-11-27.csv"]
    f.write_text("a corrected\n")
    os.utime(f, (time.time() - 3600, time.time() - 3600))
    assert "call_logs/2026-11-26.csv" in orc.changed_files(seen, orc.scan_landing([str(folder)], 60, time.time()))
    assert orc.changed_files(seen, seen) == []


class StateStore:
    """The two coroutines of Airflow's asset state store the trigger uses, in memory."""

    def __init__(self, data: dict | None = None):
        self.data = dict(data or {})

    async def aget(self, key, default=None):
        return self.data.get(key, default)

    async def aset(self, key, value):
        self.data[key] = value


async def events_within(trigger: orc.LandingFilesTrigger, seconds: float) -> list:
    """Run the trigger as the triggerer does (events consumed as they come) for a while."""
    events = []

    async def consume():
        async for event in trigger.run():
            events.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return events


def test_trigger_announces_landed_files_once_and_records_them(tmp_path):
    folder = tmp_path / "works_orders"
    land(folder, "2026-11-26.csv", "w\n")
    trigger = orc.LandingFilesTrigger([str(folder)], poke_interval=0.05, settle_seconds=1)
    trigger.asset_state_store = StateStore()
    events = asyncio.run(events_within(trigger, 0.5))
    assert [e.payload for e in events] == [{"files": ["works_orders/2026-11-26.csv"], "count": 1}]
    assert list(trigger.asset_state_store.data["seen_files"]) == ["works_orders/2026-11-26.csv"]


def test_restarted_trigger_announces_only_what_is_new(tmp_path):
    folder = tmp_path / "works_orders"
    land(folder, "2026-11-26.csv", "w\n")
    store = StateStore({"seen_files": orc.scan_landing([str(folder)], 1, time.time())})
    land(folder, "2026-11-27.csv", "w\n")
    trigger = orc.LandingFilesTrigger([str(folder)], poke_interval=0.05, settle_seconds=1)
    trigger.asset_state_store = store
    events = asyncio.run(events_within(trigger, 0.5))
    assert [e.payload["files"] for e in events] == [["works_orders/2026-11-27.csv"]]


def test_trigger_without_a_state_store_still_runs(tmp_path):
    land(tmp_path / "call_logs", "2026-11-26.csv", "c\n")
    trigger = orc.LandingFilesTrigger([str(tmp_path / "call_logs")], poke_interval=0.05, settle_seconds=1)
    assert len(asyncio.run(events_within(trigger, 0.3))) == 1


def test_trigger_serializes_to_an_importable_classpath(tmp_path):
    trigger = orc.LandingFilesTrigger([str(tmp_path)], poke_interval=5, settle_seconds=10)
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    import importlib

    assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (classpath, kwargs)


# --------------------------------------------------------------------------- failure notifier


@pytest.fixture()
def webhook_server():
    """A real HTTP server on loopback that records what it is sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(404 if self.path == "/gone" else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def failure_context():
    ti = SimpleNamespace(dag_id="journeys_ingest_works", task_id="stage_works_orders", run_id="r1", try_number=3)
    run = dag_run(logical_date=dt.datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    return {"ti": ti, "dag_run": run, "params": {}, "exception": RuntimeError("works_orders/2026-11-26.csv: bad")}


def test_failure_payload_names_dag_task_run_date_and_error():
    payload = orc.failure_payload(failure_context(), TZ)
    assert payload == {"event": "task_failed", "dag_id": "journeys_ingest_works", "task_id": "stage_works_orders",
                       "run_id": "r1", "try_number": 3, "run_date": "2026-11-26",
                       "error": "RuntimeError: works_orders/2026-11-26.csv: bad"}


def test_notifier_posts_to_the_webhook_connection(webhook_server, monkeypatch, caplog):
    port, received = webhook_server
    monkeypatch.setenv("AIRFLOW_CONN_JOURNEYS_TEST_HOOK", f"http://127.0.0.1:{port}/hook")
    orc.FailureNotifier("journeys_test_hook", TZ).notify(failure_context())
    assert [r["task_id"] for r in received] == ["stage_works_orders"]
    assert "council-journeys task failed" in caplog.text


def test_notifier_without_the_connection_only_logs(webhook_server, caplog):
    _, received = webhook_server
    orc.FailureNotifier("journeys_no_such_hook", TZ).notify(failure_context())
    assert received == [] and "stage_works_orders" in caplog.text


def test_undeliverable_webhook_is_logged_not_raised(webhook_server, monkeypatch, caplog):
    port, received = webhook_server
    monkeypatch.setenv("AIRFLOW_CONN_JOURNEYS_TEST_HOOK", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{port}/gone"}))
    orc.FailureNotifier("journeys_test_hook", TZ).notify(failure_context())
    assert len(received) == 1 and "not delivered" in caplog.text


@pytest.mark.parametrize(("conn", "url"), [
    (SimpleNamespace(extra_dejson={"url": "https://hooks.example.org/a"}, host="x", conn_type="http",
                     port=None, schema=None), "https://hooks.example.org/a"),
    (SimpleNamespace(extra_dejson={}, host="https://hooks.example.org/b", conn_type="http", port=None,
                     schema=None), "https://hooks.example.org/b"),
    (SimpleNamespace(extra_dejson={}, host="hooks.example.org", conn_type="generic", port=8443,
                     schema="services/c"), "https://hooks.example.org:8443/services/c"),
])
def test_webhook_url_from_each_connection_shape(conn, url):
    assert orc.webhook_url(conn) == url


def test_default_args_carry_retries_backoff_and_notifier():
    from pipeline.config import load_config

    rules = load_config(environ={}).orchestration
    args = orc.default_args(rules, TZ)
    assert args["retries"] == rules.retries and args["retry_exponential_backoff"] == 2.0
    assert args["retry_delay"] == dt.timedelta(minutes=rules.retry_delay_minutes)
    assert isinstance(args["on_failure_callback"][0], orc.FailureNotifier)

