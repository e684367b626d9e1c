"""How the report and the process-mining exports scale with the published journeys.

    .venv/bin/python benchmarks/report_export_scale.py                    # 20k journeys, seconds
    .venv/bin/python benchmarks/report_export_scale.py --journeys 200000  # ~1.3M events

Publishes synthetic journeys (random services, teams and event types; shapes only, no
meaning) into a temporary DuckDB warehouse, then times ``build_report`` and
``export_log`` in each format and prints seconds, output sizes and peak memory.
Figures for this machine are recorded in docs/report.md.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import FAILURE_TYPES
from pipeline.export import export_log
from pipeline.report import build_report
from pipeline.warehouse import tables as T
from pipeline.warehouse.io import create_engine, create_tables, write_frame

SERVICES = ["Highways", "Waste", "Housing Repairs", "Council Tax", "Environmental Health"]
TEAMS = ["Contact Centre", "Highways Hub", "Gang A", "Gang B", "Waste Team", "Repairs Team", "Revenues", "EH Officers"]
KINDS = [("telephony", "call"), ("crm", "created"), ("crm", "assigned"), ("crm", "closed"),
         ("works", "wo_raised"), ("works", "wo_completed")]


def synthetic_publication(n: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2026-11-26 23:59:59")
    ids = np.char.add("J-", np.char.zfill(np.arange(n).astype(str), 8))
    per = rng.integers(2, 12, n)
    start = as_of - pd.to_timedelta(rng.integers(1, 365 * 24, n), unit="h")
    status = rng.choice(["met", "open", "unlinked", "abandoned"], n, p=[0.7, 0.25, 0.03, 0.02])
    jid = np.repeat(ids, per)
    seq = np.concatenate([np.arange(1, k + 1) for k in per])
    gaps = pd.to_timedelta(rng.exponential(20, len(jid)), unit="h")
    event_at = np.repeat(start.values, per) + pd.Series(gaps).groupby(jid).cumsum().to_numpy()
    kind = rng.integers(0, len(KINDS), len(jid))
    system = np.array([k[0] for k in KINDS])[kind]
    is_call = system == "telephony"
    demand = np.where(is_call, np.where(seq == 1, "value", "failure"), None)
    events = pd.DataFrame({
        "journey_id": jid, "seq": seq, "event_at": event_at, "system": system,
        "source_ref": np.char.add(np.char.add(jid.astype(str), "-"), seq.astype(str)),
        "event_type": np.array([k[1] for k in KINDS])[kind], "team": rng.choice(TEAMS, len(jid)),
        "channel": np.where(is_call, "phone", None), "demand_type": demand,
        "failure_type": np.where(demand == "failure", rng.choice(FAILURE_TYPES, len(jid)), None),
    })
    spans = events.groupby("journey_id")["event_at"].agg(["min", "max"])
    e2e = ((spans["max"] - spans["min"]).dt.total_seconds() / 3600).to_numpy()
    journey = pd.DataFrame({
        "journey_id": ids, "person_key": np.char.add("k", rng.integers(0, n // 2, n).astype(str)),
        "service": rng.choice(SERVICES, n), "category": rng.choice(["A", "B", "C"], n),
        "first_channel": "phone", "postcode_district": "LS6", "status": status,
        "started_at": spans["min"].to_numpy(), "ended_at": np.where(status == "met", spans["max"].to_numpy(), None),
        "e2e_hours": e2e, "e2e_days": e2e / 24, "contacts": per // 2, "value_contacts": 1,
        "failure_contacts": per // 2 - 1, **{f"failure_{t}": 0 for t in FAILURE_TYPES},
        "handoffs": per - 1, "teams": np.minimum(per, 4), "systems": 3, "works_orders": 1,
        "follow_on_works_orders": 0, "first_contact_resolution": False, "clean": per < 4,
    })
    journey["ended_at"] = pd.to_datetime(journey["ended_at"])
    run = pd.DataFrame([{c.name: None for c in T.pipeline_run.columns} | {
        "run_id": "bench", "as_of": as_of, "started_at": as_of, "status": "succeeded"}])
    return {"journey": journey, "journey_event": events, "pipeline_run": run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = synthetic_publication(args.journeys, args.seed)
        url = f"duckdb:///{folder / 'warehouse.duckdb'}"
        engine = create_engine(url)
        with engine.begin() as conn:
            create_tables(conn)
            for name, frame in frames.items():
                write_frame(conn, T.PUBLISHED_TABLES[name], frame)
        engine.dispose()
        print(f"journeys {len(frames['journey']):,}, events {len(frames['journey_event']):,}")
        jobs = [("report", lambda: build_report(url, folder / "report"))]
        jobs += [(fmt, lambda fmt=fmt, name=name: export_log(url, fmt, folder / name))
                 for fmt, name in (("xes", "log.xes"), ("ocel2-json", "log.json"), ("ocel2-sqlite", "log.sqlite"))]
        for label, job in jobs:
            t0, c0 = time.perf_counter(), time.process_time()
            path = job()
            print(f"{label:13s} {time.perf_counter() - t0:7.1f} s wall {time.process_time() - c0:7.1f} s cpu "
                  f"{path.stat().st_size / 1e6:8.1f} MB")
        print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
