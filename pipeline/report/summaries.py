"""What the report shows, computed from the published tables (pure: frames in, frames out).

Every count derived here from ``journey`` / ``journey_event`` goes through
``suppress_count`` before it leaves this module, the same small-number rule the measure
tables follow: a count from 1 to threshold-1 becomes ``None`` ("suppressed"), and so
does any rate on such a base. Counts read from measure tables stay ``None`` where the
pipeline suppressed them (never 0) and are suppressed again under a stricter threshold.
"""

from __future__ import annotations

import pandas as pd

# Journeys that are not a need being worked: data-quality signals and abandoned calls.
NOT_WORK = ("unlinked", "abandoned")
ARROW = " → "


def suppress_count(n: object, threshold: int) -> int | None:
    """``n`` unless it is missing or from 1 to threshold-1 (then ``None``: suppressed)."""
    if n is None or pd.isna(n):
        return None
    n = int(n)
    return None if 0 < n < threshold else n


def _suppressed(series: pd.Series, threshold: int) -> pd.Series:
    # Built as object so that None stays None (Series.map would turn it into NaN).
    return pd.Series([suppress_count(n, threshold) for n in series], index=series.index, dtype=object)


def contact_events(journey: pd.DataFrame, journey_event: pd.DataFrame) -> pd.DataFrame:
    """The events that are contacts (value or failure demand), with their journey's service."""
    contacts = journey_event[journey_event["demand_type"].notna()]
    return contacts.merge(journey[["journey_id", "service"]], on="journey_id", how="inner")


def weekly_demand(contacts: pd.DataFrame, threshold: int, tz: str) -> pd.DataFrame:
    """Value and failure contacts per service and ISO week (local time), suppressed.

    Columns: service, week ('YYYY-Www'), week_start (date), value, failure.
    """
    cols = ["service", "week", "week_start", "value", "failure"]
    if contacts.empty:
        return pd.DataFrame(columns=cols)
    local = contacts["event_at"].dt.tz_localize("UTC").dt.tz_convert(tz)
    iso = local.dt.isocalendar()
    frame = contacts.assign(
        week=iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2),
        week_start=(local.dt.normalize() - pd.to_timedelta(iso["day"] - 1, unit="D")).dt.date,
    )
    counts = (frame.pivot_table(index=["service", "week", "week_start"], columns="demand_type",
                                values="seq", aggfunc="count", fill_value=0)
              .reindex(columns=["value", "failure"], fill_value=0).reset_index())
    for col in ("value", "failure"):
        counts[col] = _suppressed(counts[col], threshold)
    return counts[cols].sort_values(["service", "week"]).reset_index(drop=True)


def failure_by(contacts: pd.DataFrame, column: str, threshold: int) -> pd.DataFrame:
    """Failure demand contacts per service and ``column`` (failure_type or channel), suppressed."""
    failures = contacts[contacts["demand_type"] == "failure"]
    counts = (failures.assign(**{column: failures[column].fillna("(unknown)")})
              .groupby(["service", column]).size().rename("failure_contacts").reset_index())
    counts["failure_contacts"] = _suppressed(counts["failure_contacts"], threshold)
    return counts.sort_values(["service", column]).reset_index(drop=True)


def distribution(journey: pd.DataFrame, column: str, threshold: int) -> pd.DataFrame:
    """How many journeys per service have each value of ``column`` (e.g. handoffs), suppressed.

    Unlinked and abandoned journeys are left out: they are not needs being worked.
    """
    work = journey[~journey["status"].isin(NOT_WORK)]
    counts = work.groupby(["service", column]).size().rename("journeys").reset_index()
    counts["journeys"] = _suppressed(counts["journeys"], threshold)
    return counts.sort_values(["service", column]).reset_index(drop=True)


def journey_team_paths(journey_event: pd.DataFrame) -> pd.Series:
    """Each journey's path through teams (consecutive repeats collapsed), by journey_id."""
    teamed = journey_event[journey_event["team"].notna()].sort_values(["journey_id", "seq"])
    changed = (teamed["team"] != teamed.groupby("journey_id")["team"].shift()).to_numpy()
    return teamed[changed].groupby("journey_id")["team"].agg(ARROW.join).rename("sequence")


