"""How long do the GX suites take on ~1M rows per table? Prints figures; asserts nothing.

    .venv/bin/python benchmarks/validation_scale.py [rows]

Frames are the test samples (tests/data/publish/sample/) replicated with fresh keys,
plus a synthetic staged crm_cases frame with a few bad rows to quarantine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from testkit import SAMPLE_DIR, typed_csv  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.validation.validate import validate_outputs, validate_source  # noqa: E402
from pipeline.warehouse.tables import PUBLISHED_TABLES  # noqa: E402


def replicate(name: str, rows: int) -> pd.DataFrame:
    sample = typed_csv(SAMPLE_DIR / f"{name}.csv", PUBLISHED_TABLES[name])
    reps = -(-rows // len(sample))
    big = pd.concat([sample] * reps, ignore_index=True).iloc[:rows].copy()
    copy_no = np.repeat(np.arange(reps), len(sample))[:rows].astype(str)
    big["journey_id"] = big["journey_id"] + "-c" + copy_no
    return big


def staged_cases(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    opened = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300 * 86400, rows), unit="s")
    df = pd.DataFrame({
        "case_id": [f"C{i:08d}" for i in range(rows)],
        "customer_id": None, "forename": "Alex", "surname": "Smith", "email": None, "phone": None,
        "address_line1": None, "postcode": "LS6 1AA", "uprn": None, "date_of_birth": None,
        "service": "Highways", "category": "Pothole",
        "channel": rng.choice(["phone", "web", "email"], rows).astype(object),
        "location_uprn": None, "location_postcode": None, "location_usrn": None,
        "opened_at": opened, "closed_at": opened + pd.Timedelta(days=3),
        "status": "closed", "closure_reason": "resolved", "team": "Highways Hub", "duplicate_of": None,
        "updated_at": opened + pd.Timedelta(days=3),
        "source_file": "crm_cases/2026-11-26.csv", "source_line": np.arange(1, rows + 1), "time_flags": None,
    })
    bad = rng.choice(rows, 1000, replace=False)
    df.loc[bad[:500], "closed_at"] = df.loc[bad[:500], "opened_at"] - pd.Timedelta(hours=1)
    df.loc[bad[500:], "channel"] = "carrier_pigeon"
    return df


def main(rows: int = 1_000_000) -> None:
    rules = load_config(environ={}).validation
    t = time.perf_counter()
    validate_outputs({"journey": replicate("journey", 10)}, rules, 5, "warm-up")  # GX import, context
    print(f"GX import + context + tiny suite: {time.perf_counter() - t:.1f} s")

    cases = staged_cases(rows)
    t = time.perf_counter()
    result = validate_source("crm_cases", cases, rules, pd.Timestamp("2026-11-26 23:59:59"), "bench")
    print(f"validate_source crm_cases, {rows:,} rows: {time.perf_counter() - t:.1f} s "
          f"({len(result.quarantine):,} quarantine rows, {len(result.clean):,} clean)")

    journey, events = replicate("journey", rows), replicate("journey_event", rows)
    events = events[events["journey_id"].isin(set(journey["journey_id"]))]
    # journey_event cannot be checked alone: its cross-table check needs journey.
    for tables in ({"journey": journey}, {"journey": journey, "journey_event": events}):
        t = time.perf_counter()
        validate_outputs(tables, rules, 5, "bench")
        sizes = " + ".join(f"{name} ({len(frame):,} rows)" for name, frame in tables.items())
        print(f"validate_outputs {sizes}: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
