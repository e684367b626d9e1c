"""The ground truth: journeys.md's rules applied to the records the simulation wrote,
with the identity of every record known (the simulation knows who made each one).

This is written independently of the pipeline: the pipeline has to *infer* people
from messy contact records; the truth knows them. Cases belong to the need the
simulation made them for (the simulation keeps needs apart so that rules 1-3 give the
same answer). Calls and works orders are placed by rules 4 and 5 exactly as written,
so a chase from a withheld number without a usable reference is an unlinked journey
of its own, however real the need behind it was.

Where journeys.md leaves an order open, the truth decides as follows (docs/generator.md):
- a later contact's failure type is its wrap code's type when that is a failure type;
  else ``not_done_right`` if the journey was met just before it; else ``repeat`` for a
  case and ``progress_chase`` for a call;
- a contact after the journey was met pulls it back in: it is met again only after a
  later closure or completion;
- a number known for several people goes to the one with a case journey in the call's
  service that is live at the call (open, met within the reopen window, or a case
  opened within the link window after it); call-only journeys never attract calls.

One case the simulation cannot keep apart in advance: a call from a shared number
(a household landline, or a drama number reused once the pool has run out) that
rule 4 would put into *another* person's journey after that journey was met. It would
reopen the journey for good, and rule 3 would then pull that person's later needs into
it. Such calls are written as withheld instead (``Truth.withheld``), which is what the
truth assumes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.config import FAILURE_TYPES, JourneyRules
from pipeline.generate.extracts import CallState, CaseState, Snapshot, WorksOrderState
from pipeline.generate.localtime import NULL_TIME, utc_text
from pipeline.generate.simulate import INF, World

GOOD_CLOSURES = ("resolved", "no_fault_found", "referred_elsewhere", "duplicate")
STATUSES = ("met", "open", "withdrawn", "abandoned", "unlinked")
JOURNEY_COLUMNS = ["journey_id", "person_id", "service", "category", "status", "started_at", "ended_at",
                   "contacts", "value_contacts", "failure_contacts",
                   *[f"failure_{t}" for t in FAILURE_TYPES], "handoffs"]
RECORD_COLUMNS = ["system", "source_ref", "person_id", "journey_id", "customer_id"]


@dataclass
class _Journey:
    """Members of one journey while the truth is being assembled."""

    person: int
    service: str
    category: str | None
    cases: list[CaseState] = field(default_factory=list)
    works_orders: list[WorksOrderState] = field(default_factory=list)
    contacts: list[list[CallState]] = field(default_factory=list)  # legs of each call, first leg first


@dataclass
class Measures:
    status: str
    started_at: int
    ended_at: int
    contacts: int
    value_contacts: int
    failures: dict[str, int]
    handoffs: int


@dataclass
class Truth:
    records: pd.DataFrame
    journeys: pd.DataFrame
    proactive_works_orders: int
    withheld: list[str]  # call ids whose caller number must be written as withheld


# ------------------------------------------------------------------ membership


def _call_contacts(snap: Snapshot) -> list[list[CallState]]:
    """Legs chained by parent_call_id are one contact."""
    roots: dict[str, list[CallState]] = {}
    root_of: dict[str, str] = {}
    for call_id, call in snap.calls.items():  # ids follow start times: parents come first
        root = root_of.get(call.parent_id, call.parent_id) if call.parent_id else call_id
        root_of[call_id] = root
        roots.setdefault(root, []).append(call)
    return list(roots.values())


def _works_journeys(snap: Snapshot, case_journey: Mapping[str, int]) -> dict[str, int]:
    """Rule 5: by case_ref, else through the parent; neither -> proactive (absent)."""
    out: dict[str, int] = {}
    for wo_id, wo in snap.works_orders.items():  # raised order: parents first
        if wo.case_ref in case_journey:
            out[wo_id] = case_journey[wo.case_ref]
        elif wo.parent_id in out:
            out[wo_id] = out[wo.parent_id]
    return out


class _Attribution:
    """Rule 4 for calls without a usable reference, from the people's known numbers."""

    def __init__(self, journeys: list[_Journey], measures: list[Measures], known: dict[str, set[int]],
                 rules: JourneyRules):
        self.known = known
        self.window = rules.reopen_window_days * 86400
        self.link = rules.call_case_link_minutes * 60
        self.live: dict[tuple[int, str], list[tuple[int, int, int]]] = defaultdict(list)  # (start, until, j)
        self.opened: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)  # (opened_at, j)
        for j, (journey, m) in enumerate(zip(journeys, measures)):
            until = {"met": m.ended_at + self.window, "open": INF}.get(
                m.status, max((c.closed_at for c in journey.cases), default=m.started_at))
            self.live[journey.person, journey.service].append((m.started_at, until, j))
            for c in journey.cases:
                self.opened[journey.person, journey.service].append((c.raw.events[0][0], j))

    def _live_journey(self, person: int, service: str, t: int) -> int | None:
        open_now = [(start, j) for start, until, j in self.live.get((person, service), ()) if start <= t <= until]
        if open_now:
            return max(open_now)[1]
        soon = [(opened, j) for opened, j in self.opened.get((person, service), ()) if t <= opened <= t + self.link]
        return min(soon)[1] if soon else None

    def journey_of(self, number: str | None, service: str, t: int) -> int | None:
        people = self.known.get(number, ()) if number else ()
        if len(people) == 1:
            return self._live_journey(next(iter(people)), service, t)
        found = None
        for person in people:  # several: only the one with a live journey, if just one
            j = self._live_journey(person, service, t)
            if j is not None:
                if found is not None:
                    return None
                found = j
        return found


