"""Accuracy against the generator's ground truth: journeys and people.

Generates a council, runs the whole pipeline into a DuckDB file, and scores the
published journeys and the identity tables against `truth/` (pipeline/evaluation.py).
Prints the figures; exits 1 when a score is below its floor, so CI (small size) fails.

    python benchmarks/accuracy_bench.py                      # CI size
    python benchmarks/accuracy_bench.py --people 20000 --days 365
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Floors from the issues (journeys: issue 4; people: issue 3). call_precision is over
# callers the CRM knows; call_precision_all also counts calls from household members the
# CRM has never seen, which journeys.md's rule gives to the member it knows (see
# score_people and docs/identity.md), so its floor guards against regressions only.
JOURNEY_FLOORS = {"journey_f1": 0.98, "status_accuracy": 0.98, "ended_at_within_60s": 0.98,
                  "handoffs_exact": 0.90}
FAILURE_SHARE_TOLERANCE = 0.02
PEOPLE_FLOORS = {"person_f1": 0.99, "call_precision": 0.99, "call_precision_all": 0.97}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1500)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    os.environ.setdefault("JOURNEYS_HMAC_SECRET", "benchmark-secret")

    from pipeline.evaluation import score_journeys, score_people
    from pipeline.generate import generate_council
    from pipeline.stages import run_pipeline
    from pipeline.warehouse import io
    from pipeline.warehouse import tables as t

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        gen = generate_council(out, people=args.people, days=args.days, seed=args.seed)
        url = f"duckdb:///{out / 'warehouse.duckdb'}"
        run_pipeline(gen.end, warehouse_url=url, landing_dir=gen.landing_dir)
        with io.create_engine(url).connect() as conn:
            journey = io.read_frame(conn, t.journey)
            events = io.read_frame(conn, t.journey_event)
            person_record = io.read_frame(conn, t.person_record)
            calls = io.read_frame(conn, t.call_attribution)
        journeys = score_journeys(gen.truth_dir, journey, events).as_dict()
        people = score_people(gen.truth_dir, person_record, calls).as_dict()
        seconds = time.perf_counter() - start

    print(json.dumps({"people": args.people, "days": args.days, "seconds": round(seconds, 1),
                      "journeys": journeys, "people_scores": people}, indent=2))
    failures = [f"{k} {journeys[k]:.4f} < {v}" for k, v in JOURNEY_FLOORS.items() if journeys[k] < v]
    failures += [f"{k} {people[k]:.4f} < {v}" for k, v in PEOPLE_FLOORS.items() if people[k] < v]
    gap = abs(journeys["failure_share_truth"] - journeys["failure_share_ours"])
    if gap > FAILURE_SHARE_TOLERANCE:
        failures.append(f"failure share off by {gap:.4f} > {FAILURE_SHARE_TOLERANCE}")
    for f in failures:
        print("BELOW FLOOR:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
