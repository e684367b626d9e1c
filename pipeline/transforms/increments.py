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

from pipeline.transforms.measures import NONE_LABEL, as_declared
from pipeline.transforms.periods import PERIOD_KEYS, local_dates, with_periods
from pipeline.transforms.text import WHITESPACE_CLASS, arrow_strings, squeeze_upper_arrow
from pipeline.warehouse.delta import TableDelta
from pipeline.warehouse.tables import PUBLISHED_TABLES
from pipeline.warehouse.tables import journey as journey_table
from pipeline.warehouse.tables import journey_event as journey_event_table

# Node kinds: a prefix per kind of thing (a node's label is its prefix, then its id).
CASE, CALL, WORKS, PERSON, JOURNEY = "c:", "k:", "w:", "p:", "j:"
KINDS = (CASE, CALL, WORKS, PERSON, JOURNEY)  # the order of their nodes in a ``Links`` graph
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
class Seeds:
    """Records a night changed, by kind (ids, each once): the components they are in
    are reassembled. Ids per kind, not labels: a night lists and looks up every record."""

    cases: pd.Index
    calls: pd.Index
    works_orders: pd.Index

    def union(self, other: Seeds) -> Seeds:
        return Seeds(self.cases.union(other.cases), self.calls.union(other.calls),
                     self.works_orders.union(other.works_orders))

    def __len__(self) -> int:
        return len(self.cases) + len(self.calls) + len(self.works_orders)

    def by_kind(self) -> dict[str, pd.Index]:
        return {CASE: self.cases, CALL: self.calls, WORKS: self.works_orders}


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
                    after: pd.Timestamp) -> Seeds:
    """Records with a row from ``files`` (``source, file``) or a time the journey rules
    read that is after ``after`` (the last publication's as-of)."""
    found: dict[str, list[pd.Series]] = {CASE: [], CALL: [], WORKS: []}
    for source, frame in staged.items():
        kind, key = RECORD_OF[source]
        fresh = frame["source_file"].isin(files.loc[files["source"] == source, "file"])
        for col in JOURNEY_TIMES[source]:
            fresh |= frame[col] > after
        found[kind].append(frame.loc[fresh, key])
    return Seeds(*[pd.Index(pd.concat(ids, ignore_index=True).unique(), dtype=object) if ids else pd.Index([])
                   for ids in found.values()])


def _codes(texts: list[pa.Array]) -> tuple[list[np.ndarray], pa.Array]:
    """Each value of ``texts`` as its position among their distinct values (-1 for
    null), numbered in order of first appearance; and those values."""
    encoded = pa.concat_arrays([pa.array([], type=pa.string()), *texts]).dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    return np.split(codes, np.cumsum([len(t) for t in texts])[:-1]), encoded.dictionary


