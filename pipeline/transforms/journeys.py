"""Journeys: one need of one person, assembled by rules 1-5 of journeys.md.

1. each CRM case seeds a journey, unless rule 2 or 3 puts it into an earlier one;
2. a case with ``duplicate_of`` joins that case's journey (chains followed, loops cut);
3. a repeat case of the same person and need joins a journey still unmet, or met up
   to ``reopen_window_days`` before (``linking.py``);
4. a call (its legs one contact) joins its case ref's journey; else the person's
   live journey in the service; else the journey of a case they open up to
   ``call_case_link_minutes`` later; else a journey of its own (``linking.py``);
5. a works order joins its case ref's journey; a follow-on its parent's.

Rules 2, 5 and rule 4's references need no decision in time, so they are applied
first, vectorised: a case with its duplicates, its works orders and its referenced
calls travel together as a *bundle*, named by its root case. Only bundles and
unreferenced calls of known people go through the time-ordered pass of rules 3 and 4.

Pure: frames in, frames out; ``as_of`` and the ``journeys`` config are arguments.
Nothing after as-of counts: later records are left out, and a case or works order
closed after as-of is open at as-of.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.config import JourneyRules
from pipeline.errors import PipelineError
from pipeline.transforms.chains import chain_roots, resolve_refs
from pipeline.transforms.contacts import (CONTACT_COLUMNS, call_contacts, call_legs, journey_contacts,
                                          unknown_wrap_codes)
from pipeline.transforms.demand import classify_demand
from pipeline.transforms.events import journey_events, record_events
from pipeline.transforms.journey_measures import journey_measures
from pipeline.transforms.linking import link_needs
from pipeline.transforms.spans import UNMET, case_spans, works_order_spans
from pipeline.transforms.status import SPAN_FIELDS, closed_and_met, found_met, journey_status

# Columns each input must have (the staged contract, docs/stages.md), and those that
# may not be empty in any row.
REQUIRED = {
    "crm_cases": (["case_id", "postcode", "service", "category", "channel", "location_uprn", "location_postcode",
                   "location_usrn", "opened_at", "closed_at", "status", "closure_reason", "team", "duplicate_of",
                   "updated_at"], ["case_id", "service", "category", "channel", "opened_at"]),
    "crm_case_events": (["case_id", "event_at", "event_type", "team", "status"], ["case_id", "event_at", "event_type"]),
    "call_logs": (["call_id", "parent_call_id", "started_at", "answered_at", "ended_at", "agent_team", "wrap_code",
                   "case_ref", "service"], ["call_id", "started_at", "ended_at"]),
    "works_orders": (["work_order_id", "case_ref", "parent_work_order_id", "raised_at", "completed_at", "status",
                      "outcome", "team", "updated_at"], ["work_order_id", "raised_at"]),
    "person_record": (["case_id", "person_id"], ["case_id"]),
    "call_attribution": (["call_id", "person_id", "resolved_case_id"], ["call_id"]),
}
KEYS = {"crm_cases": "case_id", "call_logs": "call_id", "works_orders": "work_order_id",
        "person_record": "case_id", "call_attribution": "call_id"}
TIMESTAMPS = {"crm_cases": ["opened_at", "closed_at", "updated_at"], "crm_case_events": ["event_at"],
              "call_logs": ["started_at", "answered_at", "ended_at"],
              "works_orders": ["raised_at", "completed_at", "updated_at"]}


class JourneyInputError(PipelineError, ValueError):
    """A staged frame the journeys cannot be built from; names frame, file, row and column."""


@dataclass(frozen=True)
class JourneyResult:
    """What ``assemble_journeys`` returns (docs/stages.md, section 3)."""

    membership: pd.DataFrame  # system, source_ref, journey_id
    journey_event: pd.DataFrame  # the published journey_event columns
    journey: pd.DataFrame  # the published journey columns less person_key, plus person_id
    contacts: pd.DataFrame  # one row per contact: contacts.CONTACT_COLUMNS
    proactive_works_orders: int
    report: dict = field(default_factory=dict)


def assemble_journeys(cases: pd.DataFrame, case_events: pd.DataFrame, calls: pd.DataFrame,
                      works_orders: pd.DataFrame, person_record: pd.DataFrame, call_attribution: pd.DataFrame,
                      rules: JourneyRules, as_of: pd.Timestamp) -> JourneyResult:
    """Journeys, their events, status, demand and measures as of ``as_of`` (naive UTC).

    Inputs are the staged frames (docs/stages.md), ``person_record`` (case_id,
    person_id) and ``call_attribution`` (call_id, person_id, resolved_case_id).
    """
    for name, frame in {"crm_cases": cases, "crm_case_events": case_events, "call_logs": calls,
                        "works_orders": works_orders, "person_record": person_record,
                        "call_attribution": call_attribution}.items():
        check_input(name, frame)
    cases, case_events, calls, works_orders, ignored = records_up_to(as_of, cases, case_events, calls, works_orders)

    # Rules 2, 5 and referenced calls: everything that travels with a case.
    cases, duplicates = bundle_cases(cases, person_record)
    bundle_of = cases.set_index("case_id")["bundle"]
    works_orders = works_orders.assign(case_id=attach_works_orders(works_orders, cases["case_id"]))
    works_orders["bundle"] = works_orders["case_id"].map(bundle_of)
    legs = call_legs(calls, call_attribution, cases["case_id"], rules)
    contacts = call_contacts(legs)
    contacts["bundle"] = contacts["case_id"].map(bundle_of)
    spans = bundle_spans(cases, case_events, works_orders, bundle_of, as_of)

    # Rules 1, 3 and 4, then a number per journey (numbers group and sort fast; the
    # published, stable ids are put on the way out).
    seeds = place_records(cases, spans, contacts, rules)
    number, journey_ids = number_journeys(seeds)
    bundle_no = seeds["bundle"].map(number)
    cases["journey_id"] = cases["bundle"].map(bundle_no).astype("int64")
    contacts["journey_id"] = contacts["contact_id"].map(seeds["contact"].map(number)).astype("int64")
    legs["journey_id"] = legs["contact_id"].map(contacts.set_index("contact_id")["journey_id"]).astype("int64")
    placed = works_orders[works_orders["bundle"].notna()]
    placed = placed.assign(journey_id=placed["bundle"].map(bundle_no).astype("int64"))
    spans = spans.assign(journey_id=spans["bundle"].map(bundle_no).astype("int64"))[SPAN_FIELDS]
    membership = pd.concat([
        pd.DataFrame({"system": "crm", "source_ref": cases["case_id"], "journey_id": cases["journey_id"]}),
        pd.DataFrame({"system": "telephony", "source_ref": legs["call_id"], "journey_id": legs["journey_id"]}),
        pd.DataFrame({"system": "works", "source_ref": placed["work_order_id"], "journey_id": placed["journey_id"]}),
    ], ignore_index=True)

    # Demand, status, events and measures.
    made = journey_contacts(contacts, cases, rules.call_case_link_minutes)
    state = closed_and_met(made, spans)
    demand = classify_demand(made, found_met(made, state))
    pulls = made.loc[(made["kind"] == "call") & state["closed_and_met"], ["journey_id", "contact_at"]]
    journeys = journey_facts(cases, contacts, number)
    status = journey_status(journeys["journey_id"], spans, contacts, pulls, as_of)
    events = journey_events(record_events(cases, case_events, legs, works_orders, as_of), membership, demand)
    journey = journey_measures(journeys, status, events, demand, placed, as_of)
    membership, events, journey, demand = (
        frame.assign(journey_id=journey_ids[frame["journey_id"].to_numpy(dtype="int64")])
        for frame in (membership, events, journey, demand[CONTACT_COLUMNS]))

    proactive = int(works_orders["bundle"].isna().sum())
    report = {
        "records_after_as_of": ignored,
        "unknown_wrap_codes": unknown_wrap_codes(calls["wrap_code"], rules),
        "call_refs_unresolved": int((calls["case_ref"].notna() & legs["case_id"].isna()).sum()),
        "calls_without_attribution": int((~calls["call_id"].isin(call_attribution["call_id"])).sum()),
        "cases_without_person": int(cases["person_id"].isna().sum()),
        "cases_closed_not_met": int((spans["kind"] == UNMET).sum()),
        **duplicates,
        "works_orders_unresolved_ref": int((works_orders["case_ref"].notna() & works_orders["bundle"].isna()).sum()),
        "proactive_works_orders": proactive,
        "journeys": int(len(journey)),
        "journeys_by_status": {k: int(v) for k, v in journey["status"].value_counts().sort_index().items()},
    }
    return JourneyResult(membership=membership, journey_event=events, journey=journey, contacts=demand,
                         proactive_works_orders=proactive, report=report)


# --------------------------------------------------------------------------- inputs


def check_input(name: str, frame: pd.DataFrame) -> None:
    """Fail early and clearly on a frame that breaks the staged contract."""
    columns, not_null = REQUIRED[name]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise JourneyInputError(f"{name}: missing columns {missing}")
    for col in TIMESTAMPS.get(name, []):
        if not pd.api.types.is_datetime64_dtype(frame[col]) or isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            raise JourneyInputError(f"{name}, column '{col}': expected naive-UTC timestamps "
                                    f"(datetime64[ns]), got {frame[col].dtype}")
    for col in not_null:
        bad = frame[col].isna()
        if bad.any():
            raise JourneyInputError(f"{_where(name, frame, bad)}, column '{col}': empty "
                                    f"({int(bad.sum())} rows like this)")
    key = KEYS.get(name)
    if key:
        bad = frame[key].duplicated()
        if bad.any():
            raise JourneyInputError(f"{_where(name, frame, bad)}, column '{key}': "
                                    f"{frame.loc[bad, key].iloc[0]!r} appears more than once")


def _where(name: str, frame: pd.DataFrame, bad: pd.Series) -> str:
    """The first offending row, by landing file and line when the frame carries them."""
    pos = int(bad.to_numpy().argmax())
    row = frame.iloc[pos]
    if "source_file" in frame.columns and pd.notna(row.get("source_file")):
        return f"{name} ({row['source_file']}, line {row.get('source_line')})"
    return f"{name} row {pos}"


def records_up_to(as_of: pd.Timestamp, cases: pd.DataFrame, case_events: pd.DataFrame, calls: pd.DataFrame,
                  works_orders: pd.DataFrame) -> tuple:
    """The records that exist at as-of (history only of those cases), and how many of
    each source were left out."""
    kept_cases = cases[cases["opened_at"] <= as_of]
    kept_events = case_events[(case_events["event_at"] <= as_of) & case_events["case_id"].isin(kept_cases["case_id"])]
    kept_calls = calls[calls["started_at"] <= as_of]
    kept_works = works_orders[works_orders["raised_at"] <= as_of]
    ignored = {"crm_cases": len(cases) - len(kept_cases), "crm_case_events": len(case_events) - len(kept_events),
               "call_logs": len(calls) - len(kept_calls), "works_orders": len(works_orders) - len(kept_works)}
    return (*(f.reset_index(drop=True) for f in (kept_cases, kept_events, kept_calls, kept_works)), ignored)


# --------------------------------------------------------------------------- rules 1, 2 and 5


def bundle_cases(cases: pd.DataFrame, person_record: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Rules 1-2: each case with its person and ``bundle`` (the case at the end of its
    ``duplicate_of`` chain; a loop ends at its earliest-opened case), and counts of
    references that did not resolve and of cases on loops."""
    target = resolve_refs(cases["duplicate_of"], cases["case_id"])
    target = target.where(target != cases["case_id"], None)
    bundle, on_loop = chain_roots(cases["case_id"], target, cases["opened_at"])
    person = cases["case_id"].map(person_record.drop_duplicates("case_id").set_index("case_id")["person_id"])
    out = cases.assign(bundle=bundle, person_id=person.where(person.notna(), None).astype(object))
    counts = {"duplicate_of_unresolved": int((cases["duplicate_of"].notna() & target.isna()
                                              & (cases["duplicate_of"] != cases["case_id"])).sum()),
              "duplicate_of_loops": int(on_loop.sum())}
    return out, counts


