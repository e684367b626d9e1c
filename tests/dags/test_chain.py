"""The DAG chain end to end with ``dag.test()`` on a small generated council.

Each run is a subprocess on a migrated AIRFLOW_HOME (SQLite metadata; under CI also
PostgreSQL metadata in a temporary database), publishing into a DuckDB warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

RUNNER = Path(__file__).with_name("dag_test_runner.py")
RUN_DATE = dt.date(2026, 11, 26)
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_METADATA = IN_CI or os.environ.get("JOURNEYS_TEST_AIRFLOW_PG") == "1"


def migrated(env: dict[str, str]) -> dict[str, str]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return env


@pytest.fixture(scope="session")
def sqlite_metadata(tmp_path_factory, airflow_env):
    """A migrated SQLite metadata database (``airflow db migrate``), once per session."""
    return migrated(airflow_env(tmp_path_factory.mktemp("airflow_home")))


@pytest.fixture(scope="session")
def postgres_metadata(tmp_path_factory, airflow_env, pg_admin_url):
    """A migrated metadata database in a temporary PostgreSQL database, dropped afterwards."""
    if not PG_METADATA:
        pytest.skip("PostgreSQL metadata runs under CI=true (or JOURNEYS_TEST_AIRFLOW_PG=1)")
    name = f"journeys_airflow_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_admin_url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)
    try:
        yield migrated(airflow_env(tmp_path_factory.mktemp("airflow_home_pg"),
                                   AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"{base}/{name}"))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def airflow_metadata(request):
    return request.getfixturevalue(f"{request.param}_metadata")


CHAIN = ("journeys_ingest_crm", "journeys_ingest_telephony", "journeys_ingest_works", "journeys_build")


def land_council(tmp_path: Path, *, late: tuple[str, ...] = ()) -> Path:
    """A generated council in a landing folder, and a config pointing the DAGs at it."""
    from pipeline.generate.council import generate_council

    council = generate_council(tmp_path / "council", people=80, days=28, seed=11, end=RUN_DATE)
    for source in late:  # these sources' extracts for the run date have not arrived
        for file in (Path(council.landing_dir) / source).glob(f"{RUN_DATE.isoformat()}*"):
            file.unlink()
    config = tmp_path / "journeys.yaml"
    config.write_text(f"landing_dir: {council.landing_dir}\nwarehouse_url: duckdb:///{tmp_path / 'warehouse.duckdb'}\n"
                      f"validation:\n  data_docs_dir: {tmp_path / 'docs'}\n")
    return config


def run_dags(env: dict[str, str], config: Path, *steps: tuple[str, dt.date]) -> list[dict]:
    """Each step's run state and task states; a failed task's error is in ``step['errors']``."""
    args = [f"{dag_id}={day.isoformat()}" for dag_id, day in steps]
    done = subprocess.run([sys.executable, str(RUNNER), *args],
                          env={**env, "JOURNEYS_CONFIG_FILE": str(config), "JOURNEYS_ORCHESTRATION__RETRIES": "0"},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    errors = [line for line in done.stdout.splitlines() if "council-journeys task failed" in line]
    return [{**step, "errors": errors} for step in json.loads(done.stdout.strip().splitlines()[-1])]


def published_runs(config: Path) -> list[dict]:
    from pipeline.config import load_config

    engine = sa.create_engine(load_config(config).warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT as_of, status, missing_sources, table_hashes, timings "
                                    "FROM published.pipeline_run ORDER BY started_at")).mappings().all()
        assert conn.execute(sa.text("SELECT count(*) FROM published.journey")).scalar_one() > 0
    engine.dispose()
    return [dict(r) for r in rows]


def test_the_chain_publishes_each_run_date_and_a_rerun_reproduces_it(airflow_metadata, tmp_path):
    """Two nights through the whole chain, then the first night's build rerun on its own:
    it re-stages that night's extracts and publishes the same tables (same hashes)."""
    from pipeline.clock import as_of_for

    config = land_council(tmp_path)
    night = RUN_DATE - dt.timedelta(days=1)
    report = run_dags(airflow_metadata, config, *[(d, night) for d in CHAIN], *[(d, RUN_DATE) for d in CHAIN],
                      ("journeys_build", night))
    for step in report:
        assert step["state"] == "success" and set(step["tasks"].values()) == {"success"}, step
    runs = published_runs(config)
    assert [(r["as_of"], r["status"], r["missing_sources"] or "") for r in runs] == [
        (as_of_for(night).to_pydatetime(), "succeeded", ""), (as_of_for(RUN_DATE).to_pydatetime(), "succeeded", ""),
        (as_of_for(night).to_pydatetime(), "succeeded", "")]
    assert runs[0]["table_hashes"] and runs[2]["table_hashes"] == runs[0]["table_hashes"]
    assert runs[1]["table_hashes"] != runs[0]["table_hashes"]


def test_a_late_source_is_not_announced_and_the_build_is_marked_incomplete(sqlite_metadata, tmp_path):
    config = land_council(tmp_path, late=("works_orders",))
    report = run_dags(sqlite_metadata, config, *[(d, RUN_DATE) for d in CHAIN])
    tasks = {step["dag_id"]: step["tasks"] for step in report}
    assert tasks["journeys_ingest_works"]["announce"] == "skipped"
    assert tasks["journeys_ingest_crm"]["announce"] == "success"
    assert tasks["journeys_build"] == {"plan": "success", "build": "success"}
    assert [(r["status"], r["missing_sources"]) for r in published_runs(config)] == [("incomplete", "works_orders")]


def test_the_partitioned_build_maps_its_partitions_and_publishes_what_the_chain_did(sqlite_metadata, tmp_path):
    """``dag.test()`` runs the mapped partitions in-process, one after another (DuckDB)."""
    config = land_council(tmp_path)
    report = run_dags(sqlite_metadata, config, *[(d, RUN_DATE) for d in CHAIN],
                      ("journeys_build_partitioned", RUN_DATE))
    partitioned = report[-1]
    assert partitioned["state"] == "success", partitioned
    assert partitioned["tasks"] == {"plan_partitions": "success", "build_partition": "success",
                                    "finalise": "success"}
    chain, rebuilt = published_runs(config)
    assert (rebuilt["as_of"], rebuilt["status"]) == (chain["as_of"], "succeeded")
    assert rebuilt["table_hashes"] == chain["table_hashes"]
    assert "journeys, partition 2 of" in rebuilt["timings"]  # mapped over more than one partition
