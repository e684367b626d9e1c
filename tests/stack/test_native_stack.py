"""The production stack, run natively: extracts land, the asset-triggered chain publishes.

Starts the services docker-compose.yaml defines (SERVICE_COMMANDS, the same commands;
tests/test_compose.py keeps the two equal) with the CeleryExecutor, the real
PostgreSQL (a fresh metadata database and a fresh warehouse) and the real Redis (a
spare db index and a queue of its own, so concurrent runs cannot steal each other's
tasks). It drops a small generated council into the landing folders and waits for:
the landing watchers to fire, each ingest DAG to stage and announce, the build DAG to
run on the three staged assets and publish, and ``/api/v2/monitor/health`` to be
healthy. On the same stack it then triggers the partitioned full rebuild with two
partitions: its mapped tasks must run on the Celery worker and publish what the chain
published. Every process it started is stopped (process groups) in a ``finally``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import SOURCES

# Each Airflow service of docker-compose.yaml and the command it runs there.
SERVICE_COMMANDS: dict[str, list[str]] = {
    "airflow-init": ["db", "migrate"],
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-worker": ["celery", "worker"],
    "airflow-triggerer": ["triggerer"],
}

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
TIME_LIMIT_SECONDS = 420
REDIS_DB = 13  # a spare index; the queue name below keeps concurrent runs apart
INGEST_DAGS = ("journeys_ingest_crm", "journeys_ingest_telephony", "journeys_ingest_works")
ALL_DAGS = (*INGEST_DAGS, "journeys_build")
PARTITIONED = "journeys_build_partitioned"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The Airflow processes of one test, each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.started = time.monotonic()

    def remaining(self) -> float:
        return TIME_LIMIT_SECONDS - (time.monotonic() - self.started)

    def run(self, service: str, *extra: str) -> None:
        """A one-off service (airflow-init): run to completion."""
        log = self.log_dir / f"{service}.log"
        with log.open("w") as out:
            done = subprocess.run([AIRFLOW, *SERVICE_COMMANDS[service], *extra], env=self.env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=max(self.remaining(), 1))
        assert done.returncode == 0, f"{service} failed:\n{log.read_text()[-4000:]}"

    def start(self, service: str, *extra: str) -> None:
        out = (self.log_dir / f"{service}.log").open("w")
        self.procs[service] = subprocess.Popen([AIRFLOW, *SERVICE_COMMANDS[service], *extra], env=self.env,
                                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def cli(self, *args: str) -> str:
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    def check_alive(self) -> None:
        for service, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{service} exited with {proc.returncode}:\n{self.logs(service)}")

    def logs(self, *services: str, tail: int = 3000) -> str:
        names = services or tuple(p.stem for p in sorted(self.log_dir.glob("*.log")))
        return "\n".join(f"--- {n}\n{(self.log_dir / f'{n}.log').read_text(errors='replace')[-tail:]}"
                         for n in names if (self.log_dir / f"{n}.log").exists())

    def task_errors(self) -> str:
        """Why tasks failed, from the task logs under AIRFLOW_HOME (JSON lines)."""
        errors = []
        for log in sorted(Path(self.env["AIRFLOW_HOME"], "logs").rglob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if '"Task failed with exception"' in line:
                    detail = json.loads(line).get("error_detail") or [{}]
                    errors.append(f"{log.parent.parent.name}/{log.parent.name}: "
                                  f"{detail[0].get('exc_type')}: {str(detail[0].get('exc_value'))[:500]}")
        return "\n".join(errors)

    def wait_for(self, what: str, probe, interval: float = 2.0):
        while self.remaining() > 0:
            self.check_alive()
            result = probe()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"timed out after {TIME_LIMIT_SECONDS} s waiting for {what}\n{self.logs()}")

    def stop(self) -> None:
        """SIGTERM every group, then SIGKILL what is left (celery and uvicorn fork children)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with _gone():
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            with _gone():
                os.killpg(proc.pid, signal.SIGKILL)
            with _gone():
                proc.wait(timeout=10)