def _moved(old: pd.DataFrame, new: pd.DataFrame, key: str, columns: list[str]) -> pd.Index:
    """Keys present on one side only, or whose ``columns`` differ (None equals None).
    ``key`` is unique on each side (the identity tables' primary key), so each old row
    is aligned with its new one by numbering both sides' keys together: an outer merge
    of every case and call leg took seconds."""
    (new_codes, old_codes), values = _codes([arrow_strings(new[key]), arrow_strings(old[key])])
    row = np.full(len(values) + 1, -1, dtype=np.int64)  # each key's row in ``new`` (the last: a null key's)
    row[new_codes] = np.arange(len(new_codes))
    at = row[old_codes]  # each old key's row in ``new``, -1 if it went
    kept = at >= 0
    differs = np.zeros(int(kept.sum()), dtype=bool)
    for col in columns:
        a, b = arrow_strings(old[col]).filter(pa.array(kept)), arrow_strings(new[col]).take(pa.array(at[kept]))
        same = pc.coalesce(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        differs |= ~same.to_numpy(zero_copy_only=False)
    arrived = np.ones(len(new_codes), dtype=bool)
    arrived[at[kept]] = False
    old_keys, new_keys = old[key].to_numpy(dtype=object), new[key].to_numpy(dtype=object)
    return pd.Index(np.concatenate([old_keys[~kept], old_keys[kept][differs], new_keys[arrived]]), dtype=object)


def changed_identity(old_record: pd.DataFrame, new_record: pd.DataFrame, old_attribution: pd.DataFrame,
                     new_attribution: pd.DataFrame) -> Seeds:
    """Cases whose person changed, and call legs whose person or resolved case changed
    (including records that appeared or went)."""
    return Seeds(cases=_moved(old_record, new_record, "case_id", ["person_id"]),
                 calls=_moved(old_attribution, new_attribution, "call_id", ["person_id", "resolved_case_id"]),
                 works_orders=pd.Index([]))


# --------------------------------------------------------------------------- how far it reaches


def _odd_ids(ids: pa.Array, nodes: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """The nodes of the ``ids`` that are not their own reference key
    (``squeeze_upper_arrow``), and those keys: the only ids a reference reaches other
    than by naming them exactly. Only ids with lower case, whitespace or non-ASCII text
    can be, so only those are normalised."""
    maybe = pc.or_(pc.match_substring_regex(ids, f"[a-z{WHITESPACE_CLASS}]"), pc.invert(pc.string_is_ascii(ids)))
    rows = np.flatnonzero(pc.fill_null(maybe, False).to_numpy(zero_copy_only=False))
    text = ids.take(pa.array(rows, type=pa.int64()))
    keys = squeeze_upper_arrow(text)
    odd = pc.fill_null(pc.not_equal(keys, text), False)
    return nodes[rows[odd.to_numpy(zero_copy_only=False)]], keys.filter(odd)


@dataclass(frozen=True)
class Links:
    """Edges ``a, b`` between everything a journey can join, on integer nodes: the ids
    of each kind are numbered once, kinds one after another in ``KINDS`` order (node
    ``start(kind) + i`` is ``ids[kind][i]``). Integers rather than labels like
    "c:" + case_id: a night links millions of ids, and building and hashing prefixed
    strings took most of its time."""

    ids: dict[str, pa.Array]  # kind -> its ids (Arrow strings), each once
    a: np.ndarray
    b: np.ndarray
    staged: np.ndarray  # node -> whether it is one of the (staged) records given
    members: np.ndarray  # membership row -> its record's node (-1: none)

    def start(self, kind: str) -> int:
        return sum(len(self.ids[k]) for k in KINDS[:KINDS.index(kind)])

    @property
    def nodes(self) -> int:
        return sum(len(ids) for ids in self.ids.values())

    def ids_of(self, kind: str, nodes: np.ndarray) -> pd.Index:
        """The ids of ``nodes``, all of ``kind``."""
        at = pa.array(nodes - self.start(kind), type=pa.int64())
        return pd.Index(self.ids[kind].take(at).to_numpy(zero_copy_only=False), dtype=object)

    def of_kind(self, kind: str, nodes: np.ndarray) -> np.ndarray:
        """Those of ``nodes`` that are of ``kind``."""
        start = self.start(kind)
        return nodes[(nodes >= start) & (nodes < start + len(self.ids[kind]))]

    def labels(self) -> np.ndarray:
        """Every node's label (kind prefix, then id), by node."""
        return np.concatenate([np.empty(0, dtype=object), *[
            pc.binary_join_element_wise(kind, self.ids[kind], "").to_numpy(zero_copy_only=False) for kind in KINDS]])


def _number(columns: list[tuple[str, pa.Array]], lookups: list[tuple[str, pa.Array]],
            ) -> tuple[dict[str, pa.Array], list[np.ndarray], list[np.ndarray]]:
    """Each kind's ids numbered (all its columns at once, first seen first, kinds one
    after another as in ``Links``); each column as nodes, and the node of each value of
    ``lookups`` that is one of those ids (-1: none, or no value)."""
    ids, start = {}, 0
    nodes, found = [np.empty(0, dtype=np.int64)] * len(columns), [np.empty(0, dtype=np.int64)] * len(lookups)
    for kind in KINDS:
        mine = [(nodes, i, v) for i, (k, v) in enumerate(columns) if k == kind]
        looked = [(found, i, v) for i, (k, v) in enumerate(lookups) if k == kind]
        parts, values = _codes([v for *_, v in mine + looked])
        codes = np.concatenate([np.empty(0, dtype=np.int64), *parts])
        numbered = int(codes[:sum(len(v) for *_, v in mine)].max(initial=-1)) + 1  # lookups add none of these
        codes = np.where((codes >= 0) & (codes < numbered), codes + start, -1)
        at = 0
        for out, i, v in mine + looked:
            out[i], at = codes[at:at + len(v)], at + len(v)
        ids[kind] = values.slice(0, numbered)
        start += numbered
    return ids, nodes, found


def _ref_edges(owners: np.ndarray, has: np.ndarray, keys: pa.Array, found: np.ndarray,
               odd: tuple[np.ndarray, pa.Array], row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner -> every target a reference could resolve to: the same id once case and
    spaces are ignored. Linking to all of them keeps an ambiguous reference ambiguous
    when only part of the records is reassembled.

    ``has``: the owners with a reference; ``keys``: their ``squeeze_upper_arrow``;
    ``found``: the node whose id is each key; ``odd``: ``_odd_ids`` of the targets;
    ``row``: each node's row among the targets (-1: not one). Edges come by owner, then
    target row."""
    exact = np.flatnonzero((found >= 0) & (row[found] >= 0))
    maybe = np.flatnonzero(pc.is_in(keys, value_set=odd[1]).to_numpy(zero_copy_only=False))
    wanted = pd.DataFrame({"ref": maybe, "key": keys.take(pa.array(maybe, type=pa.int64())).to_numpy(
        zero_copy_only=False)})
    by_key = wanted.merge(pd.DataFrame({"key": odd[1].to_numpy(zero_copy_only=False), "target": odd[0]}), on="key")
    ref = np.concatenate([exact, by_key["ref"].to_numpy(dtype=np.int64)])
    target = np.concatenate([found[exact], by_key["target"].to_numpy(dtype=np.int64)])
    order = np.lexsort((row[target], ref))
    return owners[np.flatnonzero(has)[ref[order]]], target[order]


def link_graph(cases: pd.DataFrame, calls: pd.DataFrame, works_orders: pd.DataFrame,
               identities: list[tuple[pd.DataFrame, pd.DataFrame]], membership: pd.DataFrame) -> Links:
    """Links between everything a journey can join: records and their people (under
    every identity map given: last night's and tonight's), call legs and their resolved
    cases, the references rules 2, 4 and 5 follow, and each record and the published
    journey it was in (``membership``: system, source_ref, journey_id)."""
    text = arrow_strings
    system = pc.fill_null(pc.index_in(text(membership["system"]), value_set=pa.array(list(SYSTEM_PREFIX))), -1)
    member_of = {kind: system.to_numpy() == i for i, kind in enumerate(SYSTEM_PREFIX.values())}
    records = [text(cases["case_id"]), text(calls["call_id"]), text(works_orders["work_order_id"])]
    columns = [(CASE, records[0]), (CALL, records[1]), (WORKS, records[2]), (JOURNEY, text(membership["journey_id"])),
               *[(kind, text(membership["source_ref"].to_numpy(dtype=object)[rows]))
                 for kind, rows in member_of.items()]]
    for person_record, attribution in identities:
        columns += [(CASE, text(person_record["case_id"])), (PERSON, text(person_record["person_id"])),
                    (CALL, text(attribution["call_id"])), (PERSON, text(attribution["person_id"])),
                    (CASE, text(attribution["resolved_case_id"]))]
    refs = [(text(cases["duplicate_of"]), CASE), (text(calls["parent_call_id"]), CALL),
            (text(works_orders["case_ref"]), CASE), (text(works_orders["parent_work_order_id"]), WORKS)]
    has = [pc.is_valid(r).to_numpy(zero_copy_only=False) for r, _ in refs]
    keys = [squeeze_upper_arrow(pc.drop_null(r)) for r, _ in refs]
    ids, nodes, found = _number(columns, [(kind, k) for (_, kind), k in zip(refs, keys, strict=True)])
    case, call, works, journey = nodes[:4]
    row = np.full(sum(len(v) for v in ids.values()), -1, dtype=np.int64)  # node -> its row among the records given
    for record in (case, call, works):
        named = record >= 0
        row[record[named]] = np.flatnonzero(named)
    member = np.full(len(membership), -1, dtype=np.int64)
    for rows, part in zip(member_of.values(), nodes[4:7], strict=True):
        member[rows] = part
    odd_cases = _odd_ids(records[0], case)
    parts = [
        _ref_edges(case, has[0], keys[0], found[0], odd_cases, row),
        _ref_edges(call, has[1], keys[1], found[1], _odd_ids(records[1], call), row),
        _ref_edges(works, has[2], keys[2], found[2], odd_cases, row),
        _ref_edges(works, has[3], keys[3], found[3], _odd_ids(records[2], works), row),
        (member, journey),
    ]
    for at in range(7, len(nodes), 5):
        record, person, leg, leg_person, leg_case = nodes[at:at + 5]
        parts += [(record, person), (leg, leg_person), (leg, leg_case)]
    a = np.concatenate([p[0] for p in parts]).astype(np.int64)
    b = np.concatenate([p[1] for p in parts]).astype(np.int64)
    keep = (a >= 0) & (b >= 0)
    return Links(ids=ids, a=a[keep], b=b[keep], staged=row >= 0, members=member)


def record_links(cases: pd.DataFrame, calls: pd.DataFrame, works_orders: pd.DataFrame,
                 identities: list[tuple[pd.DataFrame, pd.DataFrame]], membership: pd.DataFrame) -> pd.DataFrame:
    """``link_graph``'s edges as node labels ``a, b`` (kind prefix, then id), as
    partitions use them."""
    links = link_graph(cases, calls, works_orders, identities, membership)
    labels = links.labels()
    return pd.DataFrame({"a": labels[links.a], "b": labels[links.b]})


def vanished_records(links: Links) -> Seeds:
    """Records in last night's journeys (``link_graph``'s membership) that are no longer
    staged."""
    gone = links.members[links.members >= 0]
    gone = np.unique(gone[~links.staged[gone]])
    return Seeds(*[links.ids_of(kind, links.of_kind(kind, gone)) for kind in (CASE, CALL, WORKS)])


def reach(links: Links, seeds: Seeds) -> Reach:
    """The records and published journeys in the components the seeds touch (a seed
    that links to nothing reaches only itself)."""
    n = links.nodes
    graph = coo_matrix((np.ones(len(links.a), dtype=np.int8), (links.a, links.b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    touched = np.zeros(n, dtype=bool)  # by component
    alone = {}
    for kind, ids in seeds.by_kind().items():
        seed = pc.index_in(links.ids[kind], value_set=arrow_strings(ids))  # each node's place among the seeds
        touched[component[links.start(kind) + np.flatnonzero(pc.is_valid(seed).to_numpy(zero_copy_only=False))]] = True
        alone[kind] = ids[~np.isin(np.arange(len(ids)), pc.drop_null(seed).to_numpy())]
    hit = np.flatnonzero(touched[component])

    def reached(kind: str) -> pd.Index:
        found = links.ids_of(kind, links.of_kind(kind, hit))
        return found.append(alone[kind]) if kind in alone else found

    return Reach(cases=reached(CASE), calls=reached(CALL), works_orders=reached(WORKS),
                 journeys=reached(JOURNEY), people=len(links.of_kind(PERSON, hit)))


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
