"""Write-Audit-Publish on DuckDB and PostgreSQL: atomic, recoverable, idempotent."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.errors import PublishError, ValidationFailed
from pipeline.warehouse import publish as wap
from pipeline.warehouse.io import create_engine, read_frame
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES, pipeline_run, validation_result

from testkit.warehouse import kill_inside_publish, published, published_hashes, wap_schemas



def runs(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, pipeline_run).sort_values("run_id").reset_index(drop=True)


def _result_row(run_id: str, expectation: str, unexpected=None) -> dict:
    return {"run_id": run_id, "suite": "source_crm_cases", "expectation": expectation, "critical": False,
            "success": True, "unexpected_count": unexpected, "details": None}


def copy(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.copy() for name, frame in frames.items()}


def test_publish_replaces_the_outputs_and_records_the_run(engine, outputs, outputs_v2, run_row):
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    assert published_hashes(engine) == first
    inputs = pd.DataFrame([{"run_id": "run-2", "source": "crm_cases", "file": "crm_cases/2026-11-27.csv",
                            "sha256": "ab" * 32, "delivery": "new", "rows_read": 10, "rows_staged": 9,
                            "rows_quarantined": 1}])
    source_rows = pd.DataFrame([_result_row("run-2", "a(x)", 0), _result_row("run-2", "b(y)")])
    audit_rows = [_result_row("run-2", "c(z)", 3)]
    second = wap.publish(engine, {**outputs_v2, "pipeline_run_input": inputs, "validation_result": source_rows},
                         lambda frames: audit_rows, run_row("run-2"))
    assert second != first and published_hashes(engine) == second
    assert len(published(engine)["journey"]) == 5
    recorded = runs(engine)
    assert list(recorded["run_id"]) == ["run-1", "run-2"]
    assert json.loads(recorded.loc[1, "table_hashes"]) == second
    with engine.connect() as conn:
        results = read_frame(conn, validation_result, where="run_id = 'run-2'")
        assert sorted(results["expectation"]) == ["a(x)", "b(y)", "c(z)"]
        assert results.set_index("expectation")["unexpected_count"].isna().tolist() == [False, True, False]
        assert conn.execute(sa.text("SELECT count(*) FROM published.pipeline_run_input")).scalar_one() == 1
    assert wap_schemas(engine) == []


def test_same_frames_publish_identical_tables_and_hashes(engine, outputs, run_row):
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    before = published(engine)
    second = wap.publish(engine, copy(outputs), None, run_row("run-2"))
    assert first == second
    after = published(engine)
    for name in BUILD_OUTPUTS:
        key = [c.name for c in PUBLISHED_TABLES[name].primary_key.columns]
        pd.testing.assert_frame_equal(before[name].sort_values(key).reset_index(drop=True),
                                      after[name].sort_values(key).reset_index(drop=True))


def test_a_failed_audit_leaves_the_previous_publication_intact(engine, outputs, outputs_v2, run_row):
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    seen = {}

    def audit(frames):
        seen.update(frames)
        raise ValidationFailed("critical expectations failed")

    with pytest.raises(ValidationFailed):
        wap.publish(engine, outputs_v2, audit, run_row("run-2"))
    assert len(seen["journey"]) == 5  # the audit saw the new frames, read back from the WAP schema
    assert published_hashes(engine) == first
    assert list(runs(engine)["run_id"]) == ["run-1"]
    assert wap_schemas(engine) == []


def test_the_audit_runs_the_real_output_suites(duckdb_url, outputs, run_row):
    from pipeline.config import load_config
    from pipeline.validation.validate import validate_outputs

    rules = load_config(environ={}).validation
    engine = create_engine(duckdb_url)
    wap.publish(engine, outputs, lambda frames: validate_outputs(frames, rules, 5, "run-1"), run_row("run-1"))
    with engine.connect() as conn:
        results = read_frame(conn, validation_result)
    assert len(results) > 150 and results["success"].all()
    assert set(results["suite"]) == {f"published_{t}" for t in BUILD_OUTPUTS}


def test_stale_wap_schemas_are_dropped_by_the_next_publish(engine, outputs, run_row):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA wap_killed_run")
        conn.exec_driver_sql("CREATE TABLE wap_killed_run.journey (journey_id VARCHAR)")
    wap.publish(engine, outputs, None, run_row("run-1"))
    assert wap_schemas(engine) == []


def test_readers_see_the_old_publication_until_commit(warehouse_url, engine, outputs, outputs_v2, run_row):
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    reader = create_engine(warehouse_url)
    during = {}

    def look(conn):  # inside the publishing transaction, from another connection
        during.update(published_hashes(reader))
        with reader.connect() as other:
            during["runs"] = other.execute(sa.text("SELECT count(*) FROM published.pipeline_run")).scalar_one()

    second = wap.publish(engine, outputs_v2, None, run_row("run-2"), before_commit=look)
    assert during.pop("runs") == 1
    assert during == first  # every table old: never a mix
    assert published_hashes(reader) == second
    reader.dispose()


def test_kill_9_while_publishing_leaves_the_old_publication_and_the_next_run_recovers(
        warehouse_url, outputs, outputs_v2, run_row, tmp_path):
    engine = create_engine(warehouse_url)
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    engine.dispose()  # a DuckDB file has one writer process: let the child open it

    kill_inside_publish(warehouse_url, copy(outputs_v2), run_row("run-2"),
                        "wap.publish(create_engine(url), payload, None, run, before_commit=hold)", tmp_path)

    engine = create_engine(warehouse_url)
    assert published_hashes(engine) == first
    assert list(runs(engine)["run_id"]) == ["run-1"]
    assert wap_schemas(engine) == [wap.wap_schema("run-2")]  # written and committed before the kill
    third = wap.publish(engine, outputs_v2, None, run_row("run-3"))
    assert published_hashes(engine) == third != first
    assert list(runs(engine)["run_id"]) == ["run-1", "run-3"]
    assert wap_schemas(engine) == []
    engine.dispose()


def test_a_missing_output_is_refused_before_anything_is_written(engine, outputs, run_row):
    del outputs["measure_wip"]
    with pytest.raises(PublishError, match=r"missing \['measure_wip'\]"):
        wap.publish(engine, outputs, None, run_row("run-1"))
    assert wap_schemas(engine) == []


def test_unexpected_errors_become_a_publish_error_without_secrets(duckdb_url, outputs, run_row):
    engine = create_engine(duckdb_url)

    def audit(frames):
        raise RuntimeError("cannot reach postgresql://writer:hunter2-pw@db/warehouse with key s3cret-hmac")

    with pytest.raises(PublishError) as err:
        wap.publish(engine, outputs, audit, run_row("run-1"), secrets=["s3cret-hmac"])
    message = str(err.value)
    assert "run-1" in message and "RuntimeError" in message
    assert "hunter2-pw" not in message and "s3cret-hmac" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_record_run_records_a_failed_run_and_can_re_record_it(engine, run_row):
    rows = [{**_result_row("run-9", "a(x)"), "critical": True, "success": False, "unexpected_count": 2}]
    wap.record_run(engine, run_row("run-9", status="failed", error="boom with s3cret-hmac"),
                   validation_rows=rows, secrets=["s3cret-hmac"])
    wap.record_run(engine, run_row("run-9", status="failed", error="boom again"), validation_rows=rows)
    recorded = runs(engine)
    assert list(recorded["error"]) == ["boom again"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM published.validation_result")).scalar_one() == 1


def test_record_run_redacts_the_error(duckdb_url, run_row):
    engine = create_engine(duckdb_url)
    wap.record_run(engine, run_row("run-9", status="failed", error="boom with s3cret-hmac"), secrets=["s3cret-hmac"])
    assert runs(engine).loc[0, "error"] == "boom with ***"


def test_run_row_with_unknown_keys_is_refused(duckdb_url, outputs, run_row):
    engine = create_engine(duckdb_url)
    with pytest.raises(PublishError, match="not pipeline_run columns: \\['colour'\\]"):
        wap.publish(engine, outputs, None, run_row("run-1", colour="red"))
    assert wap_schemas(engine) == []


def test_wap_schema_names_are_plain_identifiers():
    assert wap.wap_schema("2026-11-27T02:30:00Z-Ab12") == "wap_2026_11_27t02_30_00z_ab12"