class _gone:
    """Ignore 'no such process': it already stopped."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is ProcessLookupError


@pytest.fixture()
def metadata_db(pg_admin_url):
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    import sqlalchemy as sa

    name = f"journeys_airflow_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_admin_url.rsplit("/", 1)[0]
    yield base.replace("postgresql+psycopg://", "postgresql+psycopg2://", 1) + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture()
def redis_queue(redis_available):
    """A Celery queue of this test's own on a spare Redis db, deleted afterwards."""
    import redis

    host, port = redis_available
    queue = f"journeys-stack-{uuid.uuid4().hex[:8]}"
    yield f"redis://{host}:{port}/{REDIS_DB}", queue
    client = redis.Redis(host=host, port=port, db=REDIS_DB)
    keys = list(client.scan_iter(f"*{queue}*"))  # the queue and its kombu binding
    if keys:
        client.delete(*keys)
    client.close()


def stack_env(tmp_path: Path, meta_url: str, broker: str, queue: str, warehouse_url: str,
              ports: dict[str, int]) -> dict[str, str]:
    config = tmp_path / "journeys.yaml"
    config.write_text(f"landing_dir: {tmp_path / 'landing'}\nwarehouse_url: {warehouse_url}\n"
                      f"validation:\n  data_docs_dir: {tmp_path / 'data_docs'}\n")
    meta_pg = meta_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "JOURNEYS_")) or k == "JOURNEYS_HMAC_SECRET"}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ports['api']}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{meta_pg}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ports['api']}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_logs"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_logs"]),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "JOURNEYS_CONFIG_FILE": str(config),
        "JOURNEYS_ORCHESTRATION__POKE_INTERVAL_SECONDS": "2",
        "JOURNEYS_ORCHESTRATION__SETTLE_SECONDS": "1",
        "JOURNEYS_ORCHESTRATION__RETRIES": "0",
        "GX_ANALYTICS_ENABLED": "false",
    })
    return env


def dag_runs(meta_url: str) -> list[tuple[str, str, str]]:
    import sqlalchemy as sa

    engine = sa.create_engine(meta_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT dag_id, run_type, state FROM dag_run ORDER BY id"))]
    finally:
        engine.dispose()


def quiet_with_runs_of(meta_url: str, dag_ids: tuple[str, ...]) -> bool:
    """Every DAG has a run and none is queued or running."""
    runs = dag_runs(meta_url)
    return {r[0] for r in runs} >= set(dag_ids) and all(r[2] in ("success", "failed") for r in runs)


def parsed_dags(meta_url: str) -> set[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(meta_url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text("SELECT dag_id FROM serialized_dag"))}
    finally:
        engine.dispose()


def partitioned_task_instances(meta_url: str) -> list[dict]:
    import sqlalchemy as sa

    engine = sa.create_engine(meta_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(
                "SELECT task_id, map_index, rendered_map_index, state, queue, hostname, external_executor_id "
                "FROM task_instance WHERE dag_id = :dag ORDER BY task_id, map_index"), {"dag": PARTITIONED}).mappings()]
    finally:
        engine.dispose()


