"""A small, hand-made published warehouse for the report, export and query tests.

Synthetic only. Four services, chosen so every rule of the report shows up:
- Highways / Pothole: 12 met journeys (one far above UNPL: a signal; three chased),
  6 open (five aged 8-28 days, one over 90); 9 share one team path, 6 another.
- Highways / Streetlight out: 3 met (capability suppressed, yet points are present:
  the report must not draw them).
- Waste / Missed bin: 6 met web cases (first-contact resolution), one complaint, one open.
- Housing Repairs / Damp and mould: 1 met, 1 open (every count suppressed).
- Plus call-only journeys: information given (met), unlinked, abandoned.

The measure tables are derived from the same journeys with the small-number rule, in
a simplified way (UTC periods): enough for the report and queries, not a reference
implementation of the measures.

Other test folders reuse it with ``from tests.report.conftest import ...``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from pipeline.config import FAILURE_TYPES
from pipeline.warehouse import tables as T
from pipeline.warehouse.io import create_engine, create_tables, write_frame

THRESHOLD = 5
AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")  # end of 26 Nov 2026, London (GMT = UTC)
CAPABILITY_WEEKS = 13
CC, HUB, GANG, LIGHTS, WASTE, REPAIRS, DAMP = ("Contact Centre", "Highways Hub", "Highways Gang A",
                                               "Street Lighting", "Waste Team", "Repairs Team", "Damp Contractor")
RUN_ID, OLD_RUN_ID, FAILED_RUN_ID = "20261127T023000Z-bbbb", "20261126T023000Z-aaaa", "20261127T090000Z-cccc"
DATA_DOCS = "/srv/journeys/gx/uncommitted/data_docs/local_site/index.html"

POTHOLE_DAYS = [3.0, 4.0, 3.5, 5.0, 4.0, 3.0, 20.0, 4.5, 3.8, 4.2, 5.0, 3.6]
POTHOLE_CHASES = {2: 1, 6: 2, 9: 1}
POTHOLE_OPEN_AGES = [10, 12, 15, 18, 20, 100]
CLEAN_PATH = [CC, HUB, GANG, HUB]
OPEN_PATH = [CC, HUB, GANG]

EVENT_COLS = ["hours", "system", "source_ref", "event_type", "team", "channel", "demand_type", "failure_type"]


def _ev(hours: float, system: str, ref: str, kind: str, team: str | None, channel: str | None = None,
        demand: str | None = None, failure: str | None = None) -> tuple:
    return (hours, system, ref, kind, team, channel, demand, failure)


def _pothole(n: int, days: float, chases: int, met: bool) -> list[tuple]:
    case, call, wo, end = f"C-P{n:03d}", f"CL-P{n:03d}", f"WO-P{n:03d}", days * 24
    events = [_ev(0, "telephony", call, "call", CC, "phone", "value"),
              _ev(0.2, "crm", case, "created", HUB),
              _ev(3, "works", wo, "wo_raised", GANG)]
    events += [_ev(3 + (k + 1) * (end - 6) / (chases + 1), "telephony", f"{call}-{k + 1}", "call", CC, "phone",
                   "failure", "progress_chase") for k in range(chases)]
    if met:
        events += [_ev(end - 2, "works", wo, "wo_completed", GANG), _ev(end, "crm", case, "closed", HUB)]
    return events


def _person(n: int) -> str:
    return hashlib.sha256(f"synthetic-person-{n}".encode()).hexdigest()[:32]


def _specs() -> list[dict]:
    """One dict per journey: its attributes and its events (hours after its start)."""
    specs = []
    pothole_start = pd.Timestamp("2026-09-01 08:00")
    for i, days in enumerate(POTHOLE_DAYS):
        specs.append(dict(journey_id=f"J-P{i:03d}", person=i, service="Highways", category="Pothole",
                          channel="phone", district="LS6", start=pothole_start + pd.Timedelta(days=6 * i),
                          met=True, events=_pothole(i, days, POTHOLE_CHASES.get(i, 0), met=True)))
    for k, age in enumerate(POTHOLE_OPEN_AGES):
        n = 50 + k
        specs.append(dict(journey_id=f"J-P{n:03d}", person=n, service="Highways", category="Pothole",
                          channel="phone", district="LS7", start=AS_OF.floor("D") - pd.Timedelta(days=age),
                          met=False, events=_pothole(n, 0, 0, met=False)))
    for i, days in enumerate([2.0, 3.0, 4.0]):
        case, call = f"C-L{i:03d}", f"CL-L{i:03d}"
        specs.append(dict(journey_id=f"J-L{i:03d}", person=100 + i, service="Highways", category="Streetlight out",
                          channel="phone", district="LS6", start=pd.Timestamp("2026-10-05 09:00") + pd.Timedelta(days=7 * i),
                          met=True, events=[_ev(0, "telephony", call, "call", CC, "phone", "value"),
                                            _ev(0.1, "crm", case, "created", LIGHTS),
                                            _ev(days * 24, "crm", case, "closed", LIGHTS)]))
    for i in range(6):
        case = f"C-W{i:03d}"
        events = [_ev(0, "crm", case, "created", WASTE, "web", "value")]
        if i == 5:
            events.append(_ev(20, "telephony", f"CL-W{i:03d}", "call", CC, "phone", "failure", "complaint"))
        events.append(_ev(30 + i, "crm", case, "closed", WASTE))
        specs.append(dict(journey_id=f"J-W{i:03d}", person=200 + i, service="Waste", category="Missed bin",
                          channel="web", district="LS8", start=pd.Timestamp("2026-10-01 10:00") + pd.Timedelta(days=5 * i),
                          met=True, events=events))
    specs.append(dict(journey_id="J-W050", person=250, service="Waste", category="Missed bin", channel="web",
                      district="LS8", start=AS_OF.floor("D") - pd.Timedelta(days=3), met=False,
                      events=[_ev(0, "crm", "C-W050", "created", WASTE, "web", "value")]))
    specs.append(dict(journey_id="J-H000", person=300, service="Housing Repairs", category="Damp and mould",
                      channel="email", district="LS9", start=pd.Timestamp("2026-10-10 11:00"), met=True,
                      events=[_ev(0, "crm", "C-H000", "created", REPAIRS, "email", "value"),
                              _ev(24, "works", "WO-H000", "wo_raised", DAMP),
                              _ev(24 * 9, "works", "WO-H000", "wo_completed", DAMP),
                              _ev(24 * 9 + 1, "works", "WO-H001", "wo_raised", DAMP),
                              _ev(24 * 12, "works", "WO-H001", "wo_completed", DAMP),
                              _ev(24 * 12 + 2, "crm", "C-H000", "closed", REPAIRS)], follow_on=1))
    specs.append(dict(journey_id="J-H001", person=301, service="Housing Repairs", category="Damp and mould",
                      channel="phone", district="LS9", start=AS_OF.floor("D") - pd.Timedelta(days=40), met=False,
                      events=[_ev(0, "telephony", "CL-H001", "call", CC, "phone", "value"),
                              _ev(0.3, "crm", "C-H001", "created", REPAIRS),
                              _ev(24 * 7, "crm", "C-H001", "assigned", DAMP)]))
    specs.append(dict(journey_id="J-G000", person=400, service="General Enquiries", category=None, channel="phone",
                      district=None, start=pd.Timestamp("2026-11-20 14:00"), met=True,
                      events=[_ev(0, "telephony", "CL-G000", "call", CC, "phone", "value")]))
    specs.append(dict(journey_id="J-G001", person=None, service="General Enquiries", category=None, channel="phone",
                      district=None, start=pd.Timestamp("2026-11-21 15:00"), met=False, status="unlinked",
                      events=[_ev(0, "telephony", "CL-G001", "call", CC, "phone", "failure", "progress_chase")]))
    specs.append(dict(journey_id="J-A000", person=None, service="Highways", category=None, channel="phone",
                      district=None, start=pd.Timestamp("2026-11-22 16:00"), met=False, status="abandoned",
                      events=[_ev(0, "telephony", "CL-A000", "call_abandoned", None, "phone", "value")]))
    return specs


def _journey_row(spec: dict, events: pd.DataFrame) -> dict:
    teams = events["team"].dropna().tolist()
    handoffs = sum(a != b for a, b in zip(teams, teams[1:]))
    contacts = events[events["demand_type"].notna()]
    failures = contacts[contacts["demand_type"] == "failure"]
    status = spec.get("status") or ("met" if spec["met"] else "open")
    started, ended = events["event_at"].min(), (events["event_at"].max() if status == "met" else None)
    hours = ((ended - started) if ended is not None else (AS_OF - started)).total_seconds() / 3600
    hours = hours if status in ("met", "open") else None
    works = events.loc[events["system"] == "works", "source_ref"].nunique()
    row = dict(
        journey_id=spec["journey_id"], person_key=None if spec["person"] is None else _person(spec["person"]),
        service=spec["service"], category=spec["category"], first_channel=spec["channel"],
        postcode_district=spec["district"], status=status, started_at=started, ended_at=ended,
        e2e_hours=hours, e2e_days=None if hours is None else hours / 24, contacts=len(contacts),
        value_contacts=int((contacts["demand_type"] == "value").sum()), failure_contacts=len(failures),
        handoffs=handoffs, teams=len(set(teams)), systems=events["system"].nunique(), works_orders=works,
        follow_on_works_orders=spec.get("follow_on", 0),
        first_contact_resolution=status == "met" and len(contacts) == 1 and works == 0,
        clean=len(failures) == 0 and spec.get("follow_on", 0) == 0,
    )
    row.update({f"failure_{t}": int((failures["failure_type"] == t).sum()) for t in FAILURE_TYPES})
    return row


def _journeys() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, all_events = [], []
    for spec in _specs():
        ev = pd.DataFrame(spec["events"], columns=EVENT_COLS)
        ev["event_at"] = (spec["start"] + pd.to_timedelta(ev["hours"], unit="h")).astype("datetime64[ns]")
        ev = ev.sort_values(["event_at", "system", "source_ref"], kind="stable").reset_index(drop=True)
        ev["journey_id"], ev["seq"] = spec["journey_id"], np.arange(1, len(ev) + 1)
        rows.append(_journey_row(spec, ev))
        all_events.append(ev)
    journey = pd.DataFrame(rows)
    journey["ended_at"] = pd.to_datetime(journey["ended_at"])
    events = pd.concat(all_events, ignore_index=True).drop(columns="hours")
    return journey, events[[c.name for c in T.journey_event.columns]]


def _suppress(frame: pd.DataFrame, counts: list[str], rates: dict[str, str]) -> pd.DataFrame:
    """Counts 1..THRESHOLD-1 -> NULL; rates -> NULL when their base count is suppressed."""
    frame = frame.copy()
    flags: list[list[str]] = [[] for _ in range(len(frame))]
    small = {c: frame[c].between(1, THRESHOLD - 1).to_numpy() for c in counts}
    for col in counts:
        frame[col] = frame[col].astype(object).where(~small[col], None)
    for rate, base in rates.items():
        frame[rate] = frame[rate].astype(object).where(~small[base], None)
    for i in range(len(frame)):
        flags[i] = [c for c in counts if small[c][i]] + [r for r, b in rates.items() if small[b][i]]
    frame["suppressed"] = [",".join(f) for f in flags]
    return frame


def _periods(ts: pd.Series) -> pd.DataFrame:
    iso = ts.dt.isocalendar()
    week = pd.DataFrame({"period_type": "week", "period": iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2),
                         "period_start": (ts.dt.normalize() - pd.to_timedelta(iso["day"] - 1, unit="D")).dt.date})
    month = pd.DataFrame({"period_type": "month", "period": ts.dt.strftime("%Y-%m"),
                          "period_start": ts.dt.to_period("M").dt.start_time.dt.date})
    return pd.concat([week, month])


def _by_period(frame: pd.DataFrame, ts_col: str) -> pd.DataFrame:
    """Each row once per period type, with its period key."""
    periods = _periods(frame[ts_col])
    return frame.loc[periods.index].reset_index(drop=True).join(periods.reset_index(drop=True))


def _measures(journey: pd.DataFrame, events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    key = ["service", "category", "period_type", "period", "period_start"]
    j = journey.assign(category=journey["category"].fillna("(none)"))
    contacts = events[events["demand_type"].notna()].merge(j[["journey_id", "service", "category"]], on="journey_id")
    c = _by_period(contacts, "event_at")
    for t in FAILURE_TYPES:
        c[f"failure_{t}"] = (c["failure_type"] == t).astype(int)
    c["value_contacts"] = (c["demand_type"] == "value").astype(int)
    c["failure_contacts"] = (c["demand_type"] == "failure").astype(int)
    failure_cols = [f"failure_{t}" for t in FAILURE_TYPES]
    demand = c.groupby(key).agg(contacts=("seq", "size"), value_contacts=("value_contacts", "sum"),
                                failure_contacts=("failure_contacts", "sum"),
                                **{f: (f, "sum") for f in failure_cols}).reset_index()
    demand["failure_share"] = demand["failure_contacts"] / demand["contacts"]
    demand = _suppress(demand, ["contacts", "value_contacts", "failure_contacts", *failure_cols],
                       {"failure_share": "contacts"})
    channel = c.groupby([*key, "channel"]).agg(contacts=("seq", "size"), value_contacts=("value_contacts", "sum"),
                                               failure_contacts=("failure_contacts", "sum")).reset_index()
    channel["failure_share"] = channel["failure_contacts"] / channel["contacts"]
    channel = _suppress(channel, ["contacts", "value_contacts", "failure_contacts"], {"failure_share": "contacts"})

    met = _by_period(j[j["status"] == "met"], "ended_at")
    e2e = met.groupby(key)["e2e_days"].agg(journeys_met="size", mean_days="mean", median_days="median",
                                           p80_days=lambda s: s.quantile(0.8),
                                           p95_days=lambda s: s.quantile(0.95)).reset_index()
    e2e = _suppress(e2e, ["journeys_met"], {r: "journeys_met" for r in ("mean_days", "median_days", "p80_days", "p95_days")})
    flow = met.assign(follow_on=met["follow_on_works_orders"] > 0).groupby(key).agg(
        journeys_met=("journey_id", "size"), avg_handoffs=("handoffs", "mean"), avg_teams=("teams", "mean"),
        avg_contacts=("contacts", "mean"), share_clean=("clean", "mean"),
        first_contact_resolution=("first_contact_resolution", "mean"), follow_on_rate=("follow_on", "mean")).reset_index()
    flow = _suppress(flow, ["journeys_met"], {r: "journeys_met" for r in (
        "avg_handoffs", "avg_teams", "avg_contacts", "share_clean", "first_contact_resolution", "follow_on_rate")})

    window_start = AS_OF - pd.Timedelta(weeks=CAPABILITY_WEEKS)
    in_window = j[(j["status"] == "met") & (j["ended_at"] > window_start) & j["category"].ne("(none)")]
    caps, points = [], []
    for (service, category), g in in_window.groupby(["service", "category"]):
        g = g.sort_values("ended_at")
        days = g["e2e_days"].to_numpy()
        mr = np.abs(np.diff(days))
        mean, mr_bar = days.mean(), (mr.mean() if len(mr) else 0.0)
        unpl, lnpl = mean + 2.66 * mr_bar, max(0.0, mean - 2.66 * mr_bar)
        above = days > unpl
        caps.append(dict(service=service, category=category, window_start=window_start, window_end=AS_OF,
                         journeys=len(g), mean_days=mean, mr_bar=mr_bar, unpl=unpl, lnpl=lnpl,
                         points_above_unpl=int(above.sum()), runs=0))
        points.append(pd.DataFrame(dict(service=service, category=category, seq=np.arange(1, len(g) + 1),
                                        journey_id=g["journey_id"].to_numpy(), ended_at=g["ended_at"].to_numpy(),
                                        e2e_days=days, moving_range=np.r_[np.nan, mr], above_unpl=above,
                                        in_run=False)))
    capability = pd.DataFrame(caps)
    small = capability["journeys"] < THRESHOLD
    cap_cols = ["journeys", "mean_days", "mr_bar", "unpl", "lnpl", "points_above_unpl", "runs"]
    for col in cap_cols:
        capability[col] = capability[col].astype(object).where(~small, None)
    capability["suppressed"] = np.where(small, ",".join(cap_cols), "")

    open_ = j[j["status"] == "open"]
    bands = pd.cut(open_["e2e_days"], [-1, 7, 28, 90, np.inf], labels=["0-7", "8-28", "29-90", "91+"])
    wip = open_.assign(age_band=bands.astype(str)).groupby(["service", "category", "age_band"]).size() \
        .rename("open_journeys").reset_index()
    wip = _suppress(wip, ["open_journeys"], {})
    return {"measure_demand": demand, "measure_demand_channel": channel, "measure_end_to_end": e2e,
            "measure_flow": flow, "measure_capability": capability,
            "measure_capability_point": pd.concat(points, ignore_index=True), "measure_wip": wip}


def _runs() -> pd.DataFrame:
    base = dict(mode="full", inputs="[]", rows_read=120, rows_quarantined=0, table_hashes="{}", timings="{}",
                missing_sources=None, code_version="0.1.0+synthetic", error=None, data_docs_path=None)
    return pd.DataFrame([
        {**base, "run_id": OLD_RUN_ID, "as_of": AS_OF - pd.Timedelta(days=1), "started_at": pd.Timestamp("2026-11-26 02:30"),
         "ended_at": pd.Timestamp("2026-11-26 02:41"), "status": "succeeded", "validation_outcome": "passed"},
        {**base, "run_id": RUN_ID, "as_of": AS_OF, "started_at": pd.Timestamp("2026-11-27 02:30"),
         "ended_at": pd.Timestamp("2026-11-27 02:42"), "status": "succeeded", "validation_outcome": "warned",
         "data_docs_path": DATA_DOCS},
        {**base, "run_id": FAILED_RUN_ID, "as_of": AS_OF, "started_at": pd.Timestamp("2026-11-27 09:00"),
         "ended_at": pd.Timestamp("2026-11-27 09:03"), "status": "failed", "validation_outcome": "failed",
         "error": "synthetic failure for the report test"},
    ])


@lru_cache(maxsize=1)
def _frames() -> dict[str, pd.DataFrame]:
    journey, events = _journeys()
    return {"journey": journey, "journey_event": events, **_measures(journey, events), "pipeline_run": _runs()}


def fixture_frames() -> dict[str, pd.DataFrame]:
    """The fixture's published tables as frames (copies: tests may change them)."""
    return {name: frame.copy() for name, frame in _frames().items()}


