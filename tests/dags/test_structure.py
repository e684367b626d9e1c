"""How the DAGs are wired: schedules, assets, task order, retries, docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import orchestration as orc
from pipeline.config import load_config

pytestmark = pytest.mark.airflow

CFG = load_config(orc.config_file())
INGEST = {f"journeys_ingest_{system}": sources for system, sources in orc.SYSTEMS.items()}


def upstream(dag, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).upstream_task_ids)


@pytest.mark.parametrize("dag_id", [*INGEST, "journeys_build", "journeys_build_partitioned"])
def test_every_dag_is_documented_owned_tagged_and_serial(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.doc_md and len(dag.doc_md) > 300 and "docs/runbook.md" in dag.doc_md
    assert "council-journeys" in dag.tags
    assert dag.owner == CFG.orchestration.owner
    assert "run_date" in dag.params


@pytest.mark.parametrize("dag_id", [*INGEST, "journeys_build", "journeys_build_partitioned"])
def test_every_task_retries_with_backoff_and_notifies_on_failure(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        assert task.retries == CFG.orchestration.retries, task.task_id
        assert task.retry_exponential_backoff == 2.0
        assert task.max_retry_delay is not None
        assert any(isinstance(cb, orc.FailureNotifier) for cb in task.on_failure_callback), task.task_id


@pytest.mark.parametrize(("dag_id", "sources"), INGEST.items())
def test_ingest_dag_starts_on_its_landing_folders_or_the_nightly_cron(dagbag, dag_id, sources):
    schedule = dagbag.dags[dag_id].timetable
    assert type(schedule).__name__ == "AssetOrTimeSchedule"
    assert schedule.timetable.expression == CFG.orchestration.schedule_cron
    assert schedule.timetable.timezone == CFG.timezone
    (watcher,) = schedule.asset_condition.watchers
    assert isinstance(watcher.trigger, orc.LandingFilesTrigger)
    landing = Path(CFG.landing_dir).resolve()
    assert watcher.trigger.folders == [str(landing / s) for s in sources]
    assert watcher.trigger.poke_interval == CFG.orchestration.poke_interval_seconds


@pytest.mark.parametrize(("dag_id", "sources"), INGEST.items())
def test_ingest_dag_stages_each_source_then_announces_its_asset(dagbag, dag_id, sources):
    dag = dagbag.dags[dag_id]
    system = dag_id.removeprefix("journeys_ingest_")
    stage_ids = {f"stage_{s}" for s in sources}
    assert {t.task_id for t in dag.tasks} == {"resolve_run_date", "announce", *stage_ids}
    for stage_id in stage_ids:
        assert upstream(dag, stage_id) == {"resolve_run_date"}
    assert upstream(dag, "announce") == {"resolve_run_date", *stage_ids}
    assert dag.get_task("announce").outlets == [orc.staged_asset(system)]
    assert all(not dag.get_task(t).outlets for t in ("resolve_run_date", *stage_ids))


def test_build_waits_for_every_staged_asset_or_the_deadline(dagbag):
    schedule = dagbag.dags["journeys_build"].timetable
    assert type(schedule).__name__ == "AssetOrTimeSchedule"
    assert schedule.timetable.expression == orc.deadline_cron(CFG.orchestration.source_deadline)
    condition = schedule.asset_condition
    assert type(condition).__name__ == "AssetAll"
    assert sorted(a.name for a in condition.objects) == sorted(orc.staged_asset(s).name for s in orc.SYSTEMS)


def test_build_plans_then_builds_and_announces_the_publication(dagbag):
    dag = dagbag.dags["journeys_build"]
    assert {t.task_id for t in dag.tasks} == {"plan", "build"}
    assert upstream(dag, "build") == {"plan"}
    assert dag.get_task("build").outlets == [orc.PUBLISHED]


def test_each_staged_asset_has_one_producer_and_the_build_consumes_it(dagbag):
    producers: dict[str, list[str]] = {}
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            for outlet in task.outlets:
                producers.setdefault(outlet.name, []).append(dag.dag_id)
    producers = {asset: sorted(dags) for asset, dags in producers.items()}
    assert producers == {**{orc.staged_asset(s).name: [f"journeys_ingest_{s}"] for s in orc.SYSTEMS},
                         orc.PUBLISHED.name: ["journeys_build", "journeys_build_partitioned"]}


def test_partitioned_build_is_triggered_and_maps_one_task_per_partition(dagbag):
    dag = dagbag.dags["journeys_build_partitioned"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual or API trigger only
    assert {t.task_id for t in dag.tasks} == {"plan_partitions", "build_partition", "finalise"}
    assert upstream(dag, "build_partition") == {"plan_partitions"}
    assert upstream(dag, "finalise") == {"build_partition"}
    mapped = dag.get_task("build_partition")
    assert type(mapped).__name__.endswith("MappedOperator")
    assert not any(type(dag.get_task(t)).__name__.endswith("MappedOperator") for t in ("plan_partitions", "finalise"))
    assert dag.get_task("finalise").outlets == [orc.PUBLISHED]
    assert dag.params["partitions"] == CFG.orchestration.build_partitions
    assert set(dag.params) == {"run_date", "partitions", "config_file"}
    on_duckdb = CFG.warehouse_url.startswith("duckdb")
    assert mapped.max_active_tis_per_dagrun == (1 if on_duckdb else None)  # one DuckDB writer at a time
