"""The published aggregates (journeys.md, "Published aggregates"), built in one call.

Pure: journeys and their events in, one frame per ``measure_*`` table out, each with
exactly the declared columns and small numbers already suppressed. Only aggregates
leave here: no person, name, contact detail or postcode is carried through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipeline.config import FAILURE_TYPES, MeasureRules
from pipeline.transforms.capability import measure_capability
from pipeline.transforms.demand_measures import measure_demand
from pipeline.transforms.end_to_end import measure_end_to_end
from pipeline.transforms.flow import measure_flow
from pipeline.transforms.periods import local_dates, with_periods
from pipeline.transforms.wip import measure_wip
from pipeline.warehouse import tables

NONE_LABEL = "(none)"  # a missing service, category or channel (e.g. a call-only journey's category)
STATUSES = ("met", "open", "withdrawn", "abandoned", "unlinked")
DEMAND_TYPES = ("value", "failure")
# The journey facts the aggregates read; a narrow copy keeps a million rows cheap and
# keeps person_key and the postcode district out of every intermediate frame.
MEASURED_COLUMNS = ["journey_id", "service", "category", "status", "started_at", "ended_at", "e2e_days",
                    "contacts", "handoffs", "teams", "follow_on_works_orders", "first_contact_resolution",
                    "clean"]
EVENT_COLUMNS = ["journey_id", "seq", "event_at", "channel", "demand_type", "failure_type"]


class MeasureInputError(ValueError):
    """Journeys or events the measures cannot be built from; names frame, row and column."""


def build_measures(journey: pd.DataFrame, journey_event: pd.DataFrame, rules: MeasureRules,
                   as_of: pd.Timestamp, tz: str = "Europe/London") -> dict[str, pd.DataFrame]:
    """One frame per ``measure_*`` table, as of ``as_of`` (naive UTC); nothing after it counts.

    Demand falls in the period of each contact's own time; end-to-end and flow in the
    period of the journey's ``ended_at`` (met journeys only); capability covers the
    ``rules.capability_window_weeks`` before as-of; work in progress is the open
    journeys at as-of.
    """
    check_journeys(journey, as_of)
    check_events(journey_event, journey)
    keyed = journey[MEASURED_COLUMNS].assign(
        service=journey["service"].fillna(NONE_LABEL), category=journey["category"].fillna(NONE_LABEL),
        e2e_days=pd.to_numeric(journey["e2e_days"]).astype(float),
    )
    threshold = rules.small_number_threshold

    contacts = contact_rows(keyed, journey_event, as_of)
    demand, demand_channel = measure_demand(contacts, threshold, tz)

    met = keyed[(keyed["status"] == "met") & (keyed["ended_at"] <= as_of)]
    met_periodic = with_periods(met.assign(date=local_dates(met["ended_at"], tz)), "date")
    capability, capability_point = measure_capability(met, rules, as_of, tz)

    frames = {
        "measure_demand": demand,
        "measure_demand_channel": demand_channel,
        "measure_end_to_end": measure_end_to_end(met_periodic, threshold),
        "measure_flow": measure_flow(met_periodic, threshold),
        "measure_capability": capability,
        "measure_capability_point": capability_point,
        "measure_wip": measure_wip(keyed[keyed["status"] == "open"], rules.wip_age_bands, as_of, threshold),
    }
    return {name: as_declared(frame, tables.PUBLISHED_TABLES[name]) for name, frame in frames.items()}


def contact_rows(keyed: pd.DataFrame, journey_event: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per contact up to as-of, with its journey's service and category."""
    is_contact = journey_event["demand_type"].notna() & (journey_event["event_at"] <= as_of)
    events = journey_event.loc[is_contact, EVENT_COLUMNS]
    at = pd.Index(keyed["journey_id"]).get_indexer(events["journey_id"])
    return events.assign(service=keyed["service"].to_numpy()[at], category=keyed["category"].to_numpy()[at],
                         channel=events["channel"].fillna(NONE_LABEL))


