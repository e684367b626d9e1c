"""From simulated facts to what the council's systems would hand over by the as-of
time: ids, the state of every record at as-of, and the cumulative daily delta rows of
each extract (a record is written again on every day it changes).

Nothing after the as-of time exists here: a case closed the day after the run is
written as open, a call still in progress at midnight is not written at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.generate import catalogue as cat
from pipeline.generate.draws import Draws
from pipeline.generate.localtime import NULL_TIME, Calendar, local_text
from pipeline.generate.mess import mistype_ref
from pipeline.generate.simulate import REF_OK, REF_TYPO, RawCall, RawCase, RawWorksOrder, World
from pipeline.sources import SOURCES

DAY = 86400


@dataclass
class CaseState:
    """A case as its latest extract row shows it at as-of, with its history so far."""

    raw: RawCase
    case_id: str
    events: list[tuple[int, str, str, str, str | None, int]]
    status: str
    closed_at: int
    closure_reason: str | None
    duplicate_of: int  # case key or -1


@dataclass
class WorksOrderState:
    raw: RawWorksOrder
    work_order_id: str
    case_ref: str | None
    parent_id: str | None
    status: str
    completed_at: int
    done_at: int  # completed or cancelled (NULL_TIME while running)
    outcome: str | None


@dataclass
class CallState:
    raw: RawCall
    call_id: str
    parent_id: str | None
    case_ref: str | None


@dataclass
class Snapshot:
    """Every record written by as-of, keyed by its source id."""

    as_of: int
    cases: dict[str, CaseState] = field(default_factory=dict)
    calls: dict[str, CallState] = field(default_factory=dict)
    works_orders: dict[str, WorksOrderState] = field(default_factory=dict)
    case_ids: dict[int, str] = field(default_factory=dict)
    customer_ids: dict[int, str] = field(default_factory=dict)


CaseFields = tuple[str, int, str | None, int]  # status, closed_at, closure_reason, duplicate_of
OPENED: CaseFields = ("open", NULL_TIME, None, -1)


def _apply(fields: CaseFields, event: tuple[int, str, str, str, str | None, int]) -> CaseFields:
    """The case's row fields after one history event."""
    t, kind, _team, status, reason, dup = event
    if kind == "reopened":
        return status, NULL_TIME, None, -1
    if status in ("closed", "cancelled") and kind in ("closed", "status_changed"):
        return status, t, reason, dup
    return (status,) + fields[1:]


def _replay(events: list[tuple[int, str, str, str, str | None, int]]) -> CaseFields:
    fields = OPENED
    for event in events:
        fields = _apply(fields, event)
    return fields


def _works_state(w: RawWorksOrder, as_of: int) -> tuple[str, int, int, str | None]:
    """Status, completed_at, done_at, outcome at time ``as_of``."""
    if w.done != -1 and w.done <= as_of:
        return w.done_status or "completed", (w.done if w.done_status == "completed" else NULL_TIME), w.done, \
            (w.outcome if w.done_status == "completed" else None)
    if w.scheduled != -1 and w.scheduled <= as_of:
        return "scheduled", NULL_TIME, NULL_TIME, None
    return "raised", NULL_TIME, NULL_TIME, None


def take_snapshot(world: World, as_of: int, d: Draws) -> Snapshot:
    """Ids in order of creation (as the source systems number them) and the as-of state."""
    snap = Snapshot(as_of)
    cases = sorted((c for c in world.cases if c.events[0][0] <= as_of), key=lambda c: (c.events[0][0], c.key))
    for i, c in enumerate(cases):
        snap.case_ids[c.key] = f"CRM{1000001 + i}"
    customer_first: dict[int, tuple[int, int]] = {}
    for c in cases:
        if c.customer != -1 and c.customer not in customer_first:
            customer_first[c.customer] = (c.events[0][0], c.customer)
    for i, key in enumerate(sorted(customer_first, key=customer_first.__getitem__)):
        snap.customer_ids[key] = f"CUST{200001 + i}"
    for c in cases:
        events = [e for e in c.events if e[0] <= as_of]
        status, closed_at, reason, dup = _replay(events)
        case_id = snap.case_ids[c.key]
        snap.cases[case_id] = CaseState(c, case_id, events, status, closed_at, reason, dup)

    calls = sorted((k for k in world.calls if k.ended <= as_of), key=lambda k: (k.started, k.key))
    call_ids = {k.key: f"CL{50000001 + i}" for i, k in enumerate(calls)}
    for k in calls:
        ref = None
        if k.ref_mode == REF_OK:
            ref = snap.case_ids[k.ref_case]
        elif k.ref_mode == REF_TYPO:
            ref = mistype_ref(snap.case_ids[k.ref_case], d)
        parent = call_ids.get(k.parent) if k.parent != -1 else None
        snap.calls[call_ids[k.key]] = CallState(k, call_ids[k.key], parent, ref)

    works = sorted((w for w in world.works_orders if w.raised <= as_of), key=lambda w: (w.raised, w.key))
    wo_ids = {w.key: f"WO{7000001 + i}" for i, w in enumerate(works)}
    for w in works:
        status, completed, done, outcome = _works_state(w, as_of)
        ref = snap.case_ids.get(w.case) if w.show_ref else None
        snap.works_orders[wo_ids[w.key]] = WorksOrderState(
            w, wo_ids[w.key], ref, wo_ids.get(w.parent), status, completed, done, outcome)
    return snap