def build_fixture_warehouse(url: str, frames: dict[str, pd.DataFrame] | None = None) -> str:
    """Create the declared tables at ``url`` and publish the fixture (or ``frames``) into them."""
    frames = fixture_frames() if frames is None else frames
    engine = create_engine(url)
    with engine.begin() as conn:
        create_tables(conn)
        for name, frame in frames.items():
            write_frame(conn, T.PUBLISHED_TABLES[name], frame, replace=True)
    engine.dispose()
    return url


CANARY = "Zebedee Canaryfield"  # a synthetic "personal" value kept in the restricted area only


def add_restricted_canary(url: str) -> str:
    """Put ``CANARY`` into restricted tables (a staged case and an identity row), so tests
    can show that nothing the analysts receive ever reads them."""
    case = {c.name: None for c in T.staging_tables["crm_cases"].columns}
    case.update(case_id="C-P000", forename=CANARY.split()[0], surname=CANARY.split()[1],
                email="zebedee@example.invalid", service="Highways", category="Pothole", channel="phone",
                opened_at=pd.Timestamp("2026-09-01 08:00"), status="closed", team=HUB,
                updated_at=pd.Timestamp("2026-09-04 08:00"))
    engine = create_engine(url)
    with engine.begin() as conn:
        write_frame(conn, T.staging_tables["crm_cases"], pd.DataFrame([case]))
        write_frame(conn, T.person, pd.DataFrame([{"person_id": CANARY, "person_key": _person(0),
                                                   "first_run_id": RUN_ID}]))
    engine.dispose()
    return CANARY


@pytest.fixture()
def published_duckdb(duckdb_url: str) -> str:
    """A DuckDB warehouse holding the fixture publication."""
    return build_fixture_warehouse(duckdb_url)
