"""Build DAGs: identity, journeys, measures, validation and publication for a run date.

``journeys_build`` is the nightly build; ``journeys_build_partitioned`` a triggered full
rebuild whose journeys are mapped tasks, one per partition, spread over the workers.
Wiring only: the work is ``pipeline.stages.build`` and ``pipeline.partitions``, the
deadline rule ``pipeline.orchestration.plan_build``. Heavy modules are imported inside
the tasks.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, Param, task
from airflow.sdk.exceptions import AirflowSkipException

from pipeline import orchestration as orc

CFG = orc.load_dag_config()
RULES = CFG.orchestration
STAGED = [orc.staged_asset(system) for system in orc.SYSTEMS]

DOC = f"""
### Build journeys and publish

**Starts** when every source system has announced its staged extracts
({", ".join(f"`{a.name}`" for a in STAGED)}), or at the source deadline
`{RULES.source_deadline}` ({CFG.timezone}, cron `{orc.deadline_cron(RULES.source_deadline)}`)
if one of them is late.

**Does**: `plan` decides whether to build now (see `pipeline.orchestration.plan_build`):
before the deadline it never publishes without a source; at the deadline it publishes
what landed and the run is recorded as `incomplete` in `pipeline_run`, naming the missing
sources; the deadline run is skipped when a complete publication for the run date already
exists. `build` then runs identity → journeys → measures → validate → publish
(write-audit-publish: nothing is published if a critical expectation fails) and
announces asset `{orc.PUBLISHED.name}`. Sources whose staging is for another day (a
clear, a manual rerun or a backfill of an older date) are re-staged for the run date
first, so a rebuilt date reads exactly the extracts its original run read.

**Run date**: the run date the staged extracts carry, else the day before the run's
moment, or the `run_date` param of a manual run. To rebuild run dates A..B:
`airflow backfill create --dag-id journeys_build --from-date A+1 --to-date B+1`.

**On failure**: {RULES.retries} retries with doubling delay, then the failure notifier.
Read `journeys health` and the run's Data Docs (`pipeline_run.data_docs_path`).
Runbook: `docs/runbook.md`.
"""

with DAG(
    dag_id="journeys_build",
    description="Build and publish journeys and measures for a run date",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(orc.deadline_cron(RULES.source_deadline), timezone=CFG.timezone),
        assets=AssetAll(*STAGED)),
    start_date=dt.datetime(2024, 1, 1, tzinfo=ZoneInfo(CFG.timezone)),
    catchup=False,
    max_active_runs=1,
    default_args=orc.default_args(RULES, CFG.timezone),
    params={"run_date": Param(None, type=["null", "string"], format="date",
                              description="Build this date (YYYY-MM-DD) instead of the one the run implies.")},
    tags=["council-journeys", "build", "publish"],
    doc_md=DOC,
) as journeys_build:

    @task
    def plan(**context) -> dict:
        """Which run date to build, and whether to build it now or wait."""
        from pipeline.stages import sources_landed

        dag_run = context["dag_run"]
        run_date = orc.run_date_for(context, CFG.timezone)
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        complete = run_type == "scheduled" and orc.complete_run_exists(CFG.warehouse_url, run_date, CFG.timezone)
        return orc.plan_build(run_date, sources_landed(run_date, config_file=orc.config_file()),
                              run_type=run_type, moment=orc.run_moment(dag_run),
                              source_deadline=RULES.source_deadline, tz=CFG.timezone, already_complete=complete)

    @task(outlets=[orc.PUBLISHED])
    def build(plan: dict, *, outlet_events=None) -> dict:
        """Bring staging to the run date, build and publish; a small summary goes to XCom."""
        if not plan["build"]:
            raise AirflowSkipException(plan["reason"])
        from pipeline.stages import build as build_run_date
        from pipeline.stages import stage_source

        restaged = orc.stale_sources(CFG.warehouse_url, orc.parse_run_date(plan["run_date"]))
        for source in restaged:
            stage_source(source, plan["run_date"], config_file=orc.config_file())
        summary = build_run_date(plan["run_date"], config_file=orc.config_file(),
                                 missing_sources=plan["missing_sources"])
        keep = ("run_id", "run_date", "status", "journeys", "validation_outcome", "data_docs_path", "table_hashes")
        result = {key: summary.get(key) for key in keep} | {"missing_sources": plan["missing_sources"],
                                                             "restaged": restaged}
        outlet_events[orc.PUBLISHED].extra = result
        return result

    build(plan())


# --------------------------------------------------------------------------- partitioned full rebuild

ON_DUCKDB = CFG.warehouse_url.startswith("duckdb")
DUCKDB_NOTE = "**DuckDB warehouse**: partitions run one at a time (a DuckDB file has one writer process)."

PARTITIONED_DOC = f"""
### Full rebuild in partitions (scale-out)

