"""Incremental nights: how far a night's changes reach, and splicing what was rebuilt
into the previous publication, so that the result equals a full rebuild.

Journeys are built from links that never cross between unrelated records: a person's
own records (rules 3 and 4 stay within one person and service), and explicit
references (``duplicate_of``, a call's case ref, a transfer's ``parent_call_id``, a
works order's case ref or parent). Records, people and last night's journeys joined by
those links form *components*; a journey never spans two. A component's journeys can
only differ from last night's when something in it changed: a record new or changed
since the last publication, a record that vanished, a person or call attribution
that moved, or a record dated after the last as-of (every rule compares record times
with as-of, so nothing else moves when as-of does). Those components are reassembled
from all their records; every other journey is kept as published, with only its
duration recomputed (an open journey's age grows with as-of).

Each aggregate row is a function of its own (service, category, period) group, so only
the groups a changed journey fed, before or after the change, are recomputed; the
capability charts and work in progress depend on as-of and are recomputed whole.

Pure: frames in, frames out; as-of, time zone and windows are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.transforms.chains import normalise_ref
from pipeline.transforms.measures import NONE_LABEL, as_declared
from pipeline.transforms.periods import PERIOD_KEYS, local_dates, with_periods
from pipeline.warehouse.delta import TableDelta
from pipeline.warehouse.tables import PUBLISHED_TABLES
from pipeline.warehouse.tables import journey as journey_table
from pipeline.warehouse.tables import journey_event as journey_event_table

# Node labels: a prefix per kind of thing, then its id.
CASE, CALL, WORKS, PERSON, JOURNEY = "c:", "k:", "w:", "p:", "j:"
SYSTEM_PREFIX = {"crm": CASE, "telephony": CALL, "works": WORKS}
# The record each source's rows belong to (a case event belongs to its case).
RECORD_OF = {"crm_cases": (CASE, "case_id"), "crm_case_events": (CASE, "case_id"),
             "call_logs": (CALL, "call_id"), "works_orders": (WORKS, "work_order_id")}
# The times the journey rules compare with as-of (a works order's target_at is not one).
JOURNEY_TIMES = {"crm_cases": ("opened_at", "closed_at", "updated_at"), "crm_case_events": ("event_at",),
                 "call_logs": ("started_at", "answered_at", "ended_at"),
                 "works_orders": ("raised_at", "completed_at", "updated_at")}
# Aggregates made of (service, category, period) groups; the rest depend on as-of.
PERIODIC_MEASURES = ("measure_demand", "measure_demand_channel", "measure_end_to_end", "measure_flow")


@dataclass(frozen=True)
class Reach:
    """What a night's changes reach: the records to reassemble (all records of the
    touched components) and last night's journeys they replace."""

    cases: pd.Index
    calls: pd.Index
    works_orders: pd.Index
    journeys: pd.Index  # published journey ids to drop
    people: int  # people in the touched components


# --------------------------------------------------------------------------- staging


def fold_night(previous: pd.DataFrame, night: pd.DataFrame, clean: pd.DataFrame, source: str) -> pd.DataFrame:
    """Staging after a night: latest version wins over what was staged and the night's
    rows (``night``, before the source suite), then records whose winning version the
    suite quarantined (in ``night`` but not in ``clean``) are left out, as in a full run,
    where that version also wins and is quarantined, so the older one does not come back."""
    from pipeline.transforms.staging import merge_staged

    merged = merge_staged(previous, night, source)
    lineage = ["source_file", "source_line"]
    kept = pd.MultiIndex.from_frame(clean[lineage].astype({"source_line": "int64"}))
    tonight = pd.MultiIndex.from_frame(night[lineage].astype({"source_line": "int64"}))
    rejected = tonight[~tonight.isin(kept)]
    if rejected.empty:
        return merged
    here = pd.MultiIndex.from_frame(merged[lineage].astype({"source_line": "int64"}))
    return merged[~here.isin(rejected)].reset_index(drop=True)


