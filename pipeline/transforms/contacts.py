"""Contacts: what the person did to reach the council (journeys.md, "Demand").

A call is one contact however many legs it has: legs chained by ``parent_call_id``
are a transfer of the same call. A case counts as a contact when it was raised through
a channel other than phone; a phone-channel case counts only when no call of its
journey started up to ``call_case_link_minutes`` before it (it is then the record of a
call the telephony extract lacks).
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import FAILURE_TYPES, JourneyRules
from pipeline.transforms.chains import chain_roots, resolve_refs

INFORMATION_GIVEN = "information_given"
# Contacts as published in JourneyResult.contacts (demand from demand.classify_demand).
CONTACT_COLUMNS = ["journey_id", "system", "source_ref", "contact_at", "channel", "demand_type", "failure_type"]
_MADE = ["journey_id", "system", "source_ref", "contact_at", "channel", "kind", "wrap_failure"]


def wrap_failure_types(wrap_codes: pd.Series, rules: JourneyRules) -> pd.Series:
    """The failure type an agent's wrap code records (None for value, no signal, or an
    unknown code: unknown codes are reported, never guessed)."""
    failures = {code: kind for code, kind in rules.wrap_code_demand.items() if kind in FAILURE_TYPES}
    out = wrap_codes.map(failures)
    return out.where(out.notna(), None).astype(object)


def unknown_wrap_codes(wrap_codes: pd.Series, rules: JourneyRules) -> dict[str, int]:
    """Wrap codes the configured map does not know, with how many legs carry each."""
    unknown = wrap_codes[wrap_codes.notna() & ~wrap_codes.isin(list(rules.wrap_code_demand))]
    return {str(k): int(v) for k, v in unknown.value_counts().sort_index().items()}


def call_legs(calls: pd.DataFrame, call_attribution: pd.DataFrame, case_ids: pd.Series,
              rules: JourneyRules) -> pd.DataFrame:
    """Every call leg with its contact (the root of its transfer chain), person, the
    case its ref resolved to (only cases that count at as-of) and wrap failure type."""
    parent = resolve_refs(calls["parent_call_id"], calls["call_id"])
    root, _ = chain_roots(calls["call_id"], parent, calls["started_at"])
    attribution = call_attribution.drop_duplicates("call_id").set_index("call_id")
    case = calls["call_id"].map(attribution["resolved_case_id"])
    person = calls["call_id"].map(attribution["person_id"])
    return calls.assign(
        contact_id=root,
        person_id=person.where(person.notna(), None).astype(object),
        case_id=case.where(case.isin(case_ids), None).astype(object),
        abandoned=calls["answered_at"].isna(),
        wrap_failure=wrap_failure_types(calls["wrap_code"], rules),
        information_given=calls["wrap_code"].eq(INFORMATION_GIVEN),
    )


def call_contacts(legs: pd.DataFrame) -> pd.DataFrame:
    """One row per call (contact): its root leg decides the time and service; the person
    is the root leg's, else the first leg's that has one; the case is the first leg's
    (root first, then by start) whose ref resolved, since the agent who took a transfer
    often links the case the first agent did not; likewise the wrap failure type."""
    ordered = legs.assign(_root=legs["call_id"].eq(legs["contact_id"])).sort_values(
        ["contact_id", "_root", "started_at", "call_id"], ascending=[True, False, True, True], kind="stable")
    grouped = ordered.groupby("contact_id", sort=False)
    firsts = grouped[["person_id", "case_id", "wrap_failure"]].first()
    roots = ordered[ordered["_root"]].set_index("contact_id")
    out = pd.DataFrame({
        "contact_at": roots["started_at"],
        "service": roots["service"],
        "ended_at": grouped["ended_at"].max(),
        "information_given": grouped["information_given"].any(),
        "abandoned": grouped["abandoned"].all(),
    }).join(firsts)
    for col in ("person_id", "case_id", "wrap_failure"):
        out[col] = out[col].where(out[col].notna(), None).astype(object)
    return out.rename_axis("contact_id").reset_index()


def journey_contacts(contacts: pd.DataFrame, cases: pd.DataFrame, link_minutes: int) -> pd.DataFrame:
    """All contacts of all journeys, by journey and time: ``journey_id, system,
    source_ref, contact_at, channel, kind`` (call or case) ``, wrap_failure``.

    ``contacts`` are the calls and ``cases`` the cases, both with ``journey_id``. A
    case's contact time is its ``opened_at``.
    """
    calls = pd.DataFrame({"journey_id": contacts["journey_id"], "system": "telephony",
                          "source_ref": contacts["contact_id"], "contact_at": contacts["contact_at"],
                          "channel": "phone", "kind": "call", "wrap_failure": contacts["wrap_failure"]})
    raised = pd.DataFrame({"journey_id": cases["journey_id"], "system": "crm", "source_ref": cases["case_id"],
                           "contact_at": cases["opened_at"], "channel": cases["channel"], "kind": "case",
                           "wrap_failure": None})
    phone = raised["channel"] == "phone"
    recorded_call = _call_started_before(raised[phone], calls, link_minutes)
    out = pd.concat([raised[~phone], raised[phone][~recorded_call], calls], ignore_index=True)
    return out.sort_values(["journey_id", "contact_at", "system", "source_ref"], kind="stable",
                           ignore_index=True)[_MADE]


def _call_started_before(cases: pd.DataFrame, calls: pd.DataFrame, link_minutes: int) -> pd.Series:
    """Whether a call of the case's journey started up to ``link_minutes`` before the case
    opened (the case is then that call's record, not a contact of its own)."""
    if cases.empty or calls.empty:
        return pd.Series(False, index=cases.index)
    left = cases[["journey_id", "contact_at"]].rename_axis("_pos").reset_index().sort_values("contact_at",
                                                                                            kind="stable")
    right = calls[["journey_id", "contact_at"]].rename(columns={"contact_at": "started_at"}).sort_values(
        "started_at", kind="stable")
    found = pd.merge_asof(left, right, left_on="contact_at", right_on="started_at", by="journey_id",
                          direction="backward", tolerance=pd.Timedelta(minutes=link_minutes))
    return pd.Series(found["started_at"].notna().to_numpy(), index=found["_pos"].to_numpy()).reindex(cases.index)
