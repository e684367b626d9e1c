"""Work in progress: open journeys at as-of by age band, per service x category.

Only ``open`` journeys are work in progress; ``unlinked`` ones are a data-quality
signal (journeys.md). Every band is emitted, zeros included, for each service x
category with at least one open journey, so an age profile always has all its bars;
a service x category with nothing open has no rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.transforms.suppression import SuppressionSpec, suppress_small_numbers

WIP_KEYS = ["service", "category"]
WIP_SUPPRESSION = SuppressionSpec(counts=("open_journeys",))


def band_label(lo: int, hi: int | None) -> str:
    """'8-28' for an inclusive band, '91+' for the open-ended last one."""
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def age_in_days(started_at: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole days elapsed from ``started_at`` to as-of (floored; both naive UTC)."""
    return (pd.Timestamp(as_of) - pd.to_datetime(started_at)) // pd.Timedelta(days=1)


def measure_wip(open_journeys: pd.DataFrame, bands: list[tuple[int, int | None]], as_of: pd.Timestamp,
                threshold: int) -> pd.DataFrame:
    """``measure_wip`` from the open journeys (service and category already filled).
    ``bands`` are contiguous from 0 with an open last band (checked by MeasureRules)."""
    labels = [band_label(lo, hi) for lo, hi in bands]
    lows = np.array([lo for lo, _ in bands])
    band = lows.searchsorted(age_in_days(open_journeys["started_at"], as_of).to_numpy(), side="right") - 1
    counted = (open_journeys[WIP_KEYS].assign(age_band=np.asarray(labels, dtype=object)[band])
               .groupby([*WIP_KEYS, "age_band"]).size().rename("open_journeys"))
    needs = open_journeys[WIP_KEYS].drop_duplicates()
    grid = needs.merge(pd.DataFrame({"age_band": labels}), how="cross")
    out = grid.merge(counted.reset_index(), how="left", on=[*WIP_KEYS, "age_band"])
    out["open_journeys"] = out["open_journeys"].fillna(0).astype(int)
    order = {label: i for i, label in enumerate(labels)}
    out = out.sort_values([*WIP_KEYS, "age_band"], key=lambda s: s.map(order) if s.name == "age_band" else s)
    return suppress_small_numbers(out.reset_index(drop=True), WIP_SUPPRESSION, threshold)
