"""Stable person ids across runs, their audit trail, and the published person_key.

Each run re-clusters every staged case, so cluster numbers mean nothing from one
night to the next. The identity map gives each new cluster the id of the previous
person it overlaps most (by shared case_ids), so people who did not change keep
their ids, and records every merge, split and new person. New ids derive from the
cluster's smallest case_id, so a rebuild from scratch with the same data gives the
same ids.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from pipeline.config import ConfigError
from pipeline.transforms.identity_features import smallest_per_group

AUDIT_COLUMNS = ["run_id", "old_person_id", "new_person_id", "change", "reason"]
ID_HASH_CHARS = 16


def new_person_id(first_case_id: str, taken: set[str]) -> str:
    """``P-`` + a short hash of the cluster's smallest case_id; salted only in the rare
    event that the id is already taken (e.g. by the person this cluster split from)."""
    salt = 0
    while True:
        seed = first_case_id if salt == 0 else f"{first_case_id}#{salt}"
        candidate = "P-" + hashlib.sha256(seed.encode()).hexdigest()[:ID_HASH_CHARS]
        if candidate not in taken:
            return candidate
        salt += 1


def check_secret(secret: str | None, env_name: str) -> None:
    """A missing secret is an error: a made-up key would renumber every person_key."""
    if not secret:
        raise ConfigError(f"the person_key HMAC secret is empty: set {env_name} (never stored in config)")


def person_key(secret: str, person_id: str) -> str:
    """HMAC-SHA256(secret, person_id) as hex: the only published form of a person."""
    check_secret(secret, "the HMAC secret")
    return hmac.new(secret.encode("utf-8"), person_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _claim_previous_ids(overlap: pd.DataFrame) -> dict[str, str]:
    """cluster_id -> previous person_id, by largest overlap first.

    Each previous id goes to at most one cluster and each cluster takes at most one id.
    Ties go to the smaller previous id, then to the cluster with the smaller first
    case_id, so the outcome never depends on row order.
    """
    ranked = overlap.sort_values(["shared", "person_id", "first_case_id"], ascending=[False, True, True])
    claimed: dict[str, str] = {}
    used: set[str] = set()
    for cluster_id, person_id in zip(ranked["cluster_id"], ranked["person_id"]):
        if cluster_id not in claimed and person_id not in used:
            claimed[cluster_id] = person_id
            used.add(person_id)
    return claimed


def assign_person_ids(case_cluster: pd.DataFrame, previous_record: pd.DataFrame,
                      previous_ids: set[str], run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stable ids for this run's clusters.

    ``case_cluster``: ``case_id, cluster_id`` for every case; ``previous_record``: last
    run's ``case_id, person_id``; ``previous_ids``: every id ever issued (never reused
    for someone else). Returns (``person_record``: case_id, person_id; ``identity_audit``
    rows for this run).
    """
    smallest = smallest_per_group(case_cluster["case_id"], case_cluster["cluster_id"])
    first = pd.DataFrame({"cluster_id": case_cluster["cluster_id"].to_numpy(), "first_case_id": smallest.to_numpy()})
    first = first.groupby("cluster_id").agg(first_case_id=("first_case_id", "first"), cases=("first_case_id", "size"))
    overlap = (case_cluster.merge(previous_record, on="case_id")
               .groupby(["cluster_id", "person_id"]).size().rename("shared").reset_index()
               .merge(first, left_on="cluster_id", right_index=True))
    claimed = _claim_previous_ids(overlap)
    taken = set(previous_ids) | set(claimed.values())
    ids: dict[str, str] = {}
    for cluster_id, first_case_id in first["first_case_id"].sort_values().items():
        if cluster_id in claimed:
            ids[cluster_id] = claimed[cluster_id]
        else:
            ids[cluster_id] = new_person_id(first_case_id, taken)
            taken.add(ids[cluster_id])
    person_record = pd.DataFrame({"case_id": case_cluster["case_id"].astype(object).to_numpy(),
                                  "person_id": case_cluster["cluster_id"].map(ids).astype(object).to_numpy()})
    return person_record, _audit(overlap, first, ids, previous_record, run_id)


def _audit(overlap: pd.DataFrame, first: pd.DataFrame, ids: dict[str, str],
           previous_record: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One row per (previous person -> other id) move, and per brand-new person.

    Records of an old person now under another id are a ``merge`` when the old id is
    gone (absorbed), a ``split`` when the old id lives on elsewhere.
    """
    old_sizes = previous_record.groupby("person_id").size()
    kept = set(ids.values())
    moved = overlap.assign(new_person_id=overlap["cluster_id"].map(ids))
    moved = moved[moved["person_id"] != moved["new_person_id"]]
    rows = [
        {"old_person_id": r.person_id, "new_person_id": r.new_person_id,
         "change": "split" if r.person_id in kept else "merge",
         "reason": (f"{r.shared} of {old_sizes[r.person_id]} cases of {r.person_id} now belong to "
                    f"{r.new_person_id} ({first.at[r.cluster_id, 'cases']} cases)")}
        for r in moved.sort_values(["person_id", "new_person_id"]).itertuples()
    ]
    fresh = first[~first.index.isin(overlap["cluster_id"])].sort_values("first_case_id")
    rows += [{"old_person_id": None, "new_person_id": ids[cluster_id], "change": "new",
              "reason": f"new person: {n} case(s), none seen before"}
             for cluster_id, n in fresh["cases"].items()]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS[1:]).assign(run_id=run_id)[AUDIT_COLUMNS]


def person_table(person_record: pd.DataFrame, previous_person: pd.DataFrame, secret: str,
                 run_id: str) -> pd.DataFrame:
    """``person_id, person_key, first_run_id`` for every person with a case this run."""
    people = pd.DataFrame({"person_id": pd.Series(sorted(person_record["person_id"].unique()), dtype=object)})
    first_run = previous_person.set_index("person_id")["first_run_id"]
    people["person_key"] = pd.Series([person_key(secret, p) for p in people["person_id"]], dtype=object)
    people["first_run_id"] = people["person_id"].map(first_run).astype(object)
    people["first_run_id"] = people["first_run_id"].where(people["first_run_id"].notna(), run_id)
    return people
