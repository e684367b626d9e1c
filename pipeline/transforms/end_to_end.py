"""End-to-end time of journeys met, per service x category x period of ``ended_at``.

Percentiles use linear interpolation between the two nearest ranks (numpy's and
pandas' default): with end-to-end days 1, 2, 3, 4, 10 the median is 3, p80 is 5.2
(rank 0.8 x 4 = 3.2, so 4 + 0.2 x (10 - 4)) and p95 is 8.8.
"""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.periods import PERIOD_KEYS
from pipeline.transforms.suppression import SuppressionSpec, suppress_small_numbers

PERCENTILES = {"median_days": 0.5, "p80_days": 0.8, "p95_days": 0.95}
END_TO_END_SUPPRESSION = SuppressionSpec(
    counts=("journeys_met",),
    derived={c: ("journeys_met",) for c in ("mean_days", *PERCENTILES)},
)


def measure_end_to_end(met_periodic: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``measure_end_to_end`` from met journeys stacked per period (``with_periods``)."""
    by_period = met_periodic.groupby(PERIOD_KEYS, sort=True)
    out = by_period.agg(period_start=("period_start", "first"), journeys_met=("journey_id", "size"),
                        mean_days=("e2e_days", "mean"))
    levels = list(PERCENTILES.values())
    quantiles = by_period["e2e_days"].quantile(levels).unstack().reindex(columns=levels)
    quantiles.columns = list(PERCENTILES)
    return suppress_small_numbers(out.join(quantiles).reset_index(), END_TO_END_SUPPRESSION, threshold)
