"""Build DAG: identity, journeys, measures, validation and publication for a run date.

Wiring only: the work is ``pipeline.stages.build`` and the deadline rule is
``pipeline.orchestration.plan_build``. Heavy modules are imported inside the tasks.
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
