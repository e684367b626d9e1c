"""journeys health: each rule on hand-made run logs, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from pipeline.config import SOURCES, HealthRules
from pipeline.health import Problem, check_health, format_problems
from pipeline.warehouse import io
from pipeline.warehouse.tables import pipeline_run, pipeline_run_input, validation_result

NOW = dt.datetime(2026, 11, 27, 9, 0)
RULES = HealthRules(max_run_age_hours=36, max_quarantine_rate=0.05, max_source_age_hours=48)


def run(run_id: str, hours_ago: float, *, status: str = "succeeded", outcome: str | None = "passed",
        read: int = 400, quarantined: int = 0, error: str | None = None) -> dict:
    started = NOW - dt.timedelta(hours=hours_ago)
    return {"run_id": run_id, "as_of": started.replace(hour=0, minute=0) - dt.timedelta(microseconds=1),
            "started_at": started, "ended_at": started + dt.timedelta(minutes=5), "status": status,
            "mode": "full", "inputs": "[]", "rows_read": read, "rows_quarantined": quarantined,
            "validation_outcome": outcome, "data_docs_path": None, "table_hashes": "{}", "timings": "{}",
            "missing_sources": "", "code_version": "0.1.0", "error": error}


def inputs(run_id: str, *, delivery: str = "new", quarantined: dict[str, int] | None = None,
           sources: tuple[str, ...] = SOURCES) -> list[dict]:
    quarantined = quarantined or {}
    return [{"run_id": run_id, "source": s, "file": f"{s}/2026-11-26.csv", "sha256": "0" * 64,
             "delivery": delivery, "rows_read": 100, "rows_staged": 100 - quarantined.get(s, 0),
             "rows_quarantined": quarantined.get(s, 0)} for s in sources]


def publish_logs(url: str, runs: list[dict], run_inputs: list[dict] = (), results: list[dict] = ()) -> None:
    engine = io.create_engine(url)
    with engine.begin() as conn:
        io.create_tables(conn, [pipeline_run, pipeline_run_input, validation_result])
        for table, rows in ((pipeline_run, runs), (pipeline_run_input, run_inputs), (validation_result, results)):
            if rows:
                conn.execute(table.insert(), list(rows))
    engine.dispose()


def checks(problems: list[Problem]) -> list[str]:
    return [p.check for p in problems]


def test_recent_clean_run_is_healthy(warehouse_url):
    publish_logs(warehouse_url, [run("r1", 3)], inputs("r1"))
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert problems == []
    assert format_problems(problems).startswith("healthy")


def test_stale_last_success_is_reported_with_its_age_and_limit(warehouse_url):
    publish_logs(warehouse_url, [run("r1", 40)], inputs("r1"))
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems) == ["run_age"]
    assert "limit 36 h" in problems[0].message and "39.9 h ago" in problems[0].message


def test_failed_runs_only_means_no_success_and_names_the_error(warehouse_url):
    publish_logs(warehouse_url, [run("r1", 2, status="failed", outcome=None, error="ExtractError: crm_cases/x.csv")],
                 inputs("r0"))
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems)[:2] == ["run_age", "last_run"]
    assert "no successful run" in problems[0].message
    assert "ExtractError: crm_cases/x.csv" in problems[1].message


def test_failed_validation_lists_the_critical_expectations_only(warehouse_url):
    results = [
        {"run_id": "r2", "suite": "published_journey", "expectation": "expect_column_values_to_not_be_null(started_at)",
         "critical": True, "success": False, "unexpected_count": 3, "details": None},
        {"run_id": "r2", "suite": "published_journey", "expectation": "expect_table_row_count_to_be_between",
         "critical": False, "success": False, "unexpected_count": None, "details": None},
        {"run_id": "r2", "suite": "published_journey_event", "expectation": "expect_column_to_exist(seq)",
         "critical": True, "success": True, "unexpected_count": 0, "details": None},
    ]
    publish_logs(warehouse_url, [run("r1", 20), run("r2", 2, status="failed", outcome="failed")],
                 inputs("r1"), results)
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems) == ["validation"]
    message = problems[0].message
    assert "r2" in message and "not_be_null(started_at) (3 rows)" in message
    assert "row_count" not in message and "column_to_exist" not in message


def test_quarantine_rate_is_judged_per_source_of_the_last_run(warehouse_url):
    publish_logs(warehouse_url, [run("r1", 3)], inputs("r1", quarantined={"crm_cases": 10, "call_logs": 5}))
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems) == ["quarantine_rate"]
    assert problems[0].message.startswith("crm_cases: 10 of 100 rows quarantined (10.0%)")


def test_quarantine_rate_falls_back_to_run_totals_without_input_rows(duckdb_url):
    publish_logs(duckdb_url, [run("r1", 3, read=200, quarantined=20)])
    problems = [p for p in check_health(duckdb_url, RULES, now=NOW) if p.check == "quarantine_rate"]
    assert [p.message[:22] for p in problems] == ["all sources: 20 of 200"]


def test_a_source_that_only_redelivers_old_files_goes_stale(warehouse_url):
    old = inputs("r1", sources=("works_orders",))
    recent = inputs("r2", sources=("crm_cases", "crm_case_events", "call_logs"))
    recent += inputs("r2", delivery="duplicate", sources=("works_orders",))
    publish_logs(warehouse_url, [run("r1", 60), run("r2", 3)], old + recent)
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems) == ["source_age"]
    assert problems[0].message.startswith("works_orders: no new file since the run of 2026-11-24 21:00 UTC")


def test_a_source_never_delivered_is_named(duckdb_url):
    publish_logs(duckdb_url, [run("r1", 3)], inputs("r1", sources=("crm_cases", "crm_case_events", "call_logs")))
    problems = check_health(duckdb_url, RULES, now=NOW)
    assert [p.message for p in problems] == ["works_orders: no new file has ever been read"]


def test_empty_run_log_is_a_problem_not_a_crash(warehouse_url):
    publish_logs(warehouse_url, [])
    assert [(p.check, p.message) for p in check_health(warehouse_url, RULES, now=NOW)] == [
        ("run_age", "no finished run is recorded in pipeline_run")]


def test_a_running_run_is_not_judged_yet(duckdb_url):
    publish_logs(duckdb_url, [run("r1", 3), run("r2", 0.1, status="running", outcome=None)], inputs("r1"))
    assert check_health(duckdb_url, RULES, now=NOW) == []


def test_warehouse_without_tables_says_nothing_was_published(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:  # an existing but empty database
        conn.execute(sa.text("SELECT 1"))
    engine.dispose()
    problems = check_health(warehouse_url, RULES, now=NOW)
    assert checks(problems) == ["warehouse"]
    assert "no published.pipeline_run table" in problems[0].message


def test_missing_duckdb_file_is_reported_and_not_created(tmp_path):
    path = tmp_path / "nowhere" / "journeys.duckdb"
    problems = check_health(f"duckdb:///{path}", RULES, now=NOW)
    assert checks(problems) == ["warehouse"] and str(path) in problems[0].message
    assert not path.exists()


def test_unreachable_postgres_is_reported_without_its_password():
    url = "postgresql+psycopg://journeys:s3cret-pw@127.0.0.1:1/journeys"
    problems = check_health(url, RULES, now=NOW)
    assert checks(problems) == ["warehouse"]
    assert "cannot read the warehouse" in problems[0].message
    assert "s3cret-pw" not in problems[0].message


def test_aware_now_is_compared_in_utc(duckdb_url):
    publish_logs(duckdb_url, [run("r1", 35)], inputs("r1"))
    london_now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2)))  # 11:00 UTC
    assert checks(check_health(duckdb_url, RULES, now=london_now)) == ["run_age"]
    assert check_health(duckdb_url, RULES, now=NOW) == []


def test_format_problems_prints_one_line_each():
    text = format_problems([Problem("run_age", "stale"), Problem("source_age", "works_orders: old")])
    assert text.splitlines() == ["2 problems found:", "  [run_age] stale", "  [source_age] works_orders: old"]