def attach_works_orders(works_orders: pd.DataFrame, case_ids: pd.Series) -> pd.Series:
    """Rule 5: the case each works order joins through (None: proactive work).

    Its own ``case_ref`` when that resolves (ignoring case and whitespace); otherwise
    the nearest ancestor's along ``parent_work_order_id``.
    """
    own = resolve_refs(works_orders["case_ref"], case_ids)
    parent = resolve_refs(works_orders["parent_work_order_id"], works_orders["work_order_id"])
    root, _ = chain_roots(works_orders["work_order_id"], parent.where(own.isna(), None), works_orders["raised_at"])
    case = root.map(pd.Series(own.to_numpy(), index=works_orders["work_order_id"].to_numpy()))
    return case.where(case.notna(), None).astype(object)


def bundle_spans(cases: pd.DataFrame, case_events: pd.DataFrame, works_orders: pd.DataFrame,
                 bundle_of: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """The spans (``spans.py``) of every case and placed works order, with their bundle."""
    parent = resolve_refs(works_orders["parent_work_order_id"], works_orders["work_order_id"])
    return pd.concat([
        case_spans(cases, case_events, as_of).pipe(lambda s: s.assign(bundle=s["case_id"].map(bundle_of))),
        works_order_spans(works_orders, parent, as_of).assign(bundle=works_orders["bundle"].to_numpy()),
    ], ignore_index=True).dropna(subset=["bundle"])


# --------------------------------------------------------------------------- rules 3 and 4


def place_records(cases: pd.DataFrame, spans: pd.DataFrame, contacts: pd.DataFrame,
                  rules: JourneyRules) -> dict[str, pd.Series]:
    """Seed of the journey of every bundle (``bundle`` -> seed) and every call contact
    (``contact`` -> seed): referenced calls follow their bundle, calls of unknown people
    without a usable ref are journeys of their own, the rest go through rules 3-4."""
    roots = cases[cases["case_id"] == cases["bundle"]]
    free = contacts[contacts["bundle"].isna() & contacts["person_id"].notna()]
    known = cases[cases["person_id"].notna()]
    bundle_seed, free_seed = link_needs(
        bundles=roots[["bundle", "person_id", "service", "category", "location_uprn", "location_usrn",
                       "location_postcode", "opened_at"]],
        spans=spans[["bundle", "case_id", "start", "end", "kind", "superseded", "closes"]],
        referenced=contacts.loc[contacts["bundle"].notna(), ["bundle", "contact_at"]],
        free_calls=free,
        case_index=pd.DataFrame({"bundle": known["bundle"], "person_id": known["person_id"],
                                 "service": known["service"], "opened_at": known["opened_at"]}),
        reopen_window_days=rules.reopen_window_days, call_case_link_minutes=rules.call_case_link_minutes)
    contact_seed = contacts["bundle"].map(bundle_seed).astype(object)
    contact_seed = contact_seed.where(contact_seed.notna(), contacts["contact_id"].map(free_seed))
    contact_seed = contact_seed.where(contact_seed.notna(), "telephony:" + contacts["contact_id"].astype(str))
    return {"bundle": bundle_seed, "contact": pd.Series(contact_seed.to_numpy(), index=contacts["contact_id"])}


def number_journeys(seeds: dict[str, pd.Series]) -> tuple[pd.Series, np.ndarray]:
    """(seed -> journey number, journey id by number)."""
    unique = pd.unique(pd.concat([seeds["bundle"], seeds["contact"]]).dropna())
    return pd.Series(np.arange(len(unique)), index=unique), np.array([journey_id_for(s) for s in unique], dtype=object)


def journey_id_for(seed: str) -> str:
    """``J-`` and the first 16 hex digits of SHA-256 of the seeding record
    (``crm:<case_id>`` or ``telephony:<root call_id>``): the same record seeds the same
    id in every run, whatever else arrives."""
    return "J-" + hashlib.sha256(seed.encode()).hexdigest()[:16]


def journey_facts(cases: pd.DataFrame, contacts: pd.DataFrame, number: pd.Series) -> pd.DataFrame:
    """``journey_id, person_id, service, category, postcode_district`` from each
    journey's seeding record: the seeding case, or the seeding call (category None)."""
    case_no = ("crm:" + cases["case_id"].astype(str)).map(number)
    seeded = cases[case_no.notna()]
    from_cases = pd.DataFrame({
        "journey_id": case_no[case_no.notna()].astype("int64"), "person_id": seeded["person_id"],
        "service": seeded["service"], "category": seeded["category"],
        "postcode_district": outward_code(seeded["location_postcode"]).fillna(outward_code(seeded["postcode"]))})
    call_no = ("telephony:" + contacts["contact_id"].astype(str)).map(number)
    seed_calls = contacts[call_no.notna()]
    from_calls = pd.DataFrame({"journey_id": call_no[call_no.notna()].astype("int64"),
                               "person_id": seed_calls["person_id"], "service": seed_calls["service"],
                               "category": None, "postcode_district": None})
    out = pd.concat([from_cases, from_calls], ignore_index=True).sort_values("journey_id", ignore_index=True)
    for col in ("person_id", "service", "category", "postcode_district"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def outward_code(postcodes: pd.Series) -> pd.Series:
    """The district part of a UK postcode (``LS6 1AA`` -> ``LS6``); None when the value is
    not shaped like a postcode, so a full or malformed postcode is never published."""
    compact = postcodes.astype(object).str.replace(r"\s+", "", regex=True).str.upper()
    return compact.str.extract(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$", expand=False).astype(object)
