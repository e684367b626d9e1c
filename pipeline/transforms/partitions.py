"""Partitions of a full build: unions of whole link components, binned by service.

Journeys never cross the links ``increments.record_links`` follows (a person with their
cases and calls, and the references rules 2, 4 and 5 follow), so the records of one
component assembled on their own give exactly the journeys an assembly of the whole
council gives them; the incremental build rests on the same fact. A partition is
therefore a set of whole components:

- each component has a *service*: that of its smallest record (by node label, cases
  before calls) that has one (a case's service, a call's queue service); a component
  of works orders only has none and is binned as ``NO_SERVICE``;
- services are binned into at most N partitions by size (records), largest first into
  the lightest bin, so a run's partitions are as even as whole services allow and the
  same data always gives the same partitions.

A service is not a partition of the journeys by itself (a duplicate case or a case ref
can cross services), which is why whole components are moved, not records.

Pure: frames in, frames out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.transforms.increments import CALL, CASE, PERSON, WORKS, record_links

NO_SERVICE = "(none)"  # the bin of components with no case or call (works orders only)
KINDS = {CASE: "c", CALL: "k", WORKS: "w", PERSON: "p"}  # node prefix -> the ``kind`` stored per id


@dataclass(frozen=True)
class PartitionPlan:
    """Which partition every record and person is in, and what each partition holds."""

    assignment: pd.DataFrame  # kind ("c" case, "k" call leg, "w" works order, "p" person), id, partition
    services: pd.DataFrame  # service, records, partition: one row per service key

    @property
    def partitions(self) -> int:
        """Partitions that hold something (numbered 0..n-1); 1 for an empty council."""
        return int(self.services["partition"].max()) + 1 if len(self.services) else 1


def components(cases: pd.DataFrame, calls: pd.DataFrame, works_orders: pd.DataFrame,
               person_record: pd.DataFrame, call_attribution: pd.DataFrame) -> pd.DataFrame:
    """``node, component`` for every case, call leg, works order and person: connected
    components of ``record_links`` under one identity map (no published journeys)."""
    membership = pd.DataFrame({c: pd.Series(dtype=object) for c in ("system", "source_ref", "journey_id")})
    edges = record_links(cases, calls, works_orders, [(person_record, call_attribution)], membership)
    records = pd.concat([CASE + cases["case_id"].astype(str), CALL + calls["call_id"].astype(str),
                         WORKS + works_orders["work_order_id"].astype(str)], ignore_index=True)
    codes, nodes = pd.factorize(pd.concat([edges["a"], edges["b"], records], ignore_index=True))
    if not len(nodes):
        return pd.DataFrame({"node": pd.Series(dtype=object), "component": pd.Series(dtype="int64")})
    m = len(edges)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (codes[:m], codes[m:2 * m])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    return pd.DataFrame({"node": np.asarray(nodes, dtype=object), "component": label.astype("int64")})


def component_services(nodes: pd.DataFrame, cases: pd.DataFrame, calls: pd.DataFrame) -> pd.Series:
    """The service of each node's component (aligned with ``nodes``): that of the
    component's smallest record with a service, else ``NO_SERVICE``."""
    serviced = pd.concat([
        pd.DataFrame({"node": CASE + cases["case_id"].astype(str), "service": cases["service"].to_numpy()}),
        pd.DataFrame({"node": CALL + calls["call_id"].astype(str), "service": calls["service"].to_numpy()}),
    ], ignore_index=True).dropna(subset=["service"])
    first = (nodes.merge(serviced, on="node").sort_values("node", kind="stable")
             .drop_duplicates("component").set_index("component")["service"])
    return nodes["component"].map(first).fillna(NO_SERVICE).astype(object)


def bin_services(load: pd.Series, partitions: int) -> pd.Series:
    """``service -> partition`` for services weighing ``load`` (records): largest first
    (ties by name) into the lightest bin (ties to the lowest number). Only bins that get
    a service are used, and they are numbered from 0."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    order = sorted(load.items(), key=lambda item: (-item[1], str(item[0])))
    bins = [0] * partitions
    out = {}
    for service, weight in order:
        target = min(range(partitions), key=lambda b: (bins[b], b))
        out[service] = target
        bins[target] += int(weight)
    return pd.Series(out, dtype="int64")


def plan_partitions(cases: pd.DataFrame, calls: pd.DataFrame, works_orders: pd.DataFrame,
                    person_record: pd.DataFrame, call_attribution: pd.DataFrame, partitions: int) -> PartitionPlan:
    """Every record and person in one of at most ``partitions`` partitions of whole
    components, binned by service (module docstring)."""
    nodes = components(cases, calls, works_orders, person_record, call_attribution)
    nodes = nodes.assign(service=component_services(nodes, cases, calls))
    is_record = ~nodes["node"].str.startswith(PERSON)
    load = nodes[is_record].groupby("service").size()
    bins = bin_services(load, partitions)
    services = pd.DataFrame({"service": load.index.astype(object), "records": load.to_numpy(dtype="int64"),
                             "partition": bins.reindex(load.index).to_numpy(dtype="int64")})
    prefix = nodes["node"].str.slice(0, 2)
    assignment = pd.DataFrame({"kind": prefix.map(KINDS).to_numpy(), "id": nodes["node"].str.slice(2).to_numpy(),
                               "partition": nodes["service"].map(bins).to_numpy(dtype="int64")})
    return PartitionPlan(assignment=assignment,
                         services=services.sort_values(["partition", "service"], ignore_index=True))