def staging_changes(previous: pd.DataFrame, staged: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(lineage ``source_file, source_line`` of previous rows no longer staged, rows newly
    staged). A row is one line of one file version, so lineage identifies it (a file
    re-delivered corrected restages its source in full instead)."""
    lineage = ["source_file", "source_line"]
    before = pd.MultiIndex.from_frame(previous[lineage].astype({"source_line": "int64"}))
    after = pd.MultiIndex.from_frame(staged[lineage].astype({"source_line": "int64"}))
    gone = previous.loc[~before.isin(after), lineage].reset_index(drop=True)
    return gone.astype({"source_line": "int64"}), staged[~after.isin(before)].reset_index(drop=True)


# --------------------------------------------------------------------------- what changed


def fresh_files(current: pd.DataFrame, consumed: pd.DataFrame) -> pd.DataFrame:
    """``source, file`` of input file versions (``source, file, sha256``) in ``current``
    that the last publication did not read."""
    seen = consumed[["source", "file", "sha256"]].drop_duplicates()
    merged = current[["source", "file", "sha256"]].merge(seen, how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["source", "file"]].reset_index(drop=True)


def replaced_files(current: pd.DataFrame, consumed: pd.DataFrame) -> list[str]:
    """Files the last publication read whose bytes have since changed or gone: their old
    rows are no longer known, so what they fed cannot be traced (a full build is needed)."""
    now = current[["source", "file", "sha256"]].drop_duplicates()
    merged = consumed[["source", "file", "sha256"]].drop_duplicates().merge(now, how="left", indicator=True)
    return sorted(merged.loc[merged["_merge"] == "left_only", "file"].unique().tolist())


def changed_records(staged: Mapping[str, pd.DataFrame], files: pd.DataFrame,
                    after: pd.Timestamp) -> pd.Index:
    """Node labels of records with a row from ``files`` (``source, file``) or a time the
    journey rules read that is after ``after`` (the last publication's as-of)."""
    labels = []
    for source, frame in staged.items():
        prefix, key = RECORD_OF[source]
        fresh = frame["source_file"].isin(files.loc[files["source"] == source, "file"])
        for col in JOURNEY_TIMES[source]:
            fresh |= frame[col] > after
        labels.append(prefix + frame.loc[fresh, key].astype(str))
    return pd.Index(pd.concat(labels, ignore_index=True).unique()) if labels else pd.Index([])


def _moved(old: pd.DataFrame, new: pd.DataFrame, key: str, columns: list[str]) -> pd.Series:
    """Keys present on one side only, or whose ``columns`` differ (None equals None)."""
    both = old[[key, *columns]].merge(new[[key, *columns]], on=key, how="outer", suffixes=("_old", "_new"),
                                      indicator=True)
    differs = both["_merge"] != "both"
    for col in columns:
        a, b = both[f"{col}_old"], both[f"{col}_new"]
        differs |= (a.isna() != b.isna()) | (a.notna() & b.notna() & (a != b))
    return both.loc[differs, key].astype(str)


def changed_identity(old_record: pd.DataFrame, new_record: pd.DataFrame, old_attribution: pd.DataFrame,
                     new_attribution: pd.DataFrame) -> pd.Index:
    """Node labels of cases whose person changed, and of call legs whose person or
    resolved case changed (including records that appeared or went)."""
    cases = CASE + _moved(old_record, new_record, "case_id", ["person_id"])
    calls = CALL + _moved(old_attribution, new_attribution, "call_id", ["person_id", "resolved_case_id"])
    return pd.Index(pd.concat([cases, calls], ignore_index=True).unique())


def vanished_records(membership: pd.DataFrame, staged: Mapping[str, pd.DataFrame]) -> pd.Index:
    """Node labels of records in last night's journeys that are no longer staged."""
    now = pd.concat([RECORD_OF[s][0] + staged[s][RECORD_OF[s][1]].astype(str)
                     for s in ("crm_cases", "call_logs", "works_orders")], ignore_index=True)
    labels = membership["system"].map(SYSTEM_PREFIX) + membership["source_ref"].astype(str)
    return pd.Index(labels[~labels.isin(now)].unique())


# --------------------------------------------------------------------------- how far it reaches


def _pairs(left: pd.Series, right: pd.Series) -> pd.DataFrame:
    keep = left.notna().to_numpy() & right.notna().to_numpy()
    return pd.DataFrame({"a": left.to_numpy()[keep], "b": right.to_numpy()[keep]})


# Python's ``\s`` on ASCII text (RE2's ``\s`` lacks \v and \x1c-\x1f).
_ASCII_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]+"


def _ref_keys(values: pd.Series) -> np.ndarray:
    """``chains.normalise_ref`` (whitespace removed, upper-cased), in Arrow kernels for
    ASCII text and by ``normalise_ref`` itself for the rest: a night's reach normalises
    every id of three sources, which pandas' string methods take seconds to do."""
    text = pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
    keys = pc.utf8_upper(pc.replace_substring_regex(text, _ASCII_SPACE, "")).to_numpy(zero_copy_only=False)
    other = ~pc.fill_null(pc.string_is_ascii(text), True).to_numpy(zero_copy_only=False)
    if other.any():
        keys[other] = normalise_ref(values[other]).to_numpy()
    return keys


def _ref_edges(owners: pd.Series, refs: pd.Series, targets: pd.Series, prefix: str) -> pd.DataFrame:
    """Owner -> every target a reference could resolve to: the same id once case and
    spaces are ignored. Linking to all of them keeps an ambiguous reference ambiguous
    when only part of the records is reassembled."""
    has = refs.notna().to_numpy()
    if not has.any():
        return pd.DataFrame({"a": [], "b": []}, dtype=object)
    wanted = pd.DataFrame({"a": owners.to_numpy()[has], "key": _ref_keys(refs[has])})
    ids = pd.DataFrame({"key": _ref_keys(targets), "b": prefix + targets.astype(str).to_numpy()})
    return wanted.merge(ids, on="key")[["a", "b"]]


def record_links(cases: pd.DataFrame, calls: pd.DataFrame, works_orders: pd.DataFrame,
                 identities: list[tuple[pd.DataFrame, pd.DataFrame]], membership: pd.DataFrame) -> pd.DataFrame:
    """Edges ``a, b`` (node labels) between everything a journey can join: records and
    their people (under every identity map given: last night's and tonight's), call
    legs and their resolved cases, the references rules 2, 4 and 5 follow, and each
    record and the published journey it was in (``membership``: system, source_ref,
    journey_id)."""
    case_node = CASE + cases["case_id"].astype(str)
    call_node = CALL + calls["call_id"].astype(str)
    wo_node = WORKS + works_orders["work_order_id"].astype(str)
    parts = [
        _ref_edges(case_node, cases["duplicate_of"], cases["case_id"], CASE),
        _ref_edges(call_node, calls["parent_call_id"], calls["call_id"], CALL),
        _ref_edges(wo_node, works_orders["case_ref"], cases["case_id"], CASE),
        _ref_edges(wo_node, works_orders["parent_work_order_id"], works_orders["work_order_id"], WORKS),
        _pairs(membership["system"].map(SYSTEM_PREFIX) + membership["source_ref"].astype(str),
               JOURNEY + membership["journey_id"].astype(str)),
    ]
    for person_record, attribution in identities:
        leg = CALL + attribution["call_id"].astype(str)
        parts += [
            _pairs(CASE + person_record["case_id"].astype(str), PERSON + person_record["person_id"].astype(object)),
            _pairs(leg, PERSON + attribution["person_id"].astype(object)),
            _pairs(leg, CASE + attribution["resolved_case_id"].astype(object)),
        ]
    found = [p for p in parts if len(p)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame({"a": [], "b": []}, dtype=object)


def reached(edges: pd.DataFrame, seeds: pd.Index) -> pd.Index:
    """Every node connected to a seed through ``edges`` (seeds included)."""
    codes, nodes = pd.factorize(pd.concat([edges["a"], edges["b"], pd.Series(seeds, dtype=object)],
                                          ignore_index=True))
    m = len(edges)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (codes[:m], codes[m:2 * m])), shape=(len(nodes), len(nodes)))
    _, component = connected_components(graph, directed=False)
    hit = np.unique(component[codes[2 * m:]])
    return pd.Index(nodes[np.isin(component, hit)])