def _known_numbers(world: World, snap: Snapshot, resolved: list[tuple[list[CallState], int]],
                   journeys: list[_Journey]) -> dict[str, set[int]]:
    """Phones on a person's CRM records, plus numbers they rang from quoting their case."""
    known: dict[str, set[int]] = defaultdict(set)
    for case in snap.cases.values():
        record = world.customers.get(case.raw.customer)
        if record is not None and record.phone_e164:
            known[record.phone_e164].add(record.person)
    for legs, j in resolved:
        for leg in legs:
            if leg.raw.number:
                known[leg.raw.number].add(journeys[j].person)
    return known


# ------------------------------------------------------------------ measures


def _handoffs(journey: _Journey) -> int:
    """Changes of team between consecutive events that carry one, in journey order."""
    events = []
    for legs in journey.contacts:
        for leg in legs:
            events.append((leg.raw.started, "telephony", leg.call_id, 0, leg.raw.team if leg.raw.answered != -1 else None))
    for case in journey.cases:
        for i, (t, _kind, team, *_rest) in enumerate(case.events):
            events.append((t, "crm", case.case_id, i, team))
    for wo in journey.works_orders:
        events.append((wo.raw.raised, "works", wo.work_order_id, 0, wo.raw.team))
        if wo.completed_at != NULL_TIME:
            events.append((wo.completed_at, "works", wo.work_order_id, 1, wo.raw.team))
    teams = [e[4] for e in sorted(events) if e[4]]
    return sum(1 for a, b in zip(teams, teams[1:]) if a != b)


def _contact_type(legs: list[CallState], rules: JourneyRules) -> str | None:
    for leg in legs:
        kind = rules.wrap_code_demand.get(leg.raw.wrap) if leg.raw.wrap else None
        if kind in FAILURE_TYPES:
            return kind
    return None


def measure_journey(journey: _Journey, rules: JourneyRules) -> Measures:
    """Status, times, contacts by demand type and hand-offs of one journey."""
    link = rules.call_case_link_minutes * 60
    starts = [leg.raw.started for legs in journey.contacts for leg in legs]
    starts += [c.raw.events[0][0] for c in journey.cases] + [w.raw.raised for w in journey.works_orders]
    started = min(starts)
    handoffs = _handoffs(journey)
    failures = dict.fromkeys(FAILURE_TYPES, 0)

    if not journey.cases and not journey.works_orders:  # only calls
        legs = [leg for contact in journey.contacts for leg in contact]
        contacts = len(journey.contacts)
        if all(leg.raw.answered == -1 for leg in legs):
            status, ended = "abandoned", NULL_TIME
        elif contacts == 1 and any(leg.raw.wrap == "information_given" for leg in legs):
            status, ended = "met", max(leg.raw.ended for leg in legs)
        else:
            status, ended = "unlinked", NULL_TIME
        for contact in journey.contacts[1:]:
            failures[_contact_type(contact, rules) or "progress_chase"] += 1
        return Measures(status, started, ended, contacts, min(contacts, 1), failures, handoffs)

    call_starts = [legs[0].raw.started for legs in journey.contacts]
    stream: list[tuple] = []
    for legs in journey.contacts:
        stream.append((legs[0].raw.started, "telephony", legs[0].call_id, 0, "call", legs))
    for case in journey.cases:
        opened = case.raw.events[0][0]
        if case.raw.channel != "phone" or not any(opened - link <= s <= opened for s in call_starts):
            stream.append((opened, "crm", case.case_id, -1, "case", case))
        for i, (t, kind, _team, status, reason, _dup) in enumerate(case.events):
            stream.append((t, "crm", case.case_id, i, "event", (case.case_id, kind, status, reason)))
    for wo in journey.works_orders:
        stream.append((wo.raw.raised, "works", wo.work_order_id, 0, "raised", wo))
        if wo.done_at != NULL_TIME:
            stream.append((wo.done_at, "works", wo.work_order_id, 1, "done", wo))
    stream.sort(key=lambda s: s[:4])

    status_of: dict[str, str] = {}
    reason_of: dict[str, str | None] = {}
    running: set[str] = set()
    pending: set[str] = set()  # completed with follow_on_required, no follow-on raised yet
    pulled_back = False
    contacts = 0

    def met() -> bool:
        return (bool(status_of) and not running and not pending and not pulled_back
                and all(s == "closed" and reason_of[c] in GOOD_CLOSURES for c, s in status_of.items()))

    for _t, _system, _ref, _seq, kind, payload in stream:
        if kind in ("call", "case"):
            was_met = met()
            if contacts:
                wrap_type = _contact_type(payload, rules) if kind == "call" else None
                failure = wrap_type or ("not_done_right" if was_met else "repeat" if kind == "case" else "progress_chase")
                failures[failure] += 1
            contacts += 1
            pulled_back = pulled_back or was_met
        elif kind == "event":
            case_id, event_type, status, reason = payload
            status_of[case_id] = status
            if event_type == "reopened":
                reason_of[case_id] = None
            elif event_type in ("closed", "status_changed") and status in ("closed", "cancelled"):
                reason_of[case_id] = reason
                pulled_back = False
        elif kind == "raised":
            running.add(payload.work_order_id)
            pending.discard(payload.parent_id)
        else:  # done
            running.discard(payload.work_order_id)
            if payload.status == "completed":
                pulled_back = False
                if payload.outcome == "follow_on_required":
                    pending.add(payload.work_order_id)

    value = min(contacts, 1)
    if all(c.status == "cancelled" or c.closure_reason == "withdrawn" for c in journey.cases):
        return Measures("withdrawn", started, NULL_TIME, contacts, value, failures, handoffs)
    if met():
        ended = max([c.closed_at for c in journey.cases] + [w.completed_at for w in journey.works_orders])
        return Measures("met", started, ended, contacts, value, failures, handoffs)
    return Measures("open", started, NULL_TIME, contacts, value, failures, handoffs)


