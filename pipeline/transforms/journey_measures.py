"""Per-journey measures (journeys.md, "Per-journey measures"): one row per journey.

End-to-end time is ``ended_at - started_at`` for a met journey and the journey's age
(``as_of - started_at``) for an open one, as the published column says; withdrawn,
abandoned and unlinked journeys have none (NULL), because neither a need met nor one
still waiting gives them a meaningful duration.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import FAILURE_TYPES
from pipeline.transforms.events import handoffs
from pipeline.transforms.linking import MET, OPEN
from pipeline.warehouse.tables import journey as journey_table

JOURNEY_COLUMNS = [c.name for c in journey_table.columns if c.name != "person_key"] + ["person_id"]
_COUNTS = ["contacts", "value_contacts", "failure_contacts", *(f"failure_{t}" for t in FAILURE_TYPES),
           "handoffs", "teams", "systems", "works_orders", "follow_on_works_orders"]


def journey_measures(journeys: pd.DataFrame, status: pd.DataFrame, journey_event: pd.DataFrame,
                     contacts: pd.DataFrame, works_orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``JOURNEY_COLUMNS``: the published journey columns (less ``person_key``) plus ``person_id``.

    ``journeys``: ``journey_id, person_id, service, category, postcode_district``;
    ``status``: ``status.STATUS_COLUMNS``; ``contacts``: classified contacts;
    ``works_orders``: ``journey_id, parent_work_order_id`` of each works order in a journey.
    """
    out = journeys.merge(status, on="journey_id", how="left").set_index("journey_id")
    events = journey_event.groupby("journey_id")
    out["started_at"] = events["event_at"].min().astype("datetime64[ns]")
    by_contact = contacts.groupby("journey_id")
    out["first_channel"] = by_contact["channel"].first()
    out["contacts"] = by_contact.size()
    out["value_contacts"] = contacts["demand_type"].eq("value").groupby(contacts["journey_id"]).sum()
    failure = contacts["demand_type"].eq("failure")
    out["failure_contacts"] = failure.groupby(contacts["journey_id"]).sum()
    for kind in FAILURE_TYPES:
        out[f"failure_{kind}"] = contacts["failure_type"].eq(kind).groupby(contacts["journey_id"]).sum()
    out["handoffs"] = handoffs(journey_event)
    out["teams"] = events["team"].nunique()
    out["systems"] = events["system"].nunique()
    out["works_orders"] = works_orders.groupby("journey_id").size()
    out["follow_on_works_orders"] = works_orders["parent_work_order_id"].notna().groupby(
        works_orders["journey_id"]).sum()
    out[_COUNTS] = out[_COUNTS].fillna(0).astype("int64")
    hours = ((out["ended_at"] - out["started_at"]).where(out["status"] == MET)
             .fillna((as_of - out["started_at"]).where(out["status"] == OPEN)))
    out["e2e_hours"] = hours.dt.total_seconds() / 3600
    out["e2e_days"] = out["e2e_hours"] / 24
    out["first_contact_resolution"] = (out["status"] == MET) & (out["contacts"] == 1) & (out["works_orders"] == 0)
    # A journey pulled back in after met has a failure contact already; a CRM reopening
    # may have none.
    reopened = journey_event["event_type"].eq("reopened").groupby(journey_event["journey_id"]).any()
    out["clean"] = ((out["failure_contacts"] == 0) & (out["follow_on_works_orders"] == 0)
                    & ~reopened.reindex(out.index, fill_value=False))
    for col in ("person_id", "service", "category", "first_channel", "postcode_district"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.reset_index()[JOURNEY_COLUMNS]