def as_declared(frame: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """Exactly the table's columns in order, with its kinds: nullable integers and
    booleans, ``None`` (never NaN) in text."""
    out = frame.reindex(columns=[c.name for c in table.columns]).reset_index(drop=True)
    for col in table.columns:
        if isinstance(col.type, sa.Integer):
            out[col.name] = out[col.name].astype("Int64")
        elif isinstance(col.type, sa.Float):
            out[col.name] = out[col.name].astype(float)
        elif isinstance(col.type, sa.Boolean):
            out[col.name] = out[col.name].astype("boolean")
        elif isinstance(col.type, sa.DateTime):
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[ns]")
        elif isinstance(col.type, (sa.String, sa.Text)):
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
    return out


# --------------------------------------------------------------------------- input checks


def _reject(frame_name: str, frame: pd.DataFrame, bad: pd.Series, column: str, problem: str,
            ids: list[str]) -> None:
    """Raise naming the first offending row (position and ids), the column and how many."""
    if not bad.any():
        return
    pos = int(bad.to_numpy().argmax())
    row = frame.iloc[pos].astype(object)
    plain = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
    who = ", ".join(f"{k} {plain[k]!r}" for k in ids)
    raise MeasureInputError(f"{frame_name} row {pos} ({who}), column '{column}': {plain[column]!r} {problem}"
                            f" ({int(bad.sum())} rows like this)")


def _require_columns(frame_name: str, frame: pd.DataFrame, columns: list[str]) -> None:
    """Only the columns the measures read are required (``person_key`` may join later)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MeasureInputError(f"{frame_name} frame lacks published columns {missing}")


def check_journeys(journey: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """The facts the measures rely on: known status, met journeys with their end and
    duration, open journeys started by as-of, one row per journey."""
    _require_columns("journey", journey, MEASURED_COLUMNS)
    ids = ["journey_id"]
    _reject("journey", journey, journey["journey_id"].duplicated(), "journey_id", "appears more than once", ids)
    _reject("journey", journey, ~journey["status"].isin(STATUSES), "status", f"is not one of {list(STATUSES)}", ids)
    met = journey["status"] == "met"
    _reject("journey", journey, met & journey["ended_at"].isna(), "ended_at", "is empty on a met journey", ids)
    _reject("journey", journey, met & ~(journey["e2e_days"] >= 0), "e2e_days",
            "is not a duration (empty or negative) on a met journey", ids)
    _reject("journey", journey, (journey["status"] == "open") & (journey["started_at"] > as_of), "started_at",
            f"is after as-of {as_of} on an open journey", ids)


def check_events(journey_event: pd.DataFrame, journey: pd.DataFrame) -> None:
    """Every contact's demand classification is known and its journey exists."""
    _require_columns("journey_event", journey_event, EVENT_COLUMNS)
    ids = ["journey_id", "seq"]
    demand, failure = journey_event["demand_type"], journey_event["failure_type"]
    _reject("journey_event", journey_event, demand.notna() & ~demand.isin(DEMAND_TYPES), "demand_type",
            f"is not one of {list(DEMAND_TYPES)}", ids)
    _reject("journey_event", journey_event, failure.notna() & ~failure.isin(FAILURE_TYPES), "failure_type",
            f"is not one of {list(FAILURE_TYPES)}", ids)
    _reject("journey_event", journey_event, (demand == "failure") & failure.isna(), "failure_type",
            "is empty on failure demand (every failure has a type)", ids)
    _reject("journey_event", journey_event, (demand != "failure") & failure.notna(), "failure_type",
            "is set on an event that is not failure demand", ids)
    _reject("journey_event", journey_event, demand.notna() & ~journey_event["journey_id"].isin(journey["journey_id"]),
            "journey_id", "is not a journey in the journey frame", ids)
