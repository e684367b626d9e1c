"""The stretches of time during which something of a journey is still to be done.

A journey is met when nothing in it is left to do; journeys.md states that as "no case
open, every works order completed or cancelled, and no follow-on pending". Each of
those is a *span* here: a case from opening to closure (split at each CRM ``reopened``
event), a works order from raising to completion or cancellation (stretched to the
raising of its first follow-on when its outcome asks for one). Rule 3, rule 4 and the
status at as-of all ask the same question of these spans ("is anything open at time
t, and if not, when did the last thing close?"), so they are built once, here.

Times are naive UTC. A span still open at as-of has ``end`` NaT. ``kind`` says how a
case span closed: ``met`` (resolved, no_fault_found, referred_elsewhere or duplicate),
``withdrawn`` (cancelled, or closed as withdrawn) or ``unmet`` (closed for any other
reason, or none: journeys.md counts only those four reasons as meeting the need); an
open case span and a works order span have none. ``superseded`` is when the case's
next span (after a reopening) starts: until then this span is the case's current one.
``closes`` is the closure or completion the span contributes to a met journey's
``ended_at`` ("the latest of those closures and completions"): a case's closure, a
works order's completion; a cancelled order is done but completes nothing.
"""

from __future__ import annotations

import pandas as pd

MET, WITHDRAWN, UNMET = "met", "withdrawn", "unmet"
MET_REASONS = ("resolved", "no_fault_found", "referred_elsewhere", "duplicate")
SPAN_COLUMNS = ["start", "end", "kind"]
_CLOSING_STATUSES = ("closed", "cancelled")


def case_closed_at(cases: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """When each case closed, if it had by as-of (NaT: open at as-of).

    ``closed_at`` is the closure; a case marked closed or cancelled without one closed
    when its row last changed (``updated_at``), the best time the extract gives.
    """
    closed = cases["closed_at"].where(cases["closed_at"].notna(),
                                      cases["updated_at"].where(cases["status"].isin(_CLOSING_STATUSES)))
    return closed.where(closed <= as_of)


def case_closure_kind(cases: pd.DataFrame) -> pd.Series:
    """``withdrawn`` for a cancelled or withdrawn case, ``met`` for a case closed with a
    reason that meets the need, else ``unmet``."""
    withdrawn = (cases["status"] == "cancelled") | (cases["closure_reason"] == "withdrawn")
    kind = pd.Series(UNMET, index=cases.index, dtype=object).mask(cases["closure_reason"].isin(MET_REASONS), MET)
    return kind.mask(withdrawn, WITHDRAWN)


def case_spans(cases: pd.DataFrame, case_events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``case_id, start, end, kind, superseded, closes``: one span per case, more when it
    was reopened; ``closes`` is its closure (``end``).

    Inputs hold only records up to as-of. A ``reopened`` event ends the span before it
    at the case's latest ``closed`` (or ``status_changed`` to closed/cancelled) event
    since the span began, or at the reopening itself when the history holds no
    closure; the case's own ``closed_at`` ends the last span.
    """
    closed = case_closed_at(cases, as_of)
    base = pd.DataFrame({"case_id": cases["case_id"], "start": cases["opened_at"],
                         "end": closed, "kind": case_closure_kind(cases).where(closed.notna(), None)})
    reopened = case_events.loc[case_events["event_type"] == "reopened", "case_id"].unique()
    if len(reopened) == 0:
        return base.assign(superseded=pd.NaT, closes=base["end"]).reset_index(drop=True)
    simple = base[~base["case_id"].isin(reopened)].assign(superseded=pd.NaT)
    history = case_events[case_events["case_id"].isin(reopened)].sort_values(["case_id", "event_at"], kind="stable")
    rows = []
    by_case = base.set_index("case_id")
    for case_id, events in history.groupby("case_id", sort=False):
        rows.extend(_split_at_reopens(case_id, by_case.loc[case_id], events))
    split = pd.DataFrame(rows, columns=["case_id", *SPAN_COLUMNS])
    split["superseded"] = split.groupby("case_id")["start"].shift(-1)
    out = pd.concat([simple, split], ignore_index=True)
    return out.assign(closes=out["end"])


def _split_at_reopens(case_id: str, case: pd.Series, events: pd.DataFrame) -> list[tuple]:
    """Walk one reopened case's history (few cases have one, so a loop is cheap)."""
    spans, start, last_close = [], case["start"], None
    for at, kind, status in zip(events["event_at"], events["event_type"], events["status"]):
        closing = kind == "closed" or (kind == "status_changed" and status in _CLOSING_STATUSES)
        if closing:
            last_close = (at, WITHDRAWN if status == "cancelled" else MET)  # the history holds no reason
        elif kind == "reopened":
            end, how = last_close if last_close and last_close[0] >= start else (at, MET)
            spans.append((case_id, start, end, how))
            start, last_close = at, None
    end = case["end"]
    if pd.notna(end) and end >= start:
        spans.append((case_id, start, end, case["kind"]))
    else:  # closed_at predates the last reopening: still open
        spans.append((case_id, start, pd.NaT, None))
    return spans


def works_order_done_at(works_orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """When each works order was completed or cancelled by as-of (NaT: still to do).

    A completed or cancelled order without ``completed_at`` was done when its row
    last changed (``updated_at``).
    """
    done = works_orders["completed_at"].where(
        works_orders["completed_at"].notna(),
        works_orders["updated_at"].where(works_orders["status"].isin(("completed", "cancelled"))))
    return done.where(done <= as_of)


def works_order_spans(works_orders: pd.DataFrame, parent: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """``work_order_id, start, end, kind, closes``: raised to done; a
    ``follow_on_required`` outcome keeps the span open until its first follow-on
    (``parent`` names each order's resolved parent) is raised. ``closes`` is the
    completion (a cancellation or a follow-on being raised is not one)."""
    done = works_order_done_at(works_orders, as_of)
    first_child = works_orders.groupby(parent.to_numpy())["raised_at"].min()
    child_raised = works_orders["work_order_id"].map(first_child)
    needs_follow_on = (works_orders["outcome"] == "follow_on_required") & done.notna()
    end = done.mask(needs_follow_on, pd.concat([done, child_raised], axis=1).max(axis=1, skipna=False))
    completed = works_orders["completed_at"].where(works_orders["completed_at"] <= as_of)
    return pd.DataFrame({"work_order_id": works_orders["work_order_id"], "start": works_orders["raised_at"],
                         "end": end.astype("datetime64[ns]"), "kind": None,
                         "closes": completed.astype("datetime64[ns]")}).reset_index(drop=True)
