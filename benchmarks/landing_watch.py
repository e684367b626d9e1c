"""The landing watcher on big landing folders: prints scan time and state size.

Not a test (timings depend on the machine). The triggerer lists every landing folder
each ``orchestration.poke_interval_seconds`` and keeps the announced files in the
asset state store, whose values Airflow warns about past 64 KB
(``[state_store] max_value_storage_bytes``): this shows how many files a folder can
hold before that matters. Run e.g. ``.venv/bin/python benchmarks/landing_watch.py --files 365 3650``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pipeline.orchestration import changed_files, scan_landing

STATE_WARNING_BYTES = 65535


def measure(files: int, folders: int = 2) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [Path(tmp) / f"source_{i}" for i in range(folders)]
        for d in dirs:
            d.mkdir()
            for day in range(files):
                (d / f"2026-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}-{day:05d}.csv").write_text("a,b\n1,2\n")
        start = time.perf_counter()
        seen = scan_landing([str(d) for d in dirs], settle_seconds=0, now=time.time())
        scan = time.perf_counter() - start
        start = time.perf_counter()
        assert changed_files(seen, seen) == []
        compare = time.perf_counter() - start
    return {"files_per_folder": files, "folders": folders, "scan_ms": round(scan * 1000, 2),
            "compare_ms": round(compare * 1000, 3), "state_bytes": len(json.dumps(seen)),
            "state_bytes_per_folder": len(json.dumps(seen)) // folders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[30, 365, 1000, 3650])
    args = parser.parse_args()
    for n in args.files:
        row = measure(n)
        row["over_state_warning"] = row["state_bytes"] > STATE_WARNING_BYTES
        print(json.dumps(row))


if __name__ == "__main__":
    main()
