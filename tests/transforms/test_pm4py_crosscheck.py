"""Cross-check of journey events with PM4Py (test-only: AGPL, never imported by ``pipeline``).

The journey events are exported as a process-mining event log (case = journey_id,
activity = event_type, timestamp = event_at, in our ``seq`` order) and PM4Py's case
durations, start times and variants must equal ours: durations as the last minus the
first event of each journey, start times as the journey's ``started_at``, variants as
our ordered event-type sequences.

Two inputs: a medium hand-built scenario set, and (when the generator and ingestion
are present) a small synthetic council ingested from its landing files, with the
generator's true people standing in for identity.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from pipeline.transforms.journeys import JourneyResult, assemble_journeys

pm4py = pytest.importorskip("pm4py")


def _scenarios(council) -> JourneyResult:
    """Twelve journey shapes for each of eight people, a week apart."""
    for p in range(8):
        d = pd.Timestamp("2026-02-02 09:00") + pd.Timedelta(days=7 * p)

        def at(days: float, hours: float = 0) -> str:
            return str(d + pd.Timedelta(days=days, hours=hours))

        who, tag = f"P{p}", f"{p}-"
        council.call(f"K{tag}1", at(0), person=who, minutes=4, wrap="transferred")
        council.call(f"K{tag}2", at(0, 0.1), person=who, parent=f"K{tag}1", team="Highways Hub")
        council.case(f"C{tag}1", at(0, 0.2), person=who, channel="phone", closed=at(6), team="Highways Hub",
                     location_uprn=str(p))
        council.event(f"C{tag}1", at(0, 0.2), "created", team="Contact Centre")
        council.event(f"C{tag}1", at(0, 1), "assigned", team="Highways Hub")
        council.event(f"C{tag}1", at(6), "closed", team="Highways Hub", status="closed")
        council.works_order(f"W{tag}1", at(1), case_ref=f"C{tag}1", completed=at(2), outcome="follow_on_required")
        council.works_order(f"W{tag}2", at(3), parent=f"W{tag}1", completed=at(5))
        council.call(f"K{tag}3", at(4), person=who, wrap="progress_chase", case_ref=f"C{tag}1")
        council.case(f"C{tag}2", at(10), person=who, channel="web", closed=at(12), location_uprn=str(p))
        council.case(f"C{tag}3", at(1), person=who, service="Waste", category="Missed bin", channel="app",
                     closed=at(1, 5), status="cancelled", reason=None, team="Waste Ops")
        council.case(f"C{tag}4", at(2), person=who, service="Waste", category="Bulky waste",
                     duplicate_of=f"C{tag}3" if p % 2 else None, closed=at(3), team="Waste Ops")
        council.call(f"K{tag}4", at(20), person=None, queue="Council Tax", wrap="information_given")
        council.call(f"K{tag}5", at(21), person=None, answered=False)
        council.call(f"K{tag}6", at(22), person=None, wrap="progress_chase")
        council.case(f"C{tag}5", at(30), person=who, service="Housing Repairs", category="Damp", channel="email")
        council.event(f"C{tag}5", at(30), "created", team="Repairs Triage")
        council.event(f"C{tag}5", at(31), "closed", team="Repairs Triage", status="closed")
        council.event(f"C{tag}5", at(33), "reopened", team="Repairs Triage", status="open")
        council.works_order(f"W{tag}3", at(34), case_ref=f"c{tag}5 ", team="Damp Gang")
    return council.assemble(as_of="2026-05-31 22:59:59").result


def _generated(tmp_path) -> JourneyResult:
    council = pytest.importorskip("pipeline.generate.council")
    extract = pytest.importorskip("pipeline.ingest.extract")
    from pipeline.config import load_config
    from pipeline.ingest.mapping import load_mapping

    council.generate_council(tmp_path, 600, 60, 3)
    cfg = load_config(environ={})
    staged = {s: extract.ingest_source(s, tmp_path / "landing", load_mapping(cfg.mappings[s]),
                                       queue_service=cfg.journeys.queue_service).staged
              for s in ("crm_cases", "crm_case_events", "call_logs", "works_orders")}
    truth = pd.read_csv(tmp_path / "truth" / "records.csv", dtype=str)
    person = truth.set_index(["system", "source_ref"])["person_id"]
    cases, calls = staged["crm_cases"], staged["call_logs"]
    person_record = pd.DataFrame({"case_id": cases["case_id"],
                                  "person_id": [person.get(("crm", c)) for c in cases["case_id"]]})
    resolved = calls["case_ref"].where(calls["case_ref"].isin(cases["case_id"]), None)
    attribution = pd.DataFrame({"call_id": calls["call_id"], "method": "truth", "resolved_case_id": resolved,
                                "person_id": [person.get(("telephony", c)) for c in calls["call_id"]]})
    as_of = pd.Timestamp(pd.read_json(tmp_path / "truth" / "meta.json", typ="series")["as_of_utc"])
    return assemble_journeys(staged["crm_cases"], staged["crm_case_events"], calls, staged["works_orders"],
                             person_record, attribution, cfg.journeys, as_of)


@pytest.fixture(params=["scenarios", "generator"])
def result(request, council, tmp_path) -> JourneyResult:
    return _scenarios(council) if request.param == "scenarios" else _generated(tmp_path)


def _event_log(journey_event: pd.DataFrame) -> pd.DataFrame:
    ordered = journey_event.sort_values(["journey_id", "seq"], ignore_index=True)
    return pm4py.format_dataframe(ordered[["journey_id", "event_type", "event_at"]].copy(), case_id="journey_id",
                                  activity_key="event_type", timestamp_key="event_at")


def test_case_durations_and_starts_equal_pm4pys(result):
    events = result.journey_event
    assert events["journey_id"].nunique() > 40
    log = _event_log(events)
    ours = events.groupby("journey_id")["event_at"].agg(["min", "max"])
    for journey_id, (first, last) in ours.iterrows():
        assert pm4py.get_case_duration(log, journey_id) == (last - first).total_seconds(), journey_id
    assert sorted(pm4py.get_all_case_durations(log)) == sorted((ours["max"] - ours["min"]).dt.total_seconds())
    starts = log.groupby("case:concept:name")["time:timestamp"].min().dt.tz_localize(None)
    published = result.journey.set_index("journey_id")["started_at"]
    pd.testing.assert_series_equal(starts.sort_index(), published.sort_index(), check_names=False,
                                   check_index_type=False, check_dtype=False)


def test_variants_equal_pm4pys(result):
    ours = Counter(tuple(g["event_type"]) for _, g in result.journey_event.sort_values(["journey_id", "seq"])
                   .groupby("journey_id", sort=False))
    theirs = pm4py.get_variants(_event_log(result.journey_event))
    assert {k: (len(v) if isinstance(v, list) else v) for k, v in theirs.items()} == dict(ours)
    assert len(ours) > 5
