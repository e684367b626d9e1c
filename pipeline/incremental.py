"""Nightly builds that redo only what changed, publishing what a full rebuild would.

The build reads what the last publication was made from (its ``pipeline_run`` row and
``pipeline_run_input`` files) and decides whether it can build on it
(``full_build_reason``). If it can, ``update_journeys`` reassembles only the journeys a
night's changes reach and splices them into the published ones, and
``update_measures`` recomputes only the aggregate groups those journeys feed. Both also
say what publishing changes in each table (``TableDelta``: keys deleted, rows
inserted), so ``publish_delta`` writes, audits and swaps only that. The
pure parts live in ``pipeline.transforms.increments``; docs/incremental.md says why
the result equals a full rebuild, and where it falls back to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.config import Config
from pipeline.transforms import increments as inc
from pipeline.warehouse import io
from pipeline.warehouse import tables as t
from pipeline.warehouse.delta import TableDelta
from pipeline.warehouse.publish import current_publication

if TYPE_CHECKING:
    from pipeline.identity.resolve import IdentityResult


@dataclass(frozen=True)
class LastPublication:
    """The run whose outputs are published now, and the file versions it read."""

    run_id: str
    as_of: pd.Timestamp
    code_version: str | None
    inputs: pd.DataFrame  # source, file, sha256


@dataclass(frozen=True)
class JourneyUpdate:
    """The spliced journey tables, and what changed against the previous ones."""

    journey: pd.DataFrame
    journey_event: pd.DataFrame
    changed_old: pd.Index  # journey ids whose published rows changed or went
    changed_new: pd.Index  # ... changed or appeared
    proactive_works_orders: int
    deltas: dict[str, TableDelta]  # what publishing journey and journey_event changes
    report: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureUpdate:
    """Every ``measure_*`` table, what publishing changes in each, and how many
    periodic groups were recomputed."""

    tables: dict[str, pd.DataFrame]
    deltas: dict[str, TableDelta]
    groups: int


def last_publication(conn: Connection) -> LastPublication | None:
    """The latest run that published (None on an empty warehouse)."""
    r, i = t.pipeline_run.c, t.pipeline_run_input.c
    run_id = current_publication(conn)
    if run_id is None:
        return None
    as_of, version = conn.execute(sa.select(r.as_of, r.code_version).where(r.run_id == run_id)).one()
    files = conn.execute(sa.select(i.source, i.file, i.sha256).where(i.run_id == run_id)).fetchall()
    inputs = pd.DataFrame([tuple(f) for f in files], columns=["source", "file", "sha256"])
    return LastPublication(run_id, pd.Timestamp(as_of), version, inputs)


def full_build_reason(last: LastPublication | None, as_of: pd.Timestamp, code_version: str,
                      inputs: pd.DataFrame, requested: bool, secret_changed: bool = False) -> str | None:
    """Why this build must start from scratch, or None when it can build on the last
    publication. Every reason is a case where last night's outputs cannot be traced
    back to records that are still known."""
    if requested:
        return "a full rebuild was requested"
    if last is None:
        return "nothing has been published yet"
    if last.as_of > as_of:
        return f"the run date is before that of the last publication ({last.as_of} UTC)"
    if last.code_version != code_version:
        return f"the code changed since the last publication ({last.code_version} -> {code_version})"
    if secret_changed:  # every person_key changes: no published journey can be kept as it is
        return "the person_key secret changed since the last publication"
    gone = inc.replaced_files(inputs, last.inputs)
    if gone:
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        return f"files re-delivered corrected or removed since the last publication: {', '.join(gone[:3])}{more}"
    return None


def read_publication(conn: Connection) -> dict[str, pd.DataFrame]:
    """The published build outputs, as the next splice starts from."""
    return io.read_frames(conn, {name: t.PUBLISHED_TABLES[name] for name in t.BUILD_OUTPUTS})


def update_journeys(staged: dict[str, pd.DataFrame], published: dict[str, pd.DataFrame],
                    last: LastPublication, inputs: pd.DataFrame, previous_record: pd.DataFrame,
                    previous_attribution: pd.DataFrame, ident: IdentityResult, cfg: Config,
                    as_of: pd.Timestamp) -> JourneyUpdate:
    """Reassemble the journeys of every component a change reaches; keep the rest, with
    their durations brought to tonight's as-of (an open journey's age grows).

    ``ident`` is tonight's ``IdentityResult``; ``previous_record`` and
    ``previous_attribution`` the identity map the last publication was built with.
    """
    from pipeline.transforms.journeys import assemble_journeys

    old_journey, old_events = published["journey"], published["journey_event"]
    membership = old_events[["system", "source_ref", "journey_id"]]  # a record's events repeat a link: harmless
    moved = inc.changed_identity(previous_record, ident.person_record, previous_attribution, ident.call_attribution)
    # Last night's identity rows that did not move link what tonight's rows link already.
    before = (previous_record[previous_record["case_id"].isin(moved.cases)],
              previous_attribution[previous_attribution["call_id"].isin(moved.calls)])
    links = inc.link_graph(staged["crm_cases"], staged["call_logs"], staged["works_orders"],
                           [before, (ident.person_record, ident.call_attribution)], membership)
    seeds = inc.changed_records(staged, inc.fresh_files(inputs, last.inputs), last.as_of)
    seeds = seeds.union(moved).union(inc.vanished_records(links))
    reach = inc.reach(links, seeds)
    records = inc.records_in(reach, staged, ident.person_record, ident.call_attribution)
    jr = assemble_journeys(records["crm_cases"], records["crm_case_events"], records["call_logs"],
                           records["works_orders"], records["person_record"], records["call_attribution"],
                           cfg.journeys, as_of)
    rebuilt = jr.journey.merge(ident.person[["person_id", "person_key"]], how="left", on="person_id")
    replaced_j = old_journey[old_journey["journey_id"].isin(reach.journeys)]
    replaced_e = old_events[old_events["journey_id"].isin(reach.journeys)]
    changed = inc.changed_journeys(replaced_j, replaced_e, rebuilt, jr.journey_event)
    report = {
        "seeds": int(len(seeds)), "people_reached": reach.people,
        "records_reassembled": {"crm_cases": int(len(records["crm_cases"])),
                                "call_logs": int(len(records["call_logs"])),
                                "works_orders": int(len(records["works_orders"]))},
        "journeys_replaced": int(len(replaced_j)), "journeys_rebuilt": int(len(rebuilt)),
        "journeys_changed": int(len(changed)), "assembly": jr.report,
    }
    journey = inc.exact_durations(inc.in_key_order(inc.splice(old_journey, reach.journeys, rebuilt)), as_of)
    replaced, aged = pd.Index(replaced_j["journey_id"]), inc.retimed(old_journey, journey)
    rewritten = journey[journey["journey_id"].isin(pd.Index(rebuilt["journey_id"]).union(aged))]
    return JourneyUpdate(
        journey=journey,
        journey_event=inc.splice(old_events, reach.journeys, jr.journey_event),
        changed_old=changed.intersection(replaced),
        changed_new=changed.intersection(pd.Index(rebuilt["journey_id"])),
        proactive_works_orders=inc.count_proactive(staged["crm_cases"], staged["works_orders"], as_of),
        deltas={"journey": inc.journey_delta(old_journey, replaced.union(aged), rewritten, t.journey),
                "journey_event": inc.journey_delta(old_events, replaced, jr.journey_event, t.journey_event)},
        report=report,
    )


def update_measures(update: JourneyUpdate, published: dict[str, pd.DataFrame], cfg: Config,
                    as_of: pd.Timestamp) -> MeasureUpdate:
    """Every ``measure_*`` table: the groups changed journeys feed (old and new
    versions) recomputed and spliced in, capability and work in progress recomputed."""
    from pipeline.transforms.capability import capability_window
    from pipeline.transforms.measures import build_measures

    tz = cfg.timezone
    groups = pd.concat([
        inc.touched_groups(published["journey"], published["journey_event"], update.changed_old, as_of, tz),
        inc.touched_groups(update.journey, update.journey_event, update.changed_new, as_of, tz),
    ], ignore_index=True).drop_duplicates(["service", "category", "period_type", "period"], ignore_index=True)
    window_start, _ = capability_window(as_of, cfg.measures.capability_window_weeks, tz)
    journeys, events = inc.measure_scope(update.journey, update.journey_event, groups, as_of, window_start, tz)
    rebuilt = build_measures(journeys, events, cfg.measures, as_of, tz)
    return MeasureUpdate(tables=inc.splice_measures(published, rebuilt, groups),
                         deltas=inc.measure_deltas(published, rebuilt, groups), groups=int(len(groups)))


def staged_in_extract_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Staging rows in extract order, whatever order the warehouse returns them in, so a
    build never depends on how a table was last written."""
    return frame.sort_values(["source_file", "source_line"], kind="stable", ignore_index=True)

