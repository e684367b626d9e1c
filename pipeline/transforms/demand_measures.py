"""Value and failure demand per service x category x period, and by channel.

Demand is counted where the customer made it: each contact falls in the local period
of its own event time, and carries its journey's service and category.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import FAILURE_TYPES
from pipeline.transforms.periods import PERIOD_KEYS, local_dates, with_periods
from pipeline.transforms.suppression import Additive, SuppressionSpec, suppress_with_breakdown

FAILURE_COLUMNS = tuple(f"failure_{t}" for t in FAILURE_TYPES)
BASE_COUNTS = ("contacts", "value_contacts", "failure_contacts")
VALUE_PLUS_FAILURE = Additive("contacts", ("value_contacts", "failure_contacts"))
SHARE = {"failure_share": ("contacts", "failure_contacts")}

DEMAND_SUPPRESSION = SuppressionSpec(
    counts=(*BASE_COUNTS, *FAILURE_COLUMNS),
    derived=SHARE,
    additive=(VALUE_PLUS_FAILURE, Additive("failure_contacts", FAILURE_COLUMNS)),
)
CHANNEL_SUPPRESSION = SuppressionSpec(counts=BASE_COUNTS, derived=SHARE, additive=(VALUE_PLUS_FAILURE,))


def daily_demand(contacts: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Contacts counted per service x category x channel x local day.

    ``contacts`` has one row per contact: service, category, channel, event_at (UTC),
    demand_type ('value'/'failure') and failure_type. Folding a million contacts into
    days first leaves the period step a frame of a few thousand rows.
    """
    is_failure = contacts["demand_type"] == "failure"
    counts = pd.DataFrame({
        "service": contacts["service"], "category": contacts["category"], "channel": contacts["channel"],
        "date": local_dates(contacts["event_at"], tz),
        "contacts": 1,
        "value_contacts": (contacts["demand_type"] == "value").astype(int),
        "failure_contacts": is_failure.astype(int),
        **{f"failure_{t}": (is_failure & (contacts["failure_type"] == t)).astype(int) for t in FAILURE_TYPES},
    })
    return counts.groupby(["service", "category", "channel", "date"], sort=False).sum().reset_index()


def measure_demand(contacts: pd.DataFrame, threshold: int, tz: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(``measure_demand``, ``measure_demand_channel``), suppressed together: the
    channel rows add up to the demand row, so a hidden channel count is protected
    against that sum as well as against its own row's value + failure."""
    periodic = with_periods(daily_demand(contacts, tz), "date")
    counts = list(DEMAND_SUPPRESSION.counts)
    demand = _sum(periodic, PERIOD_KEYS, counts)
    by_channel = _sum(periodic, [*PERIOD_KEYS, "channel"], list(BASE_COUNTS))
    return suppress_with_breakdown(demand, DEMAND_SUPPRESSION, by_channel, CHANNEL_SUPPRESSION,
                                   keys=PERIOD_KEYS, columns=BASE_COUNTS, threshold=threshold)


def _sum(periodic: pd.DataFrame, keys: list[str], counts: list[str]) -> pd.DataFrame:
    out = periodic.groupby(keys, sort=True).agg(period_start=("period_start", "first"),
                                                **{c: (c, "sum") for c in counts}).reset_index()
    out["failure_share"] = out["failure_contacts"] / out["contacts"]
    return out
