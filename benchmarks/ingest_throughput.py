"""Ingestion throughput on synthetic extracts: prints rows/second per source.

Not a test (timings depend on the machine): run it after changing ingestion, e.g.
``.venv/bin/python benchmarks/ingest_throughput.py --rows 1000000``. The data is made
up here (no personal data), with a sprinkling of blanks, DST-edge times and bad rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import load_config
from pipeline.ingest import ingest_source, load_mapping


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    start = pd.Timestamp("2026-01-01").value // 10**9
    secs = rng.integers(0, 330 * 86400, n) + start
    return pd.Series(pd.to_datetime(secs, unit="s"))


def call_logs(rng: np.random.Generator, n: int) -> pd.DataFrame:
    started = _times(rng, n)
    answered = started + pd.to_timedelta(rng.integers(0, 300, n), unit="s")
    ended = answered + pd.to_timedelta(rng.integers(10, 1800, n), unit="s")
    fmt = "%Y-%m-%d %H:%M:%S"
    numbers = np.char.add("07700 9", rng.integers(10000, 99999, n).astype(str))
    numbers = np.where(rng.random(n) < 0.05, "withheld", numbers)
    queues = np.array(["Highways", "Waste", "Housing Repairs", "Council Tax", "General"])
    wraps = np.array(["new_request", "progress_chase", "complaint", "information_given", ""])
    return pd.DataFrame({
        "call_id": np.char.add("CL", np.arange(n).astype(str)),
        "parent_call_id": "",
        "caller_number": numbers,
        "started_at": started.dt.strftime(fmt),
        "answered_at": answered.dt.strftime(fmt),
        "ended_at": ended.dt.strftime(fmt),
        "queue": queues[rng.integers(0, len(queues), n)],
        "agent_id": np.char.add("A", rng.integers(1, 400, n).astype(str)),
        "agent_team": "Contact Centre",
        "wrap_code": wraps[rng.integers(0, len(wraps), n)],
        "case_ref": np.char.add("C", rng.integers(1, n // 3 + 2, n).astype(str)),
    })


def crm_cases(rng: np.random.Generator, n: int) -> pd.DataFrame:
    opened = _times(rng, n)
    closed = opened + pd.to_timedelta(rng.integers(3600, 30 * 86400, n), unit="s")
    fmt = "%Y-%m-%d %H:%M:%S"
    names = np.array(["Ann", "Bob", "Cara", "Dev", "Eve", "Finn"])
    return pd.DataFrame({
        "case_id": np.char.add("C", np.arange(n).astype(str)),
        "customer_id": np.char.add("P", rng.integers(1, n // 2 + 2, n).astype(str)),
        "forename": names[rng.integers(0, len(names), n)],
        "surname": "Example",
        "email": np.char.add(np.char.add("Person", rng.integers(1, n, n).astype(str)), "@EXAMPLE.org"),
        "phone": np.char.add("+44 7700 9", rng.integers(10000, 99999, n).astype(str)),
        "address_line1": "1 Test Street",
        "postcode": np.char.add("ls6", rng.integers(1, 9, n).astype(str)) + "aa",
        "uprn": "",
        "date_of_birth": "",
        "service": "Highways",
        "category": "Pothole",
        "channel": np.array(["phone", "web", "email"])[rng.integers(0, 3, n)],
        "location_uprn": "", "location_postcode": "LS6 2BB", "location_usrn": "",
        "opened_at": opened.dt.strftime(fmt),
        "closed_at": closed.dt.strftime(fmt),
        "status": "closed",
        "closure_reason": "resolved",
        "team": "Highways",
        "duplicate_of": "",
        "updated_at": closed.dt.strftime(fmt),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=2, help="split each source into this many files")
    args = parser.parse_args()
    config = load_config()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp)
        for source, make in (("call_logs", call_logs), ("crm_cases", crm_cases)):
            frame = make(rng, args.rows)
            (landing / source).mkdir()
            for i, part in enumerate(np.array_split(frame, args.files)):
                part.to_csv(landing / source / f"2026-11-{i + 1:02d}.csv", index=False)
            size = sum(p.stat().st_size for p in (landing / source).iterdir()) / 1e6
            t0 = time.perf_counter()
            result = ingest_source(source, landing, load_mapping(config.mappings[source]),
                                   queue_service=config.journeys.queue_service)
            secs = time.perf_counter() - t0
            print(f"{source:10s} {args.rows:>9,} rows {size:7.1f} MB  {secs:6.2f} s  "
                  f"{args.rows / secs:>10,.0f} rows/s  staged {len(result.staged):,} "
                  f"quarantined {len(result.quarantine):,}")


if __name__ == "__main__":
    main()
