"""The example analyst queries in docs/queries.sql run on DuckDB and PostgreSQL."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import REPO_DIR
from pipeline.warehouse.io import create_engine
from tests.report.conftest import build_fixture_warehouse

QUERIES_FILE = REPO_DIR / "docs" / "queries.sql"
EXPECTED = {"failure_demand_by_service_this_month", "capability_highways_potholes", "journeys_open_over_90_days",
            "top_handoff_sequences", "failure_demand_by_channel_last_13_weeks", "work_in_progress_by_age_band",
            "first_contact_resolution_by_month", "latest_runs"}


def parse_queries(text: str) -> dict[str, str]:
    """``-- name: x`` blocks -> {name: sql}."""
    parts = re.split(r"^-- name: *(\w+) *$", text, flags=re.M)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2])}


QUERIES = parse_queries(QUERIES_FILE.read_text(encoding="utf-8"))


def test_queries_are_named_described_and_read_published_tables_only():
    assert set(QUERIES) == EXPECTED
    for name, sql in QUERIES.items():
        assert sql.startswith("-- "), f"{name}: say what it answers in a comment first"
        assert sql.rstrip().endswith(";"), name
        tables = set(re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", sql, flags=re.I))
        assert all(t.startswith("published.") for t in tables if "." in t), (name, tables)
        assert not re.search(r"\b(staging|identity|quarantine)\.", sql), name


def _run(url: str) -> dict[str, pd.DataFrame | Exception]:
    engine = create_engine(url)
    results: dict[str, pd.DataFrame | Exception] = {}
    try:
        for name, sql in QUERIES.items():
            try:
                with engine.connect() as conn:
                    result = conn.execute(sa.text(sql))
                    results[name] = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
            except sa.exc.SQLAlchemyError as exc:
                results[name] = exc
    finally:
        engine.dispose()
    return results


def test_every_query_returns_rows(warehouse_url):
    build_fixture_warehouse(warehouse_url)
    results = _run(warehouse_url)
    problems = {name: (str(r).splitlines()[0] if isinstance(r, Exception) else "no rows")
                for name, r in results.items() if isinstance(r, Exception) or r.empty}
    assert problems == {}
    check = results  # a few answers pinned down: they show the rules the queries follow
    assert check["journeys_open_over_90_days"]["journey_id"].tolist() == ["J-P055"]
    assert check["capability_highways_potholes"]["seq"].tolist() == list(range(1, 13))
    paths = check["top_handoff_sequences"]
    assert paths[["team_path", "journeys"]].values.tolist() == [
        ["Contact Centre > Highways Hub > Highways Gang A > Highways Hub", 9],
        ["Contact Centre > Highways Hub > Highways Gang A", 6],
    ]  # the chased paths (3 and 1 journeys) are too small to show
    this_month = check["failure_demand_by_service_this_month"].set_index("service")
    assert (this_month["suppressed_cells"] > 0).any()


@pytest.mark.parametrize("sql", ["SELECT 1 FROM published.journey;"])
def test_parser_keeps_each_query_whole(sql):
    text = f"-- header\n\n-- name: a\n-- what a does\n{sql}\n\n-- name: b\n-- what b does\n{sql}\n"
    assert parse_queries(text) == {"a": f"-- what a does\n{sql}", "b": f"-- what b does\n{sql}"}
