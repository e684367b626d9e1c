"""How long build_measures takes at council scale; prints figures, asserts nothing.

Synthetic frames only (no personal data): ``--journeys`` journeys over a year, two
contacts each plus a non-contact event, 12 service x category pairs, 6 channels.

    .venv/bin/python benchmarks/measures_scale.py --journeys 500000
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from pipeline.clock import as_of_for
from pipeline.config import FAILURE_TYPES, load_config
from pipeline.transforms.measures import build_measures


def synthetic(n: int, as_of: pd.Timestamp, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Journeys and events shaped like the published tables, random but plausible."""
    rng = np.random.default_rng(seed)
    started = as_of - pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n), unit="min")
    e2e = rng.gamma(2.0, 5.0, n)
    ended = started + pd.to_timedelta(e2e, unit="D")
    met = (rng.random(n) < 0.8) & (ended <= as_of)
    status = np.where(met, "met", rng.choice(["open", "unlinked", "withdrawn", "abandoned"], n))
    services = np.array(["Highways", "Waste", "Housing Repairs", "Council Tax"], dtype=object)
    categories = np.array(["A", "B", None], dtype=object)
    journey = pd.DataFrame({
        "journey_id": [f"J-{i:08d}" for i in range(n)], "person_key": None,
        "service": services[rng.integers(0, 4, n)], "category": categories[rng.integers(0, 3, n)],
        "first_channel": "phone", "postcode_district": None, "status": status, "started_at": started,
        "ended_at": pd.Series(ended).where(met), "e2e_hours": np.where(met, e2e * 24, np.nan),
        "e2e_days": np.where(met, e2e, np.nan), "contacts": 2, "value_contacts": 1, "failure_contacts": 1,
        **{f"failure_{t}": 0 for t in FAILURE_TYPES}, "handoffs": rng.integers(0, 5, n),
        "teams": rng.integers(1, 4, n), "systems": 2, "works_orders": 1,
        "follow_on_works_orders": rng.integers(0, 2, n), "first_contact_resolution": rng.random(n) < 0.2,
        "clean": rng.random(n) < 0.4,
    })
    channels = np.array(["phone", "web", "email", "face_to_face", "app", "social"], dtype=object)
    ids = journey["journey_id"].to_numpy()
    second = started + pd.to_timedelta(rng.uniform(0, 20, n), unit="D")
    failure_types = np.array(FAILURE_TYPES, dtype=object)[rng.integers(0, len(FAILURE_TYPES), n)]
    events = pd.DataFrame({
        "journey_id": np.concatenate([ids, ids, ids]),
        "seq": np.repeat([1, 2, 3], n),
        "event_at": np.concatenate([started, second, second + pd.Timedelta(hours=1)]),
        "system": "crm", "source_ref": "x", "event_type": "created", "team": "T",
        "channel": np.concatenate([channels[rng.integers(0, 6, n)], channels[rng.integers(0, 6, n)],
                                   np.full(n, None, dtype=object)]),
        "demand_type": np.concatenate([np.full(n, "value", dtype=object), np.full(n, "failure", dtype=object),
                                       np.full(n, None, dtype=object)]),
        "failure_type": np.concatenate([np.full(n, None, dtype=object), failure_types,
                                        np.full(n, None, dtype=object)]),
    })
    events = events[events["event_at"] <= as_of].reset_index(drop=True)
    return journey, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=500_000)
    args = parser.parse_args()
    as_of = as_of_for(dt.date(2026, 11, 26))
    journey, events = synthetic(args.journeys, as_of)
    contacts = int(events["demand_type"].notna().sum())
    rules = load_config().measures
    t0 = time.perf_counter()
    out = build_measures(journey, events, rules, as_of)
    seconds = time.perf_counter() - t0
    print(f"journeys {len(journey):,}  events {len(events):,}  contacts {contacts:,}")
    print(f"build_measures: {seconds:.2f} s")
    for name, frame in out.items():
        print(f"  {name}: {len(frame):,} rows")


if __name__ == "__main__":
    main()
