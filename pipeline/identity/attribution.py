"""Which person each call leg belongs to (journeys.md, People), and why.

In order: the leg's own ``case_ref`` when it resolves; else, for a transfer leg, its
first leg's outcome; else the caller number against each person's known numbers. A
number known for several people (a household landline) goes to the one with a live
need in the call's service; otherwise the call stays unattributed, with the reason as
its method. Nothing is guessed: an unresolvable ref is reported, not fuzzy-matched.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from pipeline.config import JourneyRules
from pipeline.transforms.chains import normalise_ref

ATTRIBUTION_COLUMNS = ["call_id", "person_id", "method", "resolved_case_id"]
METHODS = ("case_ref", "phone", "household", "parent_leg", "ambiguous", "withheld", "blocked", "unknown_number")
MAX_TRANSFER_DEPTH = 50
REPORT_SAMPLE = 20


def ref_keys(refs: pd.Series) -> pd.Series:
    """Case refs as agents type them: ``" c-00123 "`` finds ``C-00123``; a blank ref is None."""
    keys = normalise_ref(refs)
    return keys.where(keys != "", None)


def resolve_case_refs(keys: pd.Series, case_ids: pd.Series) -> pd.Series:
    """The case_id each ref (as ``ref_keys``) names, or None. Refs that match two
    case_ids once case and spaces are ignored resolve to nothing rather than to a guess."""
    ids = pd.DataFrame({"key": ref_keys(case_ids), "case_id": case_ids.to_numpy()})
    unique = ids.drop_duplicates("key", keep=False).set_index("key")["case_id"]
    return keys.map(unique)


def known_numbers(cases: pd.DataFrame, person_record: pd.DataFrame, ref_calls: pd.DataFrame,
                  blocked: set[str]) -> pd.DataFrame:
    """``number, person_id``: phones on each person's CRM records, plus caller numbers
    of calls whose case_ref resolved to them."""
    from_cases = cases[["case_id", "phone"]].merge(person_record, on="case_id")[["phone", "person_id"]]
    from_calls = ref_calls[["caller_number", "person_id"]].rename(columns={"caller_number": "phone"})
    known = pd.concat([from_cases, from_calls], ignore_index=True).dropna()
    known = known[~known["phone"].isin(blocked) & (known["phone"].str.strip() != "")]
    return known.drop_duplicates().rename(columns={"phone": "number"})


def live_need_people(calls: pd.DataFrame, known: pd.DataFrame, case_people: pd.DataFrame,
                     rules: JourneyRules) -> pd.Series:
    """For calls from a number known for several people: the one person with a live
    need in the call's service (a case open at the call, closed up to
    ``reopen_window_days`` before it, or opened up to ``call_case_link_minutes`` after it).

    ``calls``: ``call_id, number, service, started_at``; ``known``: ``number,
    person_id``; ``case_people``: ``person_id, service, opened_at, closed_at``. Returns
    person_id by call_id, for the calls with exactly one such person. Each number's
    people are joined to their cases first, so only people with a case in the call's
    service meet the call (a much-shared number meets hundreds of thousands of calls).
    """
    cases_by_number = known.merge(case_people, on="person_id")
    joined = calls.merge(cases_by_number, on=["number", "service"])
    t, opened, closed = joined["started_at"], joined["opened_at"], joined["closed_at"]
    open_at_call = (opened <= t) & (closed.isna() | (closed >= t))
    met_recently = (closed < t) & (closed >= t - pd.Timedelta(days=rules.reopen_window_days))
    opened_after = (opened > t) & (opened <= t + pd.Timedelta(minutes=rules.call_case_link_minutes))
    live = joined[open_at_call | met_recently | opened_after].drop_duplicates(["call_id", "person_id"])
    per_call = live.groupby("call_id")["person_id"].agg(["size", "first"])  # distinct people, rows being unique
    return per_call.loc[per_call["size"] == 1, "first"].rename("person_id")


def _transfer_roots(calls: pd.DataFrame) -> pd.Series:
    """The first leg of each leg's transfer chain (itself when it is a first leg or its
    parent is not in the extract). Only legs with a parent are walked."""
    ids = calls["call_id"]
    parent = calls.set_index("call_id")["parent_call_id"]
    parent = parent[parent.isin(ids) & (parent != parent.index)]
    root = pd.Series(ids.to_numpy(copy=True), index=ids.to_numpy())  # own values: they are written below
    walked = root[root.index.isin(parent.index)]
    for _ in range(MAX_TRANSFER_DEPTH):  # a cycle in bad data cannot loop forever
        step = walked.map(parent)
        if step.isna().all():
            break
        walked = step.where(step.notna(), walked)
    root[walked.index] = walked
    return root


def attribute_calls(calls: pd.DataFrame, cases: pd.DataFrame, person_record: pd.DataFrame,
                    blocked_numbers: Collection[str], rules: JourneyRules) -> tuple[pd.DataFrame, dict]:
    """``call_id, person_id, method, resolved_case_id`` for every call leg, and a report
    (legs per method, unresolved case refs)."""
    blocked = set(blocked_numbers)
    legs = calls[["call_id", "parent_call_id", "caller_number", "started_at", "service", "case_ref"]].copy()
    legs["caller_number"] = legs["caller_number"].where(
        legs["caller_number"].notna() & (legs["caller_number"].astype(str).str.strip() != ""), None)
    person_of_case = person_record.set_index("case_id")["person_id"]
    keys = ref_keys(legs["case_ref"])
    legs["resolved_case_id"] = resolve_case_refs(keys, cases["case_id"])
    legs["person_id"] = legs["resolved_case_id"].map(person_of_case)
    legs["method"] = legs["person_id"].notna().map({True: "case_ref", False: None})
    has_ref = keys.notna()
    unresolved = legs[has_ref & legs["resolved_case_id"].isna()]

    known = known_numbers(cases, person_record, legs[legs["method"] == "case_ref"], blocked)
    per_number = known.groupby("number")["person_id"].agg(["size", "first"])  # distinct people (rows are unique)
    todo = legs["method"].isna()
    number = legs["caller_number"]
    people = number.map(per_number["size"])
    legs.loc[todo & number.isna(), "method"] = "withheld"
    legs.loc[todo & number.isin(blocked), "method"] = "blocked"
    legs.loc[todo & number.notna() & ~number.isin(blocked) & people.isna(), "method"] = "unknown_number"
    single = todo & (people == 1)
    legs.loc[single, "person_id"] = number[single].map(per_number["first"])
    legs.loc[single, "method"] = "phone"

    shared = legs[todo & (people > 1)]
    if not shared.empty:
        calls_from = shared[["call_id", "service", "started_at"]].assign(number=number[shared.index])
        case_people = (cases[["case_id", "service", "opened_at", "closed_at"]].merge(person_record, on="case_id")
                       .drop(columns="case_id"))
        chosen = shared["call_id"].map(live_need_people(calls_from, known, case_people, rules))
        legs.loc[shared.index, "person_id"] = chosen
        legs.loc[shared.index, "method"] = chosen.notna().map({True: "household", False: "ambiguous"})

    # Transfer legs follow their first leg unless their own ref resolved.
    root = legs["call_id"].map(_transfer_roots(legs))
    follows = (root != legs["call_id"]) & (legs["method"] != "case_ref")
    first_leg = legs.set_index("call_id")
    inherited_person = root[follows].map(first_leg["person_id"])
    legs.loc[follows, "person_id"] = inherited_person
    legs.loc[follows, "method"] = root[follows].map(first_leg["method"]).where(inherited_person.isna(), "parent_leg")

    out = legs[ATTRIBUTION_COLUMNS].astype(object)
    out = out.where(out.notna(), None).reset_index(drop=True)
    report = {
        "call_legs": int(len(out)),
        "call_legs_by_method": {m: int(n) for m, n in out["method"].value_counts().sort_index().items()},
        "unresolved_case_refs": int(len(unresolved)),
        "unresolved_case_ref_calls": sorted(unresolved["call_id"])[:REPORT_SAMPLE],
    }
    return out, report
