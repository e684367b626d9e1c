"""A full rebuild, unpartitioned and in N partitions, on the same staged council.

    .venv/bin/python benchmarks/partitions_bench.py --people 33000 --partitions 4 --backends duckdb,postgresql

Generates a council (reused as ``pipeline_bench.py`` does), stages every source and
publishes it once, then times a full rebuild (``build(full=True)``) and the partitioned
build's three steps one after another in this process (``pipeline.partitions``): both
rebuild a populated warehouse, as a real full rebuild does. Prints wall and CPU seconds
per step, the serial total, and the wall time with one worker per partition (plan +
slowest partition + finalise; Airflow's scheduling and task start-up, a few seconds per
task, not included). Exits 1 when the two builds publish different tables. Figures go
in benchmarks/README.md; never a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pipeline_bench import END, council, land, warehouse


class Clock:
    """Wall and CPU seconds (every thread of this process, DuckDB's included) of each
    step: on a shared machine the CPU seconds are the steadier figure."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def time(self, step: str, call, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call(*args, **kwargs)
        self.wall[step] = round(time.perf_counter() - wall, 1)
        self.cpu[step] = round(time.process_time() - cpu, 1)
        return result


def bench_backend(backend: str, landing: Path, folder: Path, partitions: int) -> dict:
    from pipeline import partitions as part
    from pipeline.config import SOURCES
    from pipeline.stages import build, make_context, stage_source

    clock = Clock()
    with warehouse(backend, folder, "partitions") as url:
        def context():
            return make_context(END, warehouse_url=url, landing_dir=landing)

        ctx = context()
        for source in SOURCES:
            stage_source(source, END, ctx=ctx)
        build(END, ctx=context(), full=True)
        full = clock.time("full", build, END, ctx=context(), full=True)
        ctx = context()
        planned = clock.time("plan", part.plan_partitions, END, partitions, ctx=ctx)
        for d in planned:
            clock.time(f"partition {d['partition']}", part.build_partition, END, d["run_id"], d["partition"], ctx=ctx)
        split = clock.time("finalise", part.finalise_partitions, END, planned[0]["run_id"], ctx=ctx)
    steps = [s for s in clock.wall if s != "full"]
    slowest = max((s for s in steps if s.startswith("partition")), key=lambda s: clock.wall[s])
    return {
        "backend": backend, "journeys": full["journeys"], "equal": split["table_hashes"] == full["table_hashes"],
        "wall": clock.wall, "cpu": clock.cpu,
        "serial": {"wall": round(sum(clock.wall[s] for s in steps), 1),
                   "cpu": round(sum(clock.cpu[s] for s in steps), 1)},
        "one_worker_per_partition_wall": round(clock.wall["plan"] + clock.wall[slowest] + clock.wall["finalise"], 1),
        "services": {d["partition"]: (d["services"], d["records"]) for d in planned},
        "full_timings": full["timings"], "timings": split["timings"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=33000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--backends", default="duckdb")
    parser.add_argument("--out", type=Path, help="Work folder (the generated council is reused from it).")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="journeys-partitions-bench-"))
    source, generated = council(folder / "council", args.people, args.days, args.seed)
    landing = folder / "landing"
    land(source, landing, END)
    results = [bench_backend(b, landing, folder, args.partitions) for b in args.backends.split(",")]
    print(json.dumps({"people": args.people, "days": args.days, "partitions": args.partitions,
                      "council": generated, "results": results}, indent=2, default=str))
    return 0 if all(r["equal"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
