"""Scoring and clustering linkage records with the trained Splink model (DuckDB).

Nightly runs only predict: the model's m/u parameters come from the versioned JSON
(``rules.model_path``), trained offline by ``train_model``. Everything here works on
an in-memory DuckDB owned by one call, so runs never share Splink state.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.config import ConfigError
from pipeline.transforms.identity_features import hard_link_edges

# Comparisons about the person rather than the household (see household_guard).
PERSONAL_COMPARISONS = ("forename", "email", "mobile", "date_of_birth")
# Our one addition to Splink's model JSON: how many records it was trained on.
TRAINING_RECORDS_KEY = "council_journeys_training_records"
MAX_PRIOR = 0.5

LIST_COLUMNS = ("forename_names",)


def load_model(path: Path) -> dict[str, Any]:
    """The trained settings dict; a missing or unreadable model stops the run."""
    try:
        model = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"identity.model_path: no trained model at {path} "
                          "(run `journeys identity train`)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"identity.model_path: {path} is not valid JSON ({exc})") from None
    if not isinstance(model, dict) or "comparisons" not in model:
        raise ConfigError(f"identity.model_path: {path} is not a Splink model (no 'comparisons')")
    return model


def model_version(model: dict[str, Any]) -> str:
    """Content hash of a model: which model a run used, recorded in its report."""
    return hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()[:12]


def make_linker(records: pd.DataFrame, settings: Any, validate: bool = True):
    """A Splink linker over ``records`` in a private in-memory DuckDB."""
    from splink import DuckDBAPI, Linker

    # Explicit types: a column that is all None must still be text (or a list of text).
    schema = pa.schema([(c, pa.list_(pa.string()) if c in LIST_COLUMNS else pa.string()) for c in records.columns])
    db_api = DuckDBAPI()
    table = pa.Table.from_pandas(records, schema=schema, preserve_index=False)
    return Linker(db_api.register(table), settings, log_level=None, validate_settings=validate), db_api


def household_conflict(pairs: pd.DataFrame) -> pd.Series:
    """True where the forename or date of birth speaks against a pair and neither the
    mobile nor the email speaks for it: a sibling, a parent, a namesake."""
    identifier = (pairs["mw_mobile"] > 0) | (pairs["mw_email"] > 0)
    against = (pairs["mw_forename"] < 0) | (pairs["mw_date_of_birth"] < 0)
    return against & ~identifier


def household_guard(pairs: pd.DataFrame) -> pd.Series:
    """True for scored pairs that household evidence alone would link.

    Family members share surname, address, postcode, UPRN and landline, so those never
    suffice: a link also needs a personal comparison (forename, email, mobile, date of
    birth) to speak for it, and no household conflict.
    """
    personal = pd.concat([pairs[f"mw_{c}"] > 0 for c in PERSONAL_COMPARISONS], axis=1).any(axis=1)
    return ~personal | household_conflict(pairs)


def predict_settings(model: dict[str, Any], records: int) -> dict[str, Any]:
    """The saved model, ready to score ``records`` records.

    The prior (probability two random records match) is rescaled from the training
    data's size to this run's: each person has about as many duplicates however big
    the council, so the prior falls as 1/n. Per-comparison weights are kept for the
    household guard.
    """
    settings = {k: v for k, v in model.items() if k != TRAINING_RECORDS_KEY}
    trained_on = model.get(TRAINING_RECORDS_KEY)
    if trained_on and records > 1:
        prior = model["probability_two_random_records_match"] * (trained_on - 1) / (records - 1)
        settings["probability_two_random_records_match"] = min(prior, MAX_PRIOR)
    settings["retain_intermediate_calculation_columns"] = True
    return settings


class PersonScorer:
    """The trained model over one run's records, in one private in-memory DuckDB.

    It scores the candidate pairs the model's blocking rules generate, and then any
    other pairs it is asked about (those inside chained clusters), without building a
    second linker.
    """

    def __init__(self, records: pd.DataFrame, model: dict[str, Any]):
        # Settings were validated by Splink when the model was trained (train_model),
        # and tests/identity/test_linkage.py holds the shipped file to comparisons.py.
        self.linker, self.db_api = make_linker(records, predict_settings(model, len(records)), validate=False)

    def links(self, match_probability: float) -> tuple[pd.DataFrame, dict]:
        """Pairs scoring ``match_probability`` or above that pass the household guard,
        as edges, and counts."""
        predictions = self.linker.inference.predict(threshold_match_probability=match_probability,
                                                    warning_mode="never").as_pandas_dataframe()
        vetoed = household_guard(predictions) if len(predictions) else pd.Series(dtype=bool)
        edges = predictions.loc[~vetoed, ["unique_id_l", "unique_id_r", "match_probability"]].assign(reason="model")
        counts = {"pairs_linked": int(len(edges)), "pairs_vetoed_household": int(vetoed.sum())}
        return edges.reset_index(drop=True), counts

    def score(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Model weights for exactly these ``unique_id_l, unique_id_r`` pairs."""
        table = pa.table({"match_key": pa.array(["0"] * len(pairs), pa.string()),
                          "join_key_l": pa.array(pairs["unique_id_l"].tolist(), pa.string()),
                          "join_key_r": pa.array(pairs["unique_id_r"].tolist(), pa.string())})
        self.linker.table_management.register_blocked_pairs_for_predict(self.db_api.register(table))
        return self.linker.inference.predict(warning_mode="never").as_pandas_dataframe()