def team_sequences(journey: pd.DataFrame, journey_event: pd.DataFrame, threshold: int,
                   top: int = 10) -> pd.DataFrame:
    """The most common team paths per service, only those taken by ``threshold`` or more
    journeys; the rest are pooled into one 'other' row (itself suppressed when small).

    Columns: service, sequence, journeys (int or None), other (bool).
    """
    cols = ["service", "sequence", "journeys", "other"]
    paths = journey_team_paths(journey_event).reset_index()
    paths = paths.merge(journey.loc[~journey["status"].isin(NOT_WORK), ["journey_id", "service"]], on="journey_id")
    if paths.empty:
        return pd.DataFrame(columns=cols)
    counts = paths.groupby(["service", "sequence"]).size().rename("journeys").reset_index()
    counts = counts.sort_values(["service", "journeys", "sequence"], ascending=[True, False, True])
    counts["rank"] = counts.groupby("service").cumcount()
    shown = counts[(counts["journeys"] >= threshold) & (counts["rank"] < top)]
    rest = counts.drop(shown.index).groupby("service")["journeys"].sum().reset_index()
    rest = rest.assign(sequence=f"(other paths, each fewer than {threshold} journeys or beyond the top {top})",
                       journeys=_suppressed(rest["journeys"], threshold), other=True)
    out = pd.concat([shown.assign(other=False, journeys=shown["journeys"].astype(object)), rest],
                    ignore_index=True)
    return out[cols].sort_values(["service", "other"], kind="stable").reset_index(drop=True)


def sequence_links(sequences: pd.DataFrame) -> pd.DataFrame:
    """Sankey links (step-numbered teams) from the shown team paths of one service.

    Only paths at or above the threshold are used, so every link value is a sum of
    unsuppressed counts. Columns: source, target, journeys.
    """
    shown = sequences[~sequences["other"].astype(bool)]
    rows = []
    for sequence, journeys in zip(shown["sequence"], shown["journeys"]):
        teams = sequence.split(ARROW)
        for step, (a, b) in enumerate(zip(teams, teams[1:]), start=1):
            rows.append((f"{step}. {a}", f"{step + 1}. {b}", int(journeys)))
    links = pd.DataFrame(rows, columns=["source", "target", "journeys"])
    return links.groupby(["source", "target"], as_index=False)["journeys"].sum()


def resolution_rates(journey: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """First-contact resolution and share clean among met journeys, per service.

    Columns: service, met_journeys, first_contact_resolution, share_clean (rates are
    None when the base is suppressed).
    """
    met = journey[journey["status"] == "met"]
    rates = met.groupby("service").agg(
        met_journeys=("journey_id", "size"),
        first_contact_resolution=("first_contact_resolution", "mean"),
        share_clean=("clean", "mean"),
    ).reset_index()
    base = _suppressed(rates["met_journeys"], threshold)
    for col in ("first_contact_resolution", "share_clean"):
        rates[col] = rates[col].astype(float).astype(object).where(base.notna(), None)
    rates["met_journeys"] = base
    return rates


def wip_cells(measure_wip: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Open journeys per service, category and age band, as published (None = suppressed)."""
    return measure_wip.assign(open_journeys=_suppressed(measure_wip["open_journeys"], threshold))


def _band_start(band: str) -> int:
    digits = band.split("-")[0].rstrip("+")
    return int(digits) if digits.isdigit() else 10**6


def age_bands(measure_wip: pd.DataFrame) -> list[str]:
    """The age bands present, youngest first ('0-7', '8-28', ..., '91+')."""
    return sorted(measure_wip["age_band"].dropna().unique(), key=_band_start)


def capability_groups(measure_capability: pd.DataFrame, points: pd.DataFrame,
                      threshold: int) -> list[dict]:
    """One entry per service x category: its limits and points, or why it is suppressed.

    A suppressed chart shows no points at all: drawing them would reveal the count.
    """
    groups = []
    for row in measure_capability.sort_values(["service", "category"]).to_dict("records"):
        flagged = set(filter(None, (row.get("suppressed") or "").split(",")))
        suppressed = (row["mean_days"] is None or pd.isna(row["mean_days"]) or bool(flagged & {"journeys", "mean_days"})
                      or suppress_count(row["journeys"], threshold) is None)
        mine = points[(points["service"] == row["service"]) & (points["category"] == row["category"])]
        groups.append({
            "service": row["service"], "category": row["category"], "limits": row,
            "suppressed": suppressed,
            "points": mine.sort_values("seq").reset_index(drop=True) if not suppressed else mine.iloc[0:0],
        })
    return groups


def study_journeys(journey: pd.DataFrame, per_service: int = 3) -> pd.DataFrame:
    """A handful of real journeys per service to study: the longest, the most handed-off
    and the most chased (each chosen once; a criterion with nothing to show is skipped).

    Columns: service, reason, journey_id (person_key is deliberately not carried).
    """
    criteria = [
        ("longest end to end", "e2e_days"),
        ("most hand-offs", "handoffs"),
        ("most progress chases", "failure_progress_chase"),
    ][:per_service]
    rows = []
    work = journey[~journey["status"].isin(NOT_WORK)]
    for service, group in work.groupby("service", sort=True):
        taken: set[str] = set()
        for reason, column in criteria:
            ranked = group[group[column].fillna(0) > 0].sort_values([column, "journey_id"], ascending=[False, True])
            ranked = ranked[~ranked["journey_id"].isin(taken)]
            if not ranked.empty:
                journey_id = ranked["journey_id"].iloc[0]
                taken.add(journey_id)
                rows.append((service, reason, journey_id))
    return pd.DataFrame(rows, columns=["service", "reason", "journey_id"])