def reach(edges: pd.DataFrame, seeds: pd.Index) -> Reach:
    """The records and published journeys in the components the seeds touch."""
    nodes = pd.Series(reached(edges, seeds), dtype=object)

    def ids(prefix: str) -> pd.Index:
        return pd.Index(nodes[nodes.str.startswith(prefix)].str.slice(len(prefix)).unique())

    return Reach(cases=ids(CASE), calls=ids(CALL), works_orders=ids(WORKS), journeys=ids(JOURNEY),
                 people=len(ids(PERSON)))


def records_in(reach_: Reach, staged: Mapping[str, pd.DataFrame], person_record: pd.DataFrame,
               call_attribution: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The staged frames and identity rows of the reached records, in staging order."""
    cases = staged["crm_cases"]["case_id"].isin(reach_.cases)
    return {
        "crm_cases": staged["crm_cases"][cases],
        "crm_case_events": staged["crm_case_events"][staged["crm_case_events"]["case_id"].isin(reach_.cases)],
        "call_logs": staged["call_logs"][staged["call_logs"]["call_id"].isin(reach_.calls)],
        "works_orders": staged["works_orders"][staged["works_orders"]["work_order_id"].isin(reach_.works_orders)],
        "person_record": person_record[person_record["case_id"].isin(reach_.cases)],
        "call_attribution": call_attribution[call_attribution["call_id"].isin(reach_.calls)],
    }


# --------------------------------------------------------------------------- splicing journeys


def splice(previous: pd.DataFrame, replaced: pd.Index, rebuilt: pd.DataFrame) -> pd.DataFrame:
    """``previous`` without the replaced journeys' rows, plus the rebuilt rows."""
    kept = previous[~previous["journey_id"].isin(replaced)]
    parts = [p for p in (kept, rebuilt) if len(p)]
    if not parts:
        return rebuilt.iloc[0:0]
    return pd.concat(parts, ignore_index=True) if len(parts) == 2 else parts[0].reset_index(drop=True)


def exact_durations(journey: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``e2e_hours`` and ``e2e_days`` at ``as_of``, from each journey's own times, exactly
    as ``journey_measures`` computes them: an open journey kept from last night has
    aged, and a duration read back from a single-precision warehouse column (DuckDB's
    FLOAT) must not feed tonight's aggregates, or they would differ from a full
    rebuild's in the last digits."""
    status = journey["status"]
    hours = ((journey["ended_at"] - journey["started_at"]).where(status == "met")
             .fillna((as_of - journey["started_at"]).where(status == "open")))
    e2e_hours = hours.dt.total_seconds() / 3600
    return journey.assign(e2e_hours=e2e_hours, e2e_days=e2e_hours / 24)


def retimed(previous: pd.DataFrame, journey: pd.DataFrame) -> pd.Index:
    """Journeys in both frames whose ``e2e_hours`` or ``e2e_days`` differ: a kept open
    journey ages with as-of, so its published row changes although it was not rebuilt."""
    cols = ["e2e_hours", "e2e_days"]
    both = previous[["journey_id", *cols]].merge(journey[["journey_id", *cols]], on="journey_id",
                                                 suffixes=("_old", ""))
    differs = np.zeros(len(both), dtype=bool)
    for col in cols:
        old, new = both[f"{col}_old"], both[col]
        differs |= ~((old == new) | (old.isna() & new.isna())).to_numpy()
    return pd.Index(both.loc[differs, "journey_id"])


def journey_delta(previous: pd.DataFrame, gone: pd.Index, inserted: pd.DataFrame, table: sa.Table) -> TableDelta:
    """Publishing a journey table: delete the published rows of the ``gone`` journeys
    (by ``table``'s key), insert ``inserted``."""
    keys = [c.name for c in table.primary_key.columns]
    return TableDelta(inserted=inserted.reset_index(drop=True),
                      deleted=previous.loc[previous["journey_id"].isin(gone), keys].reset_index(drop=True))


def in_key_order(journey: pd.DataFrame) -> pd.DataFrame:
    """Journeys by ``journey_id``. A float mean (mean end-to-end days) depends on the
    order its terms are added in, in the last bits; a full build and a splice hold the
    same rows in different orders, so both hand them to the measures in this one (the
    other aggregates add integers, in any order)."""
    return journey.sort_values("journey_id", ignore_index=True)


def _fingerprints(journey: pd.DataFrame, journey_event: pd.DataFrame) -> pd.Series:
    """One number per journey that changes when any published value of it or of its
    events does; an open journey's age (e2e) is left out, as it grows every night."""
    rows = as_declared(journey, journey_table)
    open_ = rows["status"].eq("open").to_numpy()
    rows.loc[open_, ["e2e_hours", "e2e_days"]] = np.nan
    own = pd.Series(pd.util.hash_pandas_object(rows, index=False).to_numpy(), index=rows["journey_id"].to_numpy())
    events = as_declared(journey_event, journey_event_table)
    hashed = pd.Series(pd.util.hash_pandas_object(events, index=False).to_numpy(), index=events.index)
    per_journey = hashed.groupby(events["journey_id"].to_numpy()).sum()  # order-free; wraps in uint64
    return own.add(per_journey.reindex(own.index, fill_value=0).to_numpy().astype(np.uint64))


def changed_journeys(old_journey: pd.DataFrame, old_events: pd.DataFrame, new_journey: pd.DataFrame,
                     new_events: pd.DataFrame) -> pd.Index:
    """Journey ids whose published rows differ between the two versions (or exist in one only)."""
    old = _fingerprints(old_journey, old_events)
    new = _fingerprints(new_journey, new_events)
    both = old.index.intersection(new.index)
    same = both[old.reindex(both).to_numpy() == new.reindex(both).to_numpy()]
    return old.index.union(new.index).difference(same)


# --------------------------------------------------------------------------- splicing aggregates


def _keyed(journey: pd.DataFrame) -> pd.DataFrame:
    """Service and category as the aggregates label them (``NONE_LABEL`` for none)."""
    return pd.DataFrame({"journey_id": journey["journey_id"].to_numpy(),
                         "service": journey["service"].fillna(NONE_LABEL).to_numpy(),
                         "category": journey["category"].fillna(NONE_LABEL).to_numpy()})


def _contact_times(journey: pd.DataFrame, journey_event: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``journey_id, service, category, at`` of each contact up to as-of (demand's periods)."""
    events = journey_event[journey_event["demand_type"].notna() & (journey_event["event_at"] <= as_of)]
    return _keyed(journey).merge(pd.DataFrame({"journey_id": events["journey_id"].to_numpy(),
                                               "at": events["event_at"].to_numpy()}), on="journey_id")


def _met_times(journey: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``journey_id, service, category, at`` of each journey met by as-of (end-to-end and flow's periods)."""
    met = journey[(journey["status"] == "met") & (journey["ended_at"] <= as_of)]
    return _keyed(met).assign(at=met["ended_at"].to_numpy())


def _periods(times: pd.DataFrame, tz: str) -> pd.DataFrame:
    """``times`` once per period type with ``period_type, period, period_start``."""
    if times.empty:
        return times.assign(period_type=pd.Series(dtype=object), period=pd.Series(dtype=object),
                            period_start=pd.Series(dtype=object))
    return with_periods(times.assign(date=local_dates(times["at"], tz)), "date")


def touched_groups(journey: pd.DataFrame, journey_event: pd.DataFrame, journey_ids: pd.Index,
                   as_of: pd.Timestamp, tz: str) -> pd.DataFrame:
    """``PERIOD_KEYS`` and ``period_start`` of the groups the given journeys feed: the
    periods of their contacts and, when met, of their end."""
    journey = journey[journey["journey_id"].isin(journey_ids)]
    journey_event = journey_event[journey_event["journey_id"].isin(journey_ids)]
    times = pd.concat([_contact_times(journey, journey_event, as_of), _met_times(journey, as_of)],
                      ignore_index=True)
    return _periods(times, tz)[[*PERIOD_KEYS, "period_start"]].drop_duplicates(PERIOD_KEYS, ignore_index=True)


def _in_groups(times: pd.DataFrame, groups: pd.DataFrame, tz: str) -> pd.Index:
    """Journey ids with a time in one of ``groups`` (only times from the earliest group
    on are looked at: a night's groups are mostly recent)."""
    if groups.empty or times.empty:
        return pd.Index([])
    since = pd.Timestamp(min(groups["period_start"])) - pd.Timedelta(days=1)  # a local day starts by UTC+1
    recent = times[times["at"] >= since]
    hit = _periods(recent, tz).merge(groups[PERIOD_KEYS], on=PERIOD_KEYS)
    return pd.Index(hit["journey_id"].unique())


def measure_scope(journey: pd.DataFrame, journey_event: pd.DataFrame, groups: pd.DataFrame,
                  as_of: pd.Timestamp, window_start: pd.Timestamp, tz: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The journeys and events ``build_measures`` needs for exact rows of ``groups`` and
    exact as-of measures: journeys with a contact or an end in a group (and those
    contacts), every open journey (work in progress) and every journey met after
    ``window_start`` (capability)."""
    contacts = _contact_times(journey, journey_event, as_of)
    by_contact = _in_groups(contacts, groups, tz)
    by_end = _in_groups(_met_times(journey, as_of), groups, tz)
    as_of_bound = (journey["status"] == "open") | ((journey["status"] == "met") & (journey["ended_at"] > window_start))
    scope = journey["journey_id"].isin(by_contact.union(by_end)) | as_of_bound
    events = journey_event[journey_event["journey_id"].isin(by_contact) & journey_event["demand_type"].notna()]
    return journey[scope], events


def splice_measures(previous: Mapping[str, pd.DataFrame], rebuilt: Mapping[str, pd.DataFrame],
                    groups: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Periodic aggregates: previous rows outside ``groups`` plus rebuilt rows inside
    them; the as-of aggregates (capability, work in progress) as rebuilt."""
    keys = groups[PERIOD_KEYS].drop_duplicates()
    out = dict(rebuilt)
    for name in PERIODIC_MEASURES:
        old = previous[name].merge(keys, on=PERIOD_KEYS, how="left", indicator=True)
        new = rebuilt[name].merge(keys, on=PERIOD_KEYS, how="inner")
        parts = [p for p in (old[old["_merge"] == "left_only"].drop(columns="_merge"), new) if len(p)]
        frame = pd.concat(parts, ignore_index=True) if parts else rebuilt[name].iloc[0:0]
        out[name] = frame[list(rebuilt[name].columns)]
    return out


def measure_deltas(previous: Mapping[str, pd.DataFrame], rebuilt: Mapping[str, pd.DataFrame],
                   groups: pd.DataFrame) -> dict[str, TableDelta]:
    """What publishing ``splice_measures``' tables changes: in each periodic aggregate,
    the previous rows of ``groups`` deleted (by key) and the rebuilt ones inserted; the
    as-of aggregates replaced whole."""
    keys = groups[PERIOD_KEYS].drop_duplicates()
    out = {name: TableDelta(inserted=frame) for name, frame in rebuilt.items() if name not in PERIODIC_MEASURES}
    for name in PERIODIC_MEASURES:
        pk = [c.name for c in PUBLISHED_TABLES[name].primary_key.columns]
        out[name] = TableDelta(inserted=rebuilt[name].merge(keys, on=PERIOD_KEYS, how="inner"),
                               deleted=previous[name].merge(keys, on=PERIOD_KEYS, how="inner")[pk])
    return out


def count_proactive(cases: pd.DataFrame, works_orders: pd.DataFrame, as_of: pd.Timestamp) -> int:
    """Works orders raised by as-of that join no case (journeys.md rule 5: counted, in no
    journey), for the run summary when only part of the journeys were assembled."""
    from pipeline.transforms.journeys import attach_works_orders

    raised = works_orders[works_orders["raised_at"] <= as_of].reset_index(drop=True)
    opened = cases.loc[cases["opened_at"] <= as_of, "case_id"].reset_index(drop=True)
    return int(attach_works_orders(raised, opened).isna().sum())
