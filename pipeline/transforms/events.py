"""The events of each journey, in time order (journeys.md, "A journey's events").

Each call leg at its ``started_at`` (team = ``agent_team``; an abandoned leg, one never
answered, has no team); each CRM case history event as recorded (a case with no
history up to as-of contributes ``created`` at ``opened_at`` and ``closed`` at its
closure, with the case's team); each works order's ``wo_raised`` and ``wo_completed``
(team = the works order's team). Events are numbered within a journey by
(``event_at``, ``system``, ``source_ref``, order within the record).
"""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.spans import case_closed_at
from pipeline.warehouse.tables import journey_event

EVENT_COLUMNS = [c.name for c in journey_event.columns]
_RECORD_COLUMNS = ["system", "source_ref", "event_at", "event_type", "team", "order"]


def record_events(cases: pd.DataFrame, case_events: pd.DataFrame, legs: pd.DataFrame,
                  works_orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every event of every record up to as-of: ``system, source_ref, event_at,
    event_type, team, order`` (inputs already hold only records up to as-of)."""
    answered = legs["answered_at"].notna()
    calls = pd.DataFrame({"system": "telephony", "source_ref": legs["call_id"], "event_at": legs["started_at"],
                          "event_type": answered.map({True: "call", False: "call_abandoned"}),
                          "team": legs["agent_team"].where(answered, None), "order": 0})
    history = case_events.sort_values(["case_id", "event_at"], kind="stable")
    crm = pd.DataFrame({"system": "crm", "source_ref": history["case_id"], "event_at": history["event_at"],
                        "event_type": history["event_type"], "team": history["team"],
                        "order": history.groupby("case_id").cumcount()})
    bare = cases[~cases["case_id"].isin(case_events["case_id"])]
    closed = case_closed_at(bare, as_of)
    created = pd.DataFrame({"system": "crm", "source_ref": bare["case_id"], "event_at": bare["opened_at"],
                            "event_type": "created", "team": bare["team"], "order": 0})
    closing = pd.DataFrame({"system": "crm", "source_ref": bare["case_id"], "event_at": closed,
                            "event_type": "closed", "team": bare["team"], "order": 1})[closed.notna()]
    done = works_orders[works_orders["completed_at"].notna() & (works_orders["completed_at"] <= as_of)]
    raised = pd.DataFrame({"system": "works", "source_ref": works_orders["work_order_id"],
                           "event_at": works_orders["raised_at"], "event_type": "wo_raised",
                           "team": works_orders["team"], "order": 0})
    completed = pd.DataFrame({"system": "works", "source_ref": done["work_order_id"], "event_at": done["completed_at"],
                              "event_type": "wo_completed", "team": done["team"], "order": 1})
    parts = [p for p in (calls, crm, created, closing, raised, completed) if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_RECORD_COLUMNS)
    out["team"] = out["team"].astype(object).where(out["team"].notna(), None)
    return out[_RECORD_COLUMNS]


def journey_events(events: pd.DataFrame, membership: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """The published ``journey_event`` rows: events of records in a journey, numbered,
    with the demand of each contact on its record's first event (a call's root leg, a
    case's first history event)."""
    placed = events.merge(membership, on=["system", "source_ref"], how="inner")
    placed = placed.sort_values(["journey_id", "event_at", "system", "source_ref", "order"], kind="stable",
                                ignore_index=True)
    placed["seq"] = placed.groupby("journey_id").cumcount() + 1
    first_of_record = ~placed.duplicated(["journey_id", "system", "source_ref"])
    demand = contacts[["journey_id", "system", "source_ref", "channel", "demand_type", "failure_type"]]
    marked = placed[first_of_record].merge(demand, on=["journey_id", "system", "source_ref"], how="left")
    marked.index = placed.index[first_of_record]
    for col in ("channel", "demand_type", "failure_type"):
        placed[col] = marked[col].reindex(placed.index)
        placed[col] = placed[col].astype(object).where(placed[col].notna(), None)
    return placed[EVENT_COLUMNS]


def handoffs(journey_event: pd.DataFrame) -> pd.Series:
    """Changes of responsible team between consecutive events that carry a team, per journey."""
    teamed = journey_event[journey_event["team"].notna()]
    previous = teamed.groupby("journey_id")["team"].shift()
    changed = previous.notna() & (teamed["team"] != previous)
    return changed.groupby(teamed["journey_id"]).sum()
