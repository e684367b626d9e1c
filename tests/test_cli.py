"""The `journeys` command: the documented commands and exit codes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    result = runner.invoke(app, ["generate", "--out", str(out), "--people", "80", "--days", "30",
                                 "--seed", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_run_health_report_and_export(council, tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    result = runner.invoke(app, ["run", "--landing", str(council / "landing"), "--warehouse", url,
                                 "--as-of", "2026-11-20", "--quiet"])
    assert result.exit_code == 0, result.output
    health = runner.invoke(app, ["health", "--warehouse", url])
    assert health.exit_code in (0, 6), health.output  # stale sources are a finding, not a crash
    report = runner.invoke(app, ["report", "--warehouse", url, "--out", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "report" / "index.html").exists()
    xes = runner.invoke(app, ["export", "--format", "xes", "--out", str(tmp_path / "log.xes"), "--warehouse", url])
    assert xes.exit_code == 0 and (tmp_path / "log.xes").exists(), xes.output


def test_configuration_error_exits_2(tmp_path):
    bad = tmp_path / "council.yaml"
    bad.write_text("journeys:\n  reopen_window_dayz: 3\n")
    result = runner.invoke(app, ["run", "--config", str(bad), "--as-of", "2026-11-20", "--quiet"])
    assert result.exit_code == 2
    assert "reopen_window_dayz" in result.output


def test_unreadable_extract_exits_3_naming_the_file(council, tmp_path):
    import shutil

    landing = tmp_path / "landing"
    shutil.copytree(council / "landing", landing)
    (landing / "call_logs" / "2026-11-20.csv").write_bytes(b"")
    result = runner.invoke(app, ["run", "--landing", str(landing), "--warehouse",
                                 f"duckdb:///{tmp_path / 'w.duckdb'}", "--as-of", "2026-11-20", "--quiet"])
    assert result.exit_code == 3
    assert "call_logs/2026-11-20.csv" in result.output


def test_bad_as_of_is_a_usage_error():
    result = runner.invoke(app, ["run", "--as-of", "20/11/2026", "--quiet"])
    assert result.exit_code == 2


def test_build_in_partitions_publishes_what_the_full_build_did(council, tmp_path, monkeypatch):
    import json

    import sqlalchemy as sa

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    monkeypatch.setenv("JOURNEYS_WAREHOUSE_URL", url)
    monkeypatch.setenv("JOURNEYS_LANDING_DIR", str(council / "landing"))
    monkeypatch.setattr("pipeline.runs.code_version", lambda: "test-version")
    assert runner.invoke(app, ["run", "--as-of", "2026-11-20", "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["build", "--as-of", "2026-11-20", "--partitions", "2"])
    assert result.exit_code == 0, result.output
    assert "partitions" in result.output
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT mode, table_hashes FROM published.pipeline_run ORDER BY started_at")).all()
    engine.dispose()
    assert [mode for mode, _ in runs] == ["full", "full"]
    assert json.loads(runs[1][1]) == json.loads(runs[0][1])
    assert runner.invoke(app, ["build", "--as-of", "2026-11-20", "--partitions", "0", "--quiet"]).exit_code == 2
