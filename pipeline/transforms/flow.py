"""Flow of journeys met, per service x category x period of ``ended_at``: how often
the work passed between teams, how many contacts it took, and how often it ran clean."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.periods import PERIOD_KEYS
from pipeline.transforms.suppression import SuppressionSpec, suppress_small_numbers

FLOW_SUPPRESSION = SuppressionSpec(
    counts=("journeys_met",),
    derived={c: ("journeys_met",) for c in ("avg_handoffs", "avg_teams", "avg_contacts", "share_clean",
                                            "first_contact_resolution", "follow_on_rate")},
)


def measure_flow(met_periodic: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``measure_flow`` from met journeys stacked per period (``with_periods``). Shares
    are means of per-journey flags; the follow-on rate counts journeys with at least
    one follow-on works order."""
    flags = met_periodic.assign(
        _clean=met_periodic["clean"].astype(float),
        _fcr=met_periodic["first_contact_resolution"].astype(float),
        _follow_on=(met_periodic["follow_on_works_orders"] >= 1).astype(float),
    )
    out = flags.groupby(PERIOD_KEYS, sort=True).agg(
        period_start=("period_start", "first"), journeys_met=("journey_id", "size"),
        avg_handoffs=("handoffs", "mean"), avg_teams=("teams", "mean"), avg_contacts=("contacts", "mean"),
        share_clean=("_clean", "mean"), first_contact_resolution=("_fcr", "mean"),
        follow_on_rate=("_follow_on", "mean"),
    ).reset_index()
    return suppress_small_numbers(out, FLOW_SUPPRESSION, threshold)
