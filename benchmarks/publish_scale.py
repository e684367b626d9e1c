"""How long does Write-Audit-Publish take at ~1M rows per table? Prints figures only.

    .venv/bin/python benchmarks/publish_scale.py [rows] [warehouse_url ...]

Default: 1,000,000 journeys and journey events into a fresh DuckDB file (and into
PostgreSQL when a URL is given, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench
-- the database must exist and will be overwritten): two full publishes, then
incremental publishes (``publish_delta``) rewriting 1% and 5% of the journeys and their
events (deleted by key and inserted again with a changed value, as an open journey that
ages). The audit is a no-op here (benchmarks/validation_scale.py measures the suites),
but a delta publish still counts keys and references after the swap in SQL.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from validation_scale import SAMPLE_DIR, replicate, typed_csv  # noqa: E402

from pipeline.validation.suites import REFERENCES  # noqa: E402
from pipeline.warehouse.delta import TableDelta  # noqa: E402
from pipeline.warehouse.hashing import table_hashes  # noqa: E402
from pipeline.warehouse.io import create_engine  # noqa: E402
from pipeline.warehouse.publish import publish, publish_delta  # noqa: E402
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES  # noqa: E402


def frames(rows: int) -> dict:
    """Big journey tables; the measure tables as in the test samples (they stay small)."""
    return {name: replicate(name, rows) if name in ("journey", "journey_event")
            else typed_csv(SAMPLE_DIR / f"{name}.csv", PUBLISHED_TABLES[name]) for name in BUILD_OUTPUTS}


def deltas(tables: dict, share: float) -> dict[str, TableDelta]:
    """Every 1/share-th journey and its events rewritten (deleted by key, inserted with
    one value changed); the measure tables replaced whole, as a night does."""
    journey, events = tables["journey"], tables["journey_event"]
    ids = journey["journey_id"].iloc[::round(1 / share)]
    rewritten = journey[journey["journey_id"].isin(ids)]
    touched = events[events["journey_id"].isin(ids)]
    out = {name: TableDelta(inserted=frame) for name, frame in tables.items()}
    out["journey"] = TableDelta(inserted=rewritten.assign(e2e_hours=rewritten["e2e_hours"] + 24),
                                deleted=rewritten[["journey_id"]])
    out["journey_event"] = TableDelta(inserted=touched.assign(team="Repairs North"),
                                      deleted=touched[["journey_id", "seq"]])
    return out


def main(rows: int, urls: list[str]) -> None:
    tables = frames(rows)
    t = time.perf_counter()
    table_hashes({k: tables[k] for k in ("journey", "journey_event")}, PUBLISHED_TABLES)
    print(f"content hash of journey + journey_event ({rows:,} rows each): {time.perf_counter() - t:.1f} s")
    for url in urls:
        engine = create_engine(url)
        for n, run in enumerate(("bench-1", "bench-2"), start=1):
            t = time.perf_counter()
            publish(engine, tables, None, {"run_id": run, "as_of": "2026-11-26 23:59:59",
                                           "started_at": f"2026-11-2{n} 02:30:00", "status": "succeeded"})
            print(f"publish {run} to {url.split(':')[0]}: {time.perf_counter() - t:.1f} s")
        base = "bench-2"
        for n, share in enumerate((0.01, 0.05), start=3):
            night, run = deltas(tables, share), f"bench-{n}"
            t = time.perf_counter()
            publish_delta(engine, night, None, {"run_id": run, "as_of": "2026-11-27 23:59:59",
                                                "started_at": f"2026-11-{25 + n} 02:30:00", "status": "succeeded"},
                          base_run_id=base, references=REFERENCES)
            print(f"publish_delta {run} to {url.split(':')[0]}, {len(night['journey'].inserted):,} journeys and "
                  f"{len(night['journey_event'].inserted):,} events rewritten: {time.perf_counter() - t:.1f} s")
            base = run
        engine.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    targets = sys.argv[2:] or [f"duckdb:///{tempfile.mkdtemp()}/bench.duckdb"]
    main(n, targets)
