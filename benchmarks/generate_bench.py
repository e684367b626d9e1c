"""How fast the synthetic council generator is: rows written per second.

    .venv/bin/python benchmarks/generate_bench.py                        # small, seconds
    .venv/bin/python benchmarks/generate_bench.py --people 110000 --days 365   # ~1M rows

Prints rows per source, seconds per stage, rows/s (wall clock and CPU: on a shared
machine the wall clock mostly measures the neighbours) and peak memory. Figures for this
machine are recorded in docs/generator.md.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from pipeline.generate import generate_council


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the output here (default: a temporary folder)")
    args = parser.parse_args()

    marks: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            marks[stage] = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        summary = generate_council(out, args.people, args.days, args.seed, progress=progress)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    rows = sum(summary.row_counts.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"people={args.people} days={args.days} seed={args.seed} journeys={summary.journeys}")
    for source, n in summary.row_counts.items():
        print(f"  {source:16s} {n:>10,d} rows")
    print(f"  {'total':16s} {rows:>10,d} rows")
    print("seconds from start: " + ", ".join(f"{stage} {t:.1f}" for stage, t in marks.items()))
    print(f"{seconds:.1f} s wall, {cpu:.1f} s CPU: {rows / seconds:,.0f} rows/s wall, {rows / cpu:,.0f} rows/s CPU;"
          f" peak memory {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
