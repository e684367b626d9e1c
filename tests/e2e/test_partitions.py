"""A partitioned full build publishes exactly what ``build(full=True)`` publishes, and
nothing at all when a partition fails."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline import partitions
from pipeline.errors import PipelineError
from pipeline.stages import make_context, run_pipeline
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

from .conftest import END

pytestmark = pytest.mark.slow

IDENTITY = ("person_record", "person", "call_attribution")


@pytest.fixture(autouse=True)
def _one_code_version(monkeypatch):
    """The steps refuse to mix code versions; a commit landing mid-test must not count."""
    monkeypatch.setattr("pipeline.runs.code_version", lambda: "test-version")


def _frames(url: str, names, schema: str) -> dict[str, pd.DataFrame]:
    with io.create_engine(url).connect() as conn:
        frames = {n: io.read_frame(conn, t.metadata.tables[f"{schema}.{n}"]) for n in names}
    return {n: f.sort_values(list(f.columns), ignore_index=True) for n, f in frames.items()}


def _runs(url: str) -> pd.DataFrame:
    with io.create_engine(url).connect() as conn:
        return io.read_frame(conn, t.pipeline_run).sort_values("started_at", ignore_index=True)


def _work_schemas(url: str) -> list[str]:
    with io.create_engine(url).connect() as conn:
        return partitions._work_schemas(conn)


def test_a_partitioned_build_publishes_what_a_full_build_does(landing, warehouse_url):
    full = run_pipeline(END, warehouse_url=warehouse_url, landing_dir=landing)
    assert full["mode"] == "full" and full["status"] == "succeeded"
    identity = _frames(warehouse_url, IDENTITY, t.IDENTITY)

    ctx = make_context(END, warehouse_url=warehouse_url, landing_dir=landing)
    split = partitions.run_partitioned(END, 3, ctx=ctx)

    assert split["partitions"] == 3 and split["status"] == "succeeded"
    assert split["table_hashes"] == full["table_hashes"]
    assert (split["journeys"], split["events"], split["people"], split["proactive_works_orders"]) == (
        full["journeys"], full["events"], full["people"], full["proactive_works_orders"])
    for name, frame in _frames(warehouse_url, IDENTITY, t.IDENTITY).items():
        pd.testing.assert_frame_equal(frame, identity[name])
    run = _runs(warehouse_url).iloc[-1]
    assert (run["run_id"], run["status"], run["mode"]) == (split["run_id"], "succeeded", "full")
    assert json.loads(run["table_hashes"]) == full["table_hashes"]
    assert {f"journeys, partition {p} of 3" for p in (1, 2, 3)} <= set(json.loads(run["timings"]))
    assert _work_schemas(warehouse_url) == []  # dropped once published


def test_a_failing_partition_publishes_nothing_and_a_retry_completes_the_run(landing, duckdb_url, monkeypatch):
    full = run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    published = _frames(duckdb_url, t.BUILD_OUTPUTS, t.PUBLISHED)
    ctx = make_context(END, warehouse_url=duckdb_url, landing_dir=landing)
    planned = partitions.plan_partitions(END, 3, ctx=ctx)
    run_id = planned[0]["run_id"]
    assert [d["partition"] for d in planned] == [0, 1, 2] and {d["run_id"] for d in planned} == {run_id}
    json.dumps(planned)  # small and JSON-able: what goes to XCom

    partitions.build_partition(END, run_id, 0, ctx=ctx)
    real = partitions.stages.full_journeys

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(partitions.stages, "full_journeys", broken)
    with pytest.raises(RuntimeError, match="worker lost"):
        partitions.build_partition(END, run_id, 1, ctx=ctx)
    with pytest.raises(PipelineError, match=r"partitions \[1, 2\] of 3 have not been built; nothing is published"):
        partitions.finalise_partitions(END, run_id, ctx=ctx)

    after = _frames(duckdb_url, t.BUILD_OUTPUTS, t.PUBLISHED)
    for name, frame in published.items():
        pd.testing.assert_frame_equal(after[name], frame)
    run = _runs(duckdb_url).iloc[-1]
    assert (run["run_id"], run["status"]) == (run_id, "failed") and "partitions [1, 2]" in run["error"]
    assert _work_schemas(duckdb_url) == [partitions.work_schema(run_id)]  # kept for the retries

    monkeypatch.setattr(partitions.stages, "full_journeys", real)
    for partition in (1, 2, 1):  # a retried partition replaces its own rows
        partitions.build_partition(END, run_id, partition, ctx=ctx)
    done = partitions.finalise_partitions(END, run_id, ctx=ctx)
    assert done["table_hashes"] == full["table_hashes"]
    assert _runs(duckdb_url).iloc[-1][["run_id", "status"]].tolist() == [run_id, "succeeded"]


def test_steps_refuse_a_run_they_cannot_resume(landing, duckdb_url, monkeypatch):
    run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    ctx = make_context(END, warehouse_url=duckdb_url, landing_dir=landing)
    stale = partitions.plan_partitions(END, 2, ctx=ctx)[0]["run_id"]
    with pytest.raises(PipelineError, match="has partitions 0..1, not 2"):
        partitions.build_partition(END, stale, 2, ctx=ctx)
    with pytest.raises(PipelineError, match="was planned for 2026-11-20, not 2026-11-19"):
        partitions.build_partition("2026-11-19", stale, 0, ctx=make_context("2026-11-19", warehouse_url=duckdb_url))
    monkeypatch.setattr("pipeline.runs.code_version", lambda: "next-version")
    with pytest.raises(PipelineError, match="planned with code test-version, this is next-version"):
        partitions.build_partition(END, stale, 0, ctx=ctx)

    ctx = make_context(END, warehouse_url=duckdb_url, landing_dir=landing)
    fresh = partitions.plan_partitions(END, 2, ctx=ctx)[0]["run_id"]
    assert _work_schemas(duckdb_url) == [partitions.work_schema(fresh)]  # the next plan drops stale ones
    with pytest.raises(PipelineError, match="has no work schema"):
        partitions.build_partition(END, stale, 0, ctx=ctx)
    with io.create_engine(duckdb_url).connect() as conn:  # refusing to resume is not a failed run
        failed = conn.execute(sa.text("SELECT count(*) FROM published.pipeline_run WHERE status = 'failed'")).scalar()
    assert failed == 0