def check_partitioned_build(stack: Stack, meta_url: str, warehouse_url: str, queue: str, run_date: dt.date) -> None:
    """Trigger the partitioned full rebuild in two partitions on the running stack: the
    mapped tasks run on the Celery worker (our queue, a Celery task id each) and the
    publication equals the one the chain made from the same staging."""
    import sqlalchemy as sa

    stack.cli("dags", "trigger", PARTITIONED, "--conf", json.dumps({"run_date": run_date.isoformat(), "partitions": 2}))

    def partitioned_done():
        runs = [r for r in dag_runs(meta_url) if r[0] == PARTITIONED]
        assert not [r for r in runs if r[2] == "failed"], f"{runs}\n{stack.task_errors()}\n{stack.logs()}"
        return runs and all(state == "success" for _, _, state in runs)

    stack.wait_for("the partitioned build", partitioned_done, interval=3)
    tis = partitioned_task_instances(meta_url)
    mapped = [ti for ti in tis if ti["task_id"] == "build_partition"]
    assert [ti["map_index"] for ti in mapped] == [0, 1], tis
    assert [ti["rendered_map_index"][:7] for ti in mapped] == ["1 of 2:", "2 of 2:"], tis  # labelled with services
    assert {ti["task_id"] for ti in tis} == {"plan_partitions", "build_partition", "finalise"}
    for ti in tis:  # queued by the CeleryExecutor on this test's queue, run by its worker
        assert ti["state"] == "success" and ti["queue"] == queue and ti["external_executor_id"] and ti["hostname"], ti

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT status, mode, table_hashes, timings FROM published.pipeline_run "
                                    "ORDER BY started_at")).all()
        work = conn.execute(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'part\\_%'")).scalar_one()
    engine.dispose()
    chain, partitioned = runs[0], runs[-1]
    assert (partitioned.status, partitioned.mode) == ("succeeded", "full")
    assert {"journeys, partition 1 of 2", "journeys, partition 2 of 2"} <= set(json.loads(partitioned.timings))
    assert json.loads(partitioned.table_hashes) == json.loads(chain.table_hashes)
    assert work == 0


def test_landed_extracts_run_the_asset_triggered_chain_on_the_celery_stack(
        tmp_path, metadata_db, redis_queue, pg_url):
    import httpx
    import sqlalchemy as sa

    from pipeline.generate.council import generate_council

    broker, queue = redis_queue
    ports = {"api": free_port(), "worker_logs": free_port(), "trigger_logs": free_port()}
    env = stack_env(tmp_path, metadata_db, broker, queue, pg_url, ports)
    # The day the asset-triggered runs will key on: yesterday where the council is.
    run_date = dt.datetime.now(ZoneInfo("Europe/London")).date() - dt.timedelta(days=1)
    generated = generate_council(tmp_path / "generated", people=60, days=21, seed=7, end=run_date)
    for source in SOURCES:
        (tmp_path / "landing" / source).mkdir(parents=True)  # as a deployment creates them, empty
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(env, logs)
    try:
        stack.run("airflow-init")
        stack.start("airflow-apiserver", "--port", str(ports["api"]))
        stack.start("airflow-scheduler")
        stack.start("airflow-dag-processor")
        stack.start("airflow-triggerer")
        stack.start("airflow-worker", "--concurrency", "2", "--queues", queue)

        stack.wait_for("the DAGs to be parsed", lambda: {*ALL_DAGS, PARTITIONED} <= parsed_dags(metadata_db))
        stack.cli("dags", "unpause", "--treat-dag-id-as-regex", "-y", "^journeys_")
        # Unpausing starts each DAG's most recent scheduled run (catchup=False does that);
        # with nothing landed yet they stage nothing and the build publishes nothing.
        stack.wait_for("the runs that unpausing starts", lambda: quiet_with_runs_of(metadata_db, ALL_DAGS))
        assert {(d, k, s) for d, k, s in dag_runs(metadata_db)} == {(d, "scheduled", "success") for d in ALL_DAGS}

        shutil.copytree(generated.landing_dir, tmp_path / "landing", dirs_exist_ok=True)

        def chain_done():
            runs = dag_runs(metadata_db)
            failed = [r for r in runs if r[2] == "failed"]
            assert not failed, f"failed runs {failed}\n{stack.task_errors()}\n{stack.logs()}"
            triggered = {dag for dag, kind, state in runs if kind == "asset_triggered" and state == "success"}
            return triggered == set(ALL_DAGS) and quiet_with_runs_of(metadata_db, ALL_DAGS)

        stack.wait_for("the asset-triggered chain", chain_done, interval=3)

        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status, as_of FROM published.pipeline_run")).all()
            journeys = conn.execute(sa.text("SELECT count(*) FROM published.journey")).scalar_one()
        engine.dispose()
        assert status and {s for s, _ in status} == {"succeeded"} and journeys > 0
        assert {as_of.date() for _, as_of in status} == {run_date}  # as-of: the end of the run date, London

        health = httpx.get(f"http://127.0.0.1:{ports['api']}/api/v2/monitor/health", timeout=10).json()
        unhealthy = {k: v for k, v in health.items() if isinstance(v, dict) and v.get("status") != "healthy"}
        assert {"metadatabase", "scheduler", "triggerer", "dag_processor"} <= set(health) and not unhealthy, health

        check_partitioned_build(stack, metadata_db, pg_url, queue, run_date)
    finally:
        stack.stop()
    assert all(p.poll() is not None for p in stack.procs.values())
