"""Status of each journey at the run's as-of time (journeys.md, "Status").

A journey with cases is judged on its spans (``spans.py``): withdrawn when every case
was cancelled or withdrawn; met when nothing is open, every case's latest closure is
one that meets the need (resolved, no_fault_found, referred_elsewhere, duplicate) and
no call since the last closure or completion found it so (such a call pulls the
journey back in until the next closure); open otherwise. ``ended_at`` of a met
journey is that last closure or completion. A journey of calls alone is abandoned
when every leg was, met at the call's end when it was a single call that gave
information, and unlinked otherwise.

``linking.case_state`` answers the same question one journey at a time, at any
moment, for rules 3 and 4; this module answers it for every journey at once: at
as-of, and just before each contact (a contact that finds its journey met is the one
that pulls it back in, ``not_done_right`` unless its wrap code says otherwise).
"""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.linking import ABANDONED, MET, OPEN, UNLINKED, WITHDRAWN

STATUS_COLUMNS = ["journey_id", "status", "ended_at"]
SPAN_FIELDS = ["journey_id", "case_id", "start", "end", "kind", "superseded", "closes"]


def journey_status(journey_ids: pd.Series, spans: pd.DataFrame, calls: pd.DataFrame, pulls: pd.DataFrame,
                   as_of: pd.Timestamp) -> pd.DataFrame:
    """``STATUS_COLUMNS`` for every journey.

    ``spans``: ``SPAN_FIELDS`` (NaT end: open at as-of; case_id None for a works
    order); ``calls``: one row per call contact, ``journey_id, ended_at,
    information_given, abandoned``; ``pulls``: ``journey_id, contact_at`` of the calls
    made when their journey was closed and met on its spans (``closed_and_met``).
    """
    has_cases = calls["journey_id"].isin(spans["journey_id"])
    parts = [p for p in (_case_journeys(spans, pulls), _call_only_journeys(calls[~has_cases], as_of))
             if not p.empty]
    out = pd.concat(parts) if parts else pd.DataFrame(columns=STATUS_COLUMNS[1:])
    out = out.reindex(journey_ids.to_numpy())
    if out["status"].isna().any():
        missing = journey_ids[out["status"].isna().to_numpy()].tolist()[:5]
        raise ValueError(f"journeys with neither a case nor a call: {missing}")
    out = out.astype({"ended_at": "datetime64[ns]"})
    return out.rename_axis("journey_id").reset_index()[STATUS_COLUMNS]


def _case_journeys(spans: pd.DataFrame, pulls: pd.DataFrame) -> pd.DataFrame:
    if spans.empty:
        return pd.DataFrame(columns=STATUS_COLUMNS[1:])
    jid = spans["journey_id"]
    current = spans[spans["case_id"].notna() & spans["superseded"].isna()]  # each case's latest span
    all_met = current["kind"].eq(MET).groupby(current["journey_id"]).all()
    all_withdrawn = current["kind"].eq(WITHDRAWN).groupby(current["journey_id"]).all()
    still_open = spans["end"].isna().groupby(jid).any()
    last_close = spans["closes"].groupby(jid).max().reindex(still_open.index)
    last_pull = pulls.groupby("journey_id")["contact_at"].max().reindex(still_open.index).astype("datetime64[ns]")
    met = all_met.reindex(still_open.index, fill_value=False) & ~still_open & ~(last_pull > last_close)
    status = pd.Series(OPEN, index=still_open.index, dtype=object).mask(met, MET)
    status = status.mask(all_withdrawn.reindex(still_open.index, fill_value=False), WITHDRAWN)
    return pd.DataFrame({"status": status, "ended_at": last_close.where(status == MET)})


def _call_only_journeys(calls: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    if calls.empty:
        return pd.DataFrame(columns=STATUS_COLUMNS[1:])
    g = calls.groupby("journey_id")
    single = g.size() == 1
    ended = g["ended_at"].max()
    met = single & g["information_given"].any() & (ended <= as_of)
    status = pd.Series(UNLINKED, index=ended.index, dtype=object).mask(met, MET).mask(g["abandoned"].all(), ABANDONED)
    return pd.DataFrame({"status": status, "ended_at": ended.where(status == MET)})


def closed_and_met(points: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """Per point (``journey_id, contact_at``), the journey just before it judged on its
    spans alone: ``closed_and_met`` (something had started, nothing was open and every
    case's current span had closed as met) and ``last_close`` (the latest closure or
    completion by then)."""
    left = points[["journey_id", "contact_at"]].rename_axis("_p").reset_index()
    pairs = left.merge(spans[SPAN_FIELDS], on="journey_id")
    pairs = pairs[pairs["start"] < pairs["contact_at"]]
    pairs = pairs.assign(
        open=pairs["end"].isna() | (pairs["end"] > pairs["contact_at"]),
        current=pairs["case_id"].notna() & ~(pairs["superseded"] < pairs["contact_at"]))
    pairs = pairs.assign(unmet=pairs["current"] & (pairs["open"] | pairs["kind"].ne(MET)))
    g = pairs.groupby("_p")
    state = pd.DataFrame({"open": g["open"].any(), "unmet": g["unmet"].any(), "cases": g["current"].any(),
                          "last_close": g["closes"].max()}).reindex(left["_p"])
    # A point before anything started has no row: nothing there to be met.
    met = state["cases"].eq(True) & state["open"].eq(False) & state["unmet"].eq(False)
    return pd.DataFrame({"closed_and_met": met.to_numpy(),
                         "last_close": state["last_close"].astype("datetime64[ns]").to_numpy()},
                        index=points.index)


def found_met(contacts: pd.DataFrame, state: pd.DataFrame) -> pd.Series:
    """Whether each contact found its journey met: closed and met on its spans, and not
    already pulled back in by an earlier call that found it so since the last closure.

    ``contacts``: ``journey_id, contact_at, kind``; ``state``: ``closed_and_met`` for them.
    """
    pulling = contacts.loc[(contacts["kind"] == "call") & state["closed_and_met"], ["journey_id", "contact_at"]]
    if pulling.empty or contacts.empty:
        return state["closed_and_met"].astype(bool)
    left = contacts[["journey_id", "contact_at"]].rename_axis("_c").reset_index().sort_values("contact_at",
                                                                                               kind="stable")
    right = pulling.rename(columns={"contact_at": "pulled_at"}).sort_values("pulled_at", kind="stable")
    found = pd.merge_asof(left, right, left_on="contact_at", right_on="pulled_at", by="journey_id",
                          allow_exact_matches=False).set_index("_c")["pulled_at"].reindex(contacts.index)
    pulled = found.astype("datetime64[ns]").to_numpy() > state["last_close"].to_numpy()
    return state["closed_and_met"].astype(bool) & ~pd.Series(pulled, index=contacts.index)