**Starts** only when triggered: the UI's *Trigger* with params, or
`airflow dags trigger journeys_build_partitioned --conf '{{"run_date": "YYYY-MM-DD", "partitions": 8}}'`.
The nightly `journeys_build` stays incremental and unpartitioned; this DAG is for the
full rebuilds too big for one worker (first load, code or rule changes, corrected files).

**Does**: `plan_partitions` re-stages sources whose staging is for another day,
snapshots staging into the run's restricted work schema, resolves identity once over
every record and splits the records into at most `partitions` partitions of whole link
components, binned by service. `build_partition` is mapped over them: one task
instance per partition, spread over the Celery workers
(`docker compose up --scale airflow-worker=N`). `finalise` computes the measures from
every partition's journeys, validates and publishes (write-audit-publish) exactly what
a full `journeys_build` would, and announces asset `{orc.PUBLISHED.name}`.

**Params**: `run_date` (default: the day before the run), `partitions` (default
`orchestration.build_partitions` = {RULES.build_partitions}), `config_file` (default the
deployment's `JOURNEYS_CONFIG_FILE`): in a deployment that builds several councils,
one run per council, each with its own file and warehouse.
{DUCKDB_NOTE if ON_DUCKDB else ""}

**On failure**: {RULES.retries} retries with doubling delay, then the failure notifier. A
failed partition publishes nothing (finalise does not run); clear it to retry, or clear
the whole run to plan again. Runbook: `docs/runbook.md`; design: `docs/scale.md`.
"""

with DAG(
    dag_id="journeys_build_partitioned",
    description="Full rebuild in partitions mapped over the workers",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=ZoneInfo(CFG.timezone)),
    catchup=False,
    max_active_runs=1,
    default_args=orc.default_args(RULES, CFG.timezone),
    params={
        "run_date": Param(None, type=["null", "string"], format="date",
                          description="Build this date (YYYY-MM-DD) instead of the day before the run."),
        "partitions": Param(RULES.build_partitions, type="integer", minimum=1,
                            description="At most this many partitions (one mapped task each)."),
        "config_file": Param(None, type=["null", "string"],
                             description="Council config file; default the deployment's JOURNEYS_CONFIG_FILE."),
    },
    tags=["council-journeys", "build", "publish", "partitioned"],
    doc_md=PARTITIONED_DOC,
) as journeys_build_partitioned:

    @task
    def plan_partitions(**context) -> list[dict]:
        """Bring staging to the run date, resolve identity, assign records to partitions."""
        from pipeline.config import load_config
        from pipeline.partitions import plan_partitions as plan
        from pipeline.stages import sources_landed, stage_source

        config_file = orc.council_config_file(context["params"])
        cfg = load_config(config_file)
        run_date = orc.run_date_for(context, cfg.timezone)
        landed = sources_landed(run_date, config_file=config_file)
        for source in orc.stale_sources(cfg.warehouse_url, run_date):
            stage_source(source, run_date, config_file=config_file)
        return plan(run_date, int(context["params"]["partitions"]), config_file=config_file,
                    missing_sources=sorted(s for s, ok in landed.items() if not ok))

    @task(map_index_template="{{ partition_label }}")
    def build_partition(partition: dict, **context) -> dict:
        """Assemble one partition's journeys into the run's work schema."""
        from airflow.sdk import get_current_context

        from pipeline.partitions import build_partition as build

        get_current_context()["partition_label"] = (f"{partition['partition'] + 1} of {partition['partitions']}: "
                                                    + ", ".join(partition["services"]))[:200]
        return build(partition["run_date"], partition["run_id"], partition["partition"],
                     config_file=orc.council_config_file(context["params"]))

    @task(outlets=[orc.PUBLISHED])
    def finalise(built: list[dict], *, params=None, outlet_events=None) -> dict:
        """Measures, validation and publication from every partition's journeys."""
        from pipeline.partitions import finalise_partitions

        first = list(built)[0]
        summary = finalise_partitions(first["run_date"], first["run_id"],
                                      config_file=orc.council_config_file(params))
        keep = ("run_id", "run_date", "status", "partitions", "journeys", "validation_outcome", "data_docs_path",
                "table_hashes")
        result = {key: summary.get(key) for key in keep}
        outlet_events[orc.PUBLISHED].extra = result
        return result

    # A DuckDB file takes one writer process at a time: its partitions queue.
    one_at_a_time = {"max_active_tis_per_dagrun": 1} if ON_DUCKDB else {}
    finalise(build_partition.override(**one_at_a_time).expand(partition=plan_partitions()))