def connected_clusters(node_ids: pd.Series, edges: pd.DataFrame, db_api: Any = None) -> pd.DataFrame:
    """``unique_id -> cluster_id`` by connected components over ``edges`` (Splink's
    ``cluster_pairwise_predictions_at_threshold``: every edge given is a link)."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    nodes = pa.table({"unique_id": pa.array(node_ids.astype(str).tolist(), pa.string())})
    edge_table = pa.table({
        "unique_id_l": pa.array(edges["unique_id_l"].astype(str).tolist(), pa.string()),
        "unique_id_r": pa.array(edges["unique_id_r"].astype(str).tolist(), pa.string()),
    })
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes, edge_table, db_api=db_api or DuckDBAPI(), node_id_column_name="unique_id").as_pandas_dataframe()
    return clusters[["unique_id", "cluster_id"]].astype(str)


def cluster_records(records: pd.DataFrame, model_edges: pd.DataFrame, hard_edges: pd.DataFrame,
                    db_api: Any = None) -> pd.DataFrame:
    """``unique_id -> cluster_id`` over model and hard links."""
    if records.empty:
        return pd.DataFrame({"unique_id": pd.Series(dtype=object), "cluster_id": pd.Series(dtype=object)})
    return connected_clusters(records["unique_id"], pd.concat([model_edges, hard_edges], ignore_index=True), db_api)


def cluster_sizes(clusters: pd.DataFrame) -> pd.Series:
    """Records per cluster, aligned to the rows of ``clusters``."""
    return clusters.groupby("cluster_id")["unique_id"].transform("size")


def conflicted_clusters(clusters: pd.DataFrame, records: pd.DataFrame, scorer: PersonScorer) -> set[str]:
    """Clusters of three or more records holding a pair in household conflict.

    Linking is transitive: an undated "John Smith" links to John Smith born 1950 and to
    John Smith born 1985, and the two Johns end up one person although they were never
    linked to each other. Scoring every pair inside such clusters finds them.
    """
    chained = clusters[cluster_sizes(clusters) >= 3]
    if chained.empty:
        return set()
    detail = chained.merge(records[["unique_id", "forename", "date_of_birth"]], on="unique_id")
    pairs = detail.merge(detail, on="cluster_id", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    # Only a differing forename or date of birth can be a conflict: score just those.
    def may_differ(column: str) -> pd.Series:
        left, right = pairs[f"{column}_l"], pairs[f"{column}_r"]
        return left.notna() & right.notna() & (left != right)

    pairs = pairs[may_differ("forename") | may_differ("date_of_birth")]
    if pairs.empty:
        return set()
    scored = scorer.score(pairs)
    cluster_of = chained.set_index("unique_id")["cluster_id"]
    return set(scored.loc[household_conflict(scored), "unique_id_l"].map(cluster_of))


def split_by_hard_links(clusters: pd.DataFrame, cluster_ids: set[str], hard_edges: pd.DataFrame,
                        db_api: Any = None) -> pd.DataFrame:
    """Undo the model's merges in ``cluster_ids``: only hard links (customer_id, email)
    hold their records together."""
    untrusted = clusters["cluster_id"].isin(cluster_ids)
    if not untrusted.any():
        return clusters
    inside = set(clusters.loc[untrusted, "unique_id"])
    hard_inside = hard_edges[hard_edges["unique_id_l"].isin(inside) & hard_edges["unique_id_r"].isin(inside)]
    resplit = connected_clusters(clusters.loc[untrusted, "unique_id"], hard_inside, db_api)
    resplit["cluster_id"] = "hard:" + resplit["cluster_id"]
    return pd.concat([clusters[~untrusted], resplit], ignore_index=True)


def describe_clusters(clusters: pd.DataFrame, cluster_ids: set[str]) -> list[dict]:
    """Report rows (size and first case_id, never details) for the given clusters."""
    chosen = clusters[clusters["cluster_id"].isin(cluster_ids)]
    summary = chosen.groupby("cluster_id")["unique_id"].agg(["min", "size"]).sort_values("min")
    return [{"records": int(n), "first_case_id": str(first)} for first, n in summary.itertuples(index=False)]


def link_people(records: pd.DataFrame, model: dict[str, Any], match_probability: float,
                max_cluster_size: int) -> tuple[pd.DataFrame, dict]:
    """``unique_id -> cluster_id`` for a run's linkage records, and counts of how.

    Model links (at ``match_probability``, past the household guard) and hard links
    are clustered; clusters over ``max_cluster_size`` records, or holding a household
    conflict, are not merged: only their hard links hold. Both are reported.
    """
    hard_edges = hard_link_edges(records)
    if len(records) >= 2:
        scorer = PersonScorer(records, model)
        model_edges, counts = scorer.links(match_probability)
    else:
        scorer, model_edges, counts = None, hard_edges.iloc[:0], {"pairs_linked": 0, "pairs_vetoed_household": 0}
    db_api = scorer.db_api if scorer else None
    clusters = cluster_records(records, model_edges, hard_edges, db_api)
    oversize = set(clusters.loc[cluster_sizes(clusters) > max_cluster_size, "cluster_id"])
    candidates = clusters[~clusters["cluster_id"].isin(oversize)]
    conflicted = conflicted_clusters(candidates, records, scorer) if scorer else set()
    report = {
        **counts,
        "hard_links": {reason: int(n) for reason, n in hard_edges["reason"].value_counts().sort_index().items()},
        "oversize_clusters": len(oversize), "oversize_cluster_detail": describe_clusters(clusters, oversize),
        "conflicted_clusters": len(conflicted), "conflicted_cluster_detail": describe_clusters(clusters, conflicted),
    }
    return split_by_hard_links(clusters, oversize | conflicted, hard_edges, db_api), report
