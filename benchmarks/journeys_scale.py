"""How long ``assemble_journeys`` takes on a large synthetic night (prints figures).

    .venv/bin/python benchmarks/journeys_scale.py [--calls 200000] [--seed 7]

Builds staged-shaped frames directly (no generator, no identity): people with a few
cases each across services, repeat cases, duplicates, works orders with follow-ons,
case histories with hand-offs and reopenings, and calls (transfers, chases, refs,
information-only, abandoned, withheld). Figures go in docs/journeys.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import yaml

from pipeline.config import DEFAULTS_FILE, JourneyRules
from pipeline.transforms.journeys import assemble_journeys

SERVICES = {"Highways": ["Pothole", "Streetlight out"], "Waste": ["Missed bin"],
            "Housing Repairs": ["Damp and mould", "Leak"], "Council Tax": ["Bill query"]}
START = pd.Timestamp("2026-01-01")


def synthetic_night(n_calls: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_cases = n_calls * 2 // 5
    n_people = n_cases // 2
    services = np.array(list(SERVICES))
    svc = services[rng.integers(0, len(services), n_cases)]
    cat = np.array([SERVICES[s][rng.integers(0, len(SERVICES[s]))] for s in svc], dtype=object)
    opened = START + pd.to_timedelta(rng.integers(0, 330 * 24 * 60, n_cases), unit="min")
    duration = pd.to_timedelta(rng.exponential(6 * 24 * 60, n_cases).astype(int) + 30, unit="min")
    closed = pd.Series(opened + duration).where(rng.random(n_cases) < 0.9)
    case_ids = np.array([f"C{i:07d}" for i in range(n_cases)], dtype=object)
    cancelled = rng.random(n_cases) < 0.04
    dup = np.where(rng.random(n_cases) < 0.03, rng.integers(0, n_cases, n_cases), -1)
    cases = pd.DataFrame({
        "case_id": case_ids, "postcode": "LS6 1AA", "service": svc, "category": cat,
        "channel": rng.choice(["phone", "web", "email", "app"], n_cases, p=[0.5, 0.3, 0.1, 0.1]),
        "location_uprn": np.where(rng.random(n_cases) < 0.5, rng.integers(1, 5000, n_cases).astype(str), None),
        "location_postcode": None, "location_usrn": None, "opened_at": opened, "closed_at": closed,
        "status": np.where(closed.isna(), "open", np.where(cancelled, "cancelled", "closed")),
        "closure_reason": np.where(closed.isna(), None, np.where(cancelled, "withdrawn", "resolved")),
        "team": "Contact Centre", "duplicate_of": np.where(dup >= 0, case_ids[np.maximum(dup, 0)], None),
        "updated_at": closed.fillna(pd.Series(opened)),
    })
    cases = cases.astype({c: object for c in ("status", "closure_reason", "duplicate_of", "channel")})
    person_record = pd.DataFrame({"case_id": case_ids,
                                  "person_id": np.array([f"P{i}" for i in rng.integers(0, n_people, n_cases)])})
    ev_cases = rng.choice(n_cases, n_cases // 2, replace=False)
    events = pd.concat([
        pd.DataFrame({"case_id": case_ids[ev_cases], "event_at": opened[ev_cases], "event_type": "created",
                      "team": "Contact Centre", "status": "open"}),
        pd.DataFrame({"case_id": case_ids[ev_cases], "event_at": opened[ev_cases] + pd.Timedelta(hours=1),
                      "event_type": "assigned", "team": svc[ev_cases] + " Hub", "status": "open"}),
    ], ignore_index=True)
    reopened = ev_cases[: len(ev_cases) // 50]
    events = pd.concat([events, pd.DataFrame({
        "case_id": case_ids[reopened], "event_at": opened[reopened] + pd.Timedelta(days=2),
        "event_type": "reopened", "team": None, "status": "open"})], ignore_index=True)
    n_wo = n_cases // 3
    wo_case = rng.choice(n_cases, n_wo, replace=False)
    raised = opened[wo_case] + pd.Timedelta(hours=4)
    wo_ids = np.array([f"W{i:07d}" for i in range(n_wo)], dtype=object)
    follow = np.where(rng.random(n_wo) < 0.1, np.arange(n_wo) - 1, -1)
    works = pd.DataFrame({
        "work_order_id": wo_ids, "case_ref": np.where(follow >= 0, None, case_ids[wo_case]),
        "parent_work_order_id": np.where(follow >= 0, wo_ids[np.maximum(follow, 0)], None),
        "raised_at": raised, "completed_at": raised + pd.Timedelta(days=3), "status": "completed",
        "outcome": "fixed", "team": "Gang", "updated_at": raised + pd.Timedelta(days=3)})
    call_person = person_record["person_id"].to_numpy()[rng.integers(0, n_cases, n_calls)]
    base_case = rng.integers(0, n_cases, n_calls)
    started = opened[base_case] + pd.to_timedelta(rng.integers(-60, 20 * 24 * 60, n_calls), unit="min")
    call_ids = np.array([f"K{i:08d}" for i in range(n_calls)], dtype=object)
    transfer = np.where(rng.random(n_calls) < 0.1, np.arange(n_calls) - 1, -1)
    answered = rng.random(n_calls) < 0.92
    calls = pd.DataFrame({
        "call_id": call_ids, "parent_call_id": np.where(transfer >= 0, call_ids[np.maximum(transfer, 0)], None),
        "started_at": started, "answered_at": pd.Series(started + pd.Timedelta(seconds=30)).where(answered),
        "ended_at": started + pd.Timedelta(minutes=6), "agent_team": "Contact Centre",
        "wrap_code": np.where(answered, rng.choice(["new_request", "progress_chase", "information_given",
                                                     "complaint", "callback"], n_calls), None),
        "service": svc[base_case]})
    has_ref = rng.random(n_calls) < 0.4
    attribution = pd.DataFrame({
        "call_id": call_ids,
        "person_id": np.where(rng.random(n_calls) < 0.9, call_person, None),
        "method": "phone", "resolved_case_id": np.where(has_ref, case_ids[base_case], None)})
    calls["case_ref"] = attribution["resolved_case_id"]
    return {"cases": cases, "case_events": events, "calls": calls, "works_orders": works,
            "person_record": person_record, "call_attribution": attribution}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    frames = synthetic_night(args.calls, args.seed)
    rules = JourneyRules(**yaml.safe_load(DEFAULTS_FILE.read_text())["journeys"])
    t0, c0 = time.perf_counter(), time.process_time()
    result = assemble_journeys(**frames, rules=rules, as_of=pd.Timestamp("2026-12-31 23:59"))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"calls {len(frames['calls']):,}  cases {len(frames['cases']):,}  works orders "
          f"{len(frames['works_orders']):,}  case events {len(frames['case_events']):,}")
    print(f"journeys {len(result.journey):,}  events {len(result.journey_event):,}  "
          f"contacts {len(result.contacts):,}  by status {result.report['journeys_by_status']}")
    print(f"assemble_journeys: {elapsed:.1f} s wall, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
