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

import numpy as np
import pandas as pd

from pipeline.config import ConfigError

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
    case_id, so the outcome never depends on row order. A row whose cluster and person
    appear in no other row claims whatever the order (most people, most nights), so
    only the contested rest goes through the greedy loop.
    """
    alone = ~overlap["cluster_id"].duplicated(keep=False) & ~overlap["person_id"].duplicated(keep=False)
    claimed = dict(zip(overlap.loc[alone, "cluster_id"], overlap.loc[alone, "person_id"]))
    contested = overlap[~alone]
    ranked = contested.sort_values(["shared", "person_id", "first_case_id"], ascending=[False, True, True])
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
    rows for this run). Clusters and people are numbered once (``factorize``), so the
    overlaps are counted on integers: every night re-reads every case.
    """
    cluster_code, clusters = pd.factorize(case_cluster["cluster_id"])
    case_ids = case_cluster["case_id"].astype(object).to_numpy()
    by_case = np.argsort(case_ids, kind="stable")
    _, first_at = np.unique(cluster_code[by_case], return_index=True)  # each cluster's smallest case_id
    first = pd.DataFrame({"first_case_id": case_ids[by_case[first_at]],
                          "cases": np.bincount(cluster_code, minlength=len(clusters))},
                         index=pd.Index(clusters, name="cluster_id"))
    previous_person = case_cluster["case_id"].map(previous_record.set_index("case_id")["person_id"])
    person_code, persons = pd.factorize(previous_person)
    seen = person_code >= 0
    width = max(len(persons), 1)  # a (cluster, person) pair as one integer
    pair, shared = np.unique(cluster_code[seen].astype(np.int64) * width + person_code[seen], return_counts=True)
    code = pair // width
    overlap = pd.DataFrame({"cluster_id": clusters[code], "person_id": persons[pair % width],
                            "shared": shared, "first_case_id": first["first_case_id"].to_numpy()[code],
                            "code": code})
    claimed = _claim_previous_ids(overlap)
    taken = set(previous_ids) | set(claimed.values())
    ids = pd.Series(clusters, index=clusters).map(claimed)
    unclaimed = first.loc[ids.isna().to_numpy(), "first_case_id"].sort_values()
    made = {}
    for cluster_id, first_case_id in unclaimed.items():  # in first-case order: salts never depend on row order
        made[cluster_id] = new_person_id(first_case_id, taken)
        taken.add(made[cluster_id])
    ids = ids.fillna(pd.Series(made, dtype=object)).to_numpy(dtype=object)
    person_record = pd.DataFrame({"case_id": case_ids, "person_id": ids[cluster_code]})
    return person_record, _audit(overlap, first, ids, previous_record, run_id)


def _audit(overlap: pd.DataFrame, first: pd.DataFrame, ids: np.ndarray,
           previous_record: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One row per (previous person -> other id) move, and per brand-new person.

    Records of an old person now under another id are a ``merge`` when the old id is
    gone (absorbed), a ``split`` when the old id lives on elsewhere. ``ids``: the new
    person id of each cluster, by cluster code (``overlap.code``, ``first``'s row).
    """
    moved = overlap.assign(new_person_id=ids[overlap["code"].to_numpy()])
    moved = moved[moved["person_id"] != moved["new_person_id"]]
    old_sizes = previous_record.loc[previous_record["person_id"].isin(moved["person_id"]), "person_id"].value_counts()
    kept = set(ids)
    rows = [
        {"old_person_id": r.person_id, "new_person_id": r.new_person_id,
         "change": "split" if r.person_id in kept else "merge",
         "reason": (f"{r.shared} of {old_sizes[r.person_id]} cases of {r.person_id} now belong to "
                    f"{r.new_person_id} ({first['cases'].iat[r.code]} cases)")}
        for r in moved.sort_values(["person_id", "new_person_id"]).itertuples()
    ]
    fresh = np.ones(len(first), dtype=bool)
    fresh[overlap["code"].to_numpy()] = False
    fresh_first = first.assign(new_person_id=ids)[fresh].sort_values("first_case_id")
    rows += [{"old_person_id": None, "new_person_id": new_person_id, "change": "new",
              "reason": f"new person: {n} case(s), none seen before"}
             for new_person_id, n in zip(fresh_first["new_person_id"], fresh_first["cases"])]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS[1:]).assign(run_id=run_id)[AUDIT_COLUMNS]


def same_secret(previous_person: pd.DataFrame, secret: str) -> bool:
    """Whether ``previous_person``'s keys were made with ``secret``. A run writes every
    key with one secret, so a few rows (first, middle, last) tell."""
    if previous_person.empty:
        return True
    rows = previous_person.iloc[sorted({0, len(previous_person) // 2, len(previous_person) - 1})]
    return all(person_key(secret, p) == k for p, k in zip(rows["person_id"], rows["person_key"]))


def person_table(person_record: pd.DataFrame, previous_person: pd.DataFrame, secret: str,
                 run_id: str) -> pd.DataFrame:
    """``person_id, person_key, first_run_id`` for every person with a case this run.

    Keys of people seen before are taken from ``previous_person`` when it was keyed
    with the same secret (an HMAC per person is a second or two a night at a large
    council's size); new people's keys, or all of them after a secret change, are made."""
    people = pd.DataFrame({"person_id": pd.Series(sorted(person_record["person_id"].unique()), dtype=object)})
    previous = previous_person.set_index("person_id")
    first_run = previous["first_run_id"]
    known = previous["person_key"] if same_secret(previous_person, secret) else previous["person_key"].iloc[:0]
    keys = people["person_id"].map(known).astype(object)
    new = keys.isna()
    keys[new] = [person_key(secret, p) for p in people.loc[new, "person_id"]]
    people["person_key"] = keys.to_numpy()
    people["first_run_id"] = people["person_id"].map(first_run).astype(object)
    people["first_run_id"] = people["first_run_id"].where(people["first_run_id"].notna(), run_id)
    return people
