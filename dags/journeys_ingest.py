"""Ingest DAGs, one per source system: stage a system's extracts when they land.

Wiring only: the work is ``pipeline.stages.stage_source`` and the rules are in
``pipeline.orchestration``. Heavy modules are imported inside the tasks.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param, task
from airflow.sdk.exceptions import AirflowSkipException

from pipeline import orchestration as orc

CFG = orc.load_dag_config()
RULES = CFG.orchestration

DOC = """
### Ingest {system}: {sources}

**Starts** when the triggerer sees a new or re-delivered file in
`{folders}` (asset `journeys_landing_{system}`, watched by
`pipeline.orchestration.LandingFilesTrigger`), and every night at `{cron}`
({tz}) as a fallback.

**Does**: stages each extract for the run date (read through the council's mapping,
validate, quarantine bad rows, replace the staging table), then announces asset
`journeys_staged_{system}` with the run date, which the `journeys_build` DAG waits for.
If no extract for the run date has landed, the announce task is skipped and nothing is
announced: the build waits for the deadline. The nightly fallback does not announce a
run date again once the watcher's run has (that would build the date twice).

**Run date**: the day before the run's moment in {tz} (files delivered on day D carry
day D-1), or the `run_date` param of a manual run. A rerun or backfill of the same run
date stages the same files (nothing after the run date is read).

**On failure**: {retries} retries with doubling delay, then the failure notifier (log, and
the `{webhook}` webhook connection when it exists). Runbook: `docs/runbook.md`.
"""


def ingest_dag(system: str, sources: tuple[str, ...]) -> DAG:
    landing = orc.landing_asset(system, CFG.landing_dir, RULES)
    staged = orc.staged_asset(system)
    with DAG(
        dag_id=f"journeys_ingest_{system}",
        description=f"Stage {', '.join(sources)} when an extract lands",
        schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(RULES.schedule_cron, timezone=CFG.timezone),
                                     assets=landing),
        start_date=dt.datetime(2024, 1, 1, tzinfo=ZoneInfo(CFG.timezone)),
        catchup=False,
        max_active_runs=1,
        default_args=orc.default_args(RULES, CFG.timezone),
        params={"run_date": Param(None, type=["null", "string"], format="date",
                                  description="Stage for this date (YYYY-MM-DD) instead of yesterday.")},
        tags=["council-journeys", "ingest", system],
        doc_md=DOC.format(system=system, sources=", ".join(sources), cron=RULES.schedule_cron, tz=CFG.timezone,
                          folders="`, `".join(f"<landing>/{s}/" for s in sources), retries=RULES.retries,
                          webhook=RULES.webhook_conn_id),
    ) as dag:

        @task
        def resolve_run_date(**context) -> str:
            """The partition key every task of this run uses."""
            return orc.run_date_for(context, CFG.timezone).isoformat()

        @task
        def stage(source: str, run_date: str) -> dict:
            """Ingest, validate and stage one extract; returns a JSON summary."""
            from pipeline.stages import stage_source

            return stage_source(source, run_date, config_file=orc.config_file())

        @task(outlets=[staged])
        def announce(run_date: str, summaries: list[dict], *, outlet_events=None, asset_state_store=None,
                     dag_run=None) -> dict:
            """Tell the build that this system is staged for the run date (once per date)."""
            from pipeline.stages import sources_landed

            landed = sources_landed(run_date, config_file=orc.config_file())
            missing = [s for s in sources if not landed.get(s)]
            if missing:
                raise AirflowSkipException(f"no extract for {run_date} yet from {', '.join(missing)}")
            state = asset_state_store[staged]
            run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
            if orc.announcement_redundant(run_type, orc.parse_run_date(run_date), state.get("announced_run_date")):
                raise AirflowSkipException(f"{run_date} was already announced when its extracts landed")
            counts = {s["source"]: {k: s[k] for k in ("files", "rows_read", "rows_staged", "rows_quarantined")}
                      for s in summaries}
            outlet_events[staged].extra = {"run_date": run_date, "sources": counts}
            state.set("announced_run_date", run_date)
            return outlet_events[staged].extra

        run_date = resolve_run_date()
        summaries = [stage.override(task_id=f"stage_{source}")(source, run_date) for source in sources]
        announce(run_date, summaries)
    return dag


for _system, _sources in orc.SYSTEMS.items():
    globals()[f"journeys_ingest_{_system}"] = ingest_dag(_system, _sources)
