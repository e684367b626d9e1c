"""How long does Write-Audit-Publish take at ~1M rows per table? Prints figures only.

    .venv/bin/python benchmarks/publish_scale.py [rows] [warehouse_url ...]

Default: 1,000,000 journeys and journey events into a fresh DuckDB file (and into
PostgreSQL when a URL is given, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench
-- the database must exist and will be overwritten). The audit is a no-op here:
benchmarks/validation_scale.py measures the suites.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from validation_scale import SAMPLE_DIR, replicate, typed_csv  # noqa: E402

from pipeline.warehouse.hashing import table_hashes  # noqa: E402
from pipeline.warehouse.io import create_engine  # noqa: E402
from pipeline.warehouse.publish import publish  # noqa: E402
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES  # noqa: E402


def frames(rows: int) -> dict:
    """Big journey tables; the measure tables as in the test samples (they stay small)."""
    return {name: replicate(name, rows) if name in ("journey", "journey_event")
            else typed_csv(SAMPLE_DIR / f"{name}.csv", PUBLISHED_TABLES[name]) for name in BUILD_OUTPUTS}


def main(rows: int, urls: list[str]) -> None:
    tables = frames(rows)
    t = time.perf_counter()
    table_hashes({k: tables[k] for k in ("journey", "journey_event")}, PUBLISHED_TABLES)
    print(f"content hash of journey + journey_event ({rows:,} rows each): {time.perf_counter() - t:.1f} s")
    for url in urls:
        engine = create_engine(url)
        for run in ("bench-1", "bench-2"):
            t = time.perf_counter()
            publish(engine, tables, None, {"run_id": run, "as_of": "2026-11-26 23:59:59",
                                           "started_at": "2026-11-27 02:30:00", "status": "succeeded"})
            print(f"publish {run} to {url.split(':')[0]}: {time.perf_counter() - t:.1f} s")
        engine.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    targets = sys.argv[2:] or [f"duckdb:///{tempfile.mkdtemp()}/bench.duckdb"]
    main(n, targets)