def withhold_numbers(snap: Snapshot, call_ids: list[str]) -> None:
    """Write these calls' caller numbers as hidden (see truth.Truth.withheld)."""
    for call_id in call_ids:
        raw = snap.calls[call_id].raw
        raw.number, raw.caller_number = None, "withheld"


# ------------------------------------------------------------------ extract rows


def _frame(source: str, rows: list[tuple], time_columns: list[str], sort: list[str]) -> pd.DataFrame:
    """Canonical columns in contract order, timestamps rendered local, ``file_day``
    (local date of the row's change) added for the writer."""
    columns = SOURCES[source].column_names
    df = pd.DataFrame.from_records(rows, columns=columns + ["_changed"])
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns + ["file_day"]})
    df = df.sort_values(["_changed"] + sort, kind="mergesort").reset_index(drop=True)
    for col in time_columns:
        df[col] = local_text(df[col].to_numpy(dtype=np.int64))
    df["file_day"] = local_text(df["_changed"].to_numpy(dtype=np.int64)).astype(str)
    df["file_day"] = df["file_day"].str.slice(0, 10)
    return df.drop(columns="_changed").fillna("")


def case_rows(world: World, snap: Snapshot, cal: Calendar) -> pd.DataFrame:
    """One row per case per local day it changed (notes change nothing on the case)."""
    rows = []
    for state in snap.cases.values():
        c = state.raw
        rec = world.customers.get(c.customer)
        person_fields = ((snap.customer_ids[c.customer], rec.forename, rec.surname, rec.email, rec.phone,
                          rec.address_line1, rec.postcode, rec.uprn, rec.date_of_birth)
                         if rec else (None,) * 9)
        uprn, postcode, usrn = c.location
        changes = [e for e in state.events if e[1] != "note"]
        fields = OPENED
        for i, event in enumerate(changes):
            fields = _apply(fields, event)
            if i + 1 < len(changes) and cal.day_of(changes[i + 1][0]) == cal.day_of(event[0]):
                continue  # the day's last change is what the nightly extract shows
            status, closed_at, reason, dup = fields
            rows.append((state.case_id, *person_fields, c.service, c.category, c.channel, uprn, postcode, usrn,
                         c.events[0][0], closed_at, status, reason, event[2],
                         snap.case_ids.get(dup) if dup != -1 else None, event[0], event[0]))
    return _frame("crm_cases", rows, ["opened_at", "closed_at", "updated_at"], ["case_id"])


def case_event_rows(snap: Snapshot) -> pd.DataFrame:
    rows = [(s.case_id, t, kind, team, status, t)
            for s in snap.cases.values() for t, kind, team, status, _r, _d in s.events]
    return _frame("crm_case_events", rows, ["event_at"], ["case_id", "event_type"])


def call_rows(snap: Snapshot) -> pd.DataFrame:
    rows = [(s.call_id, s.parent_id, k.caller_number, k.started, k.answered if k.answered != -1 else NULL_TIME,
             k.ended, k.queue, k.agent_id, k.team, k.wrap, s.case_ref, k.started)
            for s in snap.calls.values() for k in (s.raw,)]
    return _frame("call_logs", rows, ["started_at", "answered_at", "ended_at"], ["call_id"])


def works_order_rows(snap: Snapshot, cal: Calendar) -> pd.DataFrame:
    """A works order is written when raised and again when scheduled and when done."""
    rows = []
    for s in snap.works_orders.values():
        w = s.raw
        uprn, postcode, usrn = w.location
        target = w.raised + cat.TARGET_DAYS[w.priority] * DAY
        changes = sorted({t for t in (w.raised, w.scheduled, s.done_at) if t != NULL_TIME and t <= snap.as_of})
        for i, t in enumerate(changes):
            if i + 1 < len(changes) and cal.day_of(changes[i + 1]) == cal.day_of(t):
                continue
            status, completed, _done, outcome = _works_state(w, t)
            rows.append((s.work_order_id, s.case_ref, s.parent_id, w.job_type, w.priority, w.raised, target,
                         completed, status, outcome, w.team, uprn, usrn, postcode, t, t))
    return _frame("works_orders", rows, ["raised_at", "target_at", "completed_at", "updated_at"], ["work_order_id"])


def landing_frames(world: World, snap: Snapshot, cal: Calendar) -> dict[str, pd.DataFrame]:
    return {
        "crm_cases": case_rows(world, snap, cal),
        "crm_case_events": case_event_rows(snap),
        "call_logs": call_rows(snap),
        "works_orders": works_order_rows(snap, cal),
    }