# ------------------------------------------------------------------ assembly


def derive_truth(world: World, snap: Snapshot, rules: JourneyRules) -> Truth:
    """Place every written record in its journey and measure each journey."""
    journeys: list[_Journey] = []
    by_need: dict[int, int] = {}
    case_journey: dict[str, int] = {}
    for case_id, case in snap.cases.items():  # opened order: a need's first case seeds it
        j = by_need.get(case.raw.need)
        if j is None:
            j = by_need[case.raw.need] = len(journeys)
            journeys.append(_Journey(case.raw.person, case.raw.service, case.raw.category))
        journeys[j].cases.append(case)
        case_journey[case_id] = j

    works_journey = _works_journeys(snap, case_journey)
    for wo_id, j in works_journey.items():
        journeys[j].works_orders.append(snap.works_orders[wo_id])

    resolved, unresolved = [], []
    for legs in _call_contacts(snap):
        ref = next((leg.case_ref for leg in legs if leg.case_ref in case_journey), None)
        (resolved if ref else unresolved).append((legs, case_journey[ref] if ref else -1))
    for legs, j in resolved:
        journeys[j].contacts.append(legs)

    # Rule 4's live journeys are judged on what the cases, works and referenced calls show.
    first_pass = [measure_journey(j, rules) for j in journeys]
    attribution = _Attribution(journeys, first_pass, _known_numbers(world, snap, resolved, journeys), rules)
    withheld = []
    for legs, _ in unresolved:
        first = legs[0].raw
        service = rules.queue_service.get(first.queue, first.queue)
        j = attribution.journey_of(first.number, service, first.started)
        if j is not None and journeys[j].person != first.person and first_pass[j].status == "met" \
                and first.started > first_pass[j].ended_at:
            withheld += [leg.call_id for leg in legs]
            j = None
        if j is None:
            j = len(journeys)
            journeys.append(_Journey(first.person, service, None))
        journeys[j].contacts.append(legs)

    measures = [measure_journey(j, rules) for j in journeys]
    first_ref = [min([c.case_id for c in j.cases] + [legs[0].call_id for legs in j.contacts]) for j in journeys]
    order = sorted(range(len(journeys)), key=lambda j: (measures[j].started_at, first_ref[j]))
    journey_ids = {j: f"TJ{n + 1:07d}" for n, j in enumerate(order)}
    person_ids = [p.person_id for p in world.people]

    rows = []
    for j in order:
        m, journey = measures[j], journeys[j]
        rows.append((journey_ids[j], person_ids[journey.person], journey.service, journey.category, m.status,
                     m.started_at, m.ended_at, m.contacts, m.value_contacts, sum(m.failures.values()),
                     *m.failures.values(), m.handoffs))
    journeys_df = pd.DataFrame.from_records(rows, columns=JOURNEY_COLUMNS)
    for col in ("started_at", "ended_at"):
        journeys_df[col] = utc_text(journeys_df[col].to_numpy())

    records = []
    for j in order:
        journey, jid = journeys[j], journey_ids[j]
        records += [("crm", c.case_id, person_ids[c.raw.person], jid, snap.customer_ids.get(c.raw.customer))
                    for c in journey.cases]
        records += [("telephony", leg.call_id, person_ids[leg.raw.person], jid, None)
                    for legs in journey.contacts for leg in legs]
        records += [("works", w.work_order_id, person_ids[journey.person], jid, None) for w in journey.works_orders]
    proactive = [("works", wo_id, None, None, None) for wo_id in snap.works_orders if wo_id not in works_journey]
    records_df = pd.DataFrame.from_records(records + proactive, columns=RECORD_COLUMNS)
    records_df = records_df.sort_values(["system", "source_ref"], kind="mergesort").reset_index(drop=True)
    return Truth(records_df, journeys_df, len(proactive), withheld)
