"""Scoring and clustering linkage records with the trained Splink model (DuckDB).

Nightly runs only predict: the model's m/u parameters come from the versioned JSON
(``rules.model_path``), trained offline by ``train_model``. Everything here works on
an in-memory DuckDB owned by one call, so runs never share Splink state.

Every run decides from one table of *candidate pairs*: blocked pairs with their weight
without the prior (the sum of their comparisons' match weights) and the personal
weights the household guard reads. A full pass scores every blocked pair; an
incremental one scores only the pairs of new and changed records and takes the rest
from the pair cache (``pair_cache``). The link decision (weight against this run's
prior), the guards and the clustering then run on that table, the same code either
way, so both give the same people.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.config import ConfigError
from pipeline.identity import pair_cache
from pipeline.identity.pair_cache import PAIR_COLUMNS, LinkCache
from pipeline.transforms.identity_features import hard_link_edges

# Comparisons about the person rather than the household (see household_guard).
PERSONAL_COMPARISONS = ("forename", "email", "mobile", "date_of_birth")
# Our one addition to Splink's model JSON: how many records it was trained on.
TRAINING_RECORDS_KEY = "council_journeys_training_records"
MAX_PRIOR = 0.5
# Splink sums the weights in SQL and we in pandas: its threshold is loosened by this
# much, and the pandas sum decides, so both paths compare the very same floats.
SQL_THRESHOLD_SLACK = 1e-6
# The cache's cutoff is loosened by this much against rounding in the prior's arithmetic.
CUTOFF_SLACK = 1e-9

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


def records_table(records: pd.DataFrame) -> pa.Table:
    """Linkage records as Arrow, with explicit types: a column that is all None must
    still be text (or a list of text)."""
    schema = pa.schema([(c, pa.list_(pa.string()) if c in LIST_COLUMNS else pa.string()) for c in records.columns])
    return pa.Table.from_pandas(records, schema=schema, preserve_index=False)


def make_linker(records: pd.DataFrame, settings: Any, validate: bool = True):
    """A Splink linker over ``records`` in a private in-memory DuckDB."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    return Linker(db_api.register(records_table(records)), settings, log_level=None,
                  validate_settings=validate), db_api


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


def logit2(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def run_prior(model: dict[str, Any], records: int) -> float:
    """The prior (probability two random records match) for a run of ``records`` records.

    It is rescaled from the training data's size to this run's: each person has about
    as many duplicates however big the council, so the prior falls as 1/n. Capped at
    0.5, so it never speaks for a link.
    """
    prior = model["probability_two_random_records_match"]
    trained_on = model.get(TRAINING_RECORDS_KEY)
    if trained_on and records > 1:
        prior = prior * (trained_on - 1) / (records - 1)
    return min(prior, MAX_PRIOR)


def link_weight(model: dict[str, Any], records: int, match_probability: float) -> float:
    """The weight without prior a pair needs to link in a run of ``records`` records:
    match probability >= t exactly when weight + logit2(prior) >= logit2(t). Never
    below logit2(t), and it grows with ``records`` (the prior falls)."""
    return logit2(match_probability) - logit2(run_prior(model, records))


def predict_settings(model: dict[str, Any], records: int) -> dict[str, Any]:
    """The saved model as Splink's own ``predict`` would use it on ``records`` records
    (the prior rescaled, per-comparison weights kept): plain Splink, for the benchmarks."""
    settings = {k: v for k, v in model.items() if k != TRAINING_RECORDS_KEY}
    settings["probability_two_random_records_match"] = run_prior(model, records)
    settings["retain_intermediate_calculation_columns"] = True
    return settings


def scoring_settings(model: dict[str, Any]) -> dict[str, Any]:
    """The saved model for scoring pairs: with a prior of 0.5 (logit 0) Splink's match
    weight is the weight without prior; the per-comparison weights are kept for the
    household guard, the compared values are not."""
    settings = predict_settings(model, 1)
    settings["probability_two_random_records_match"] = MAX_PRIOR
    settings["retain_matching_columns"] = False
    return settings


def check_supported(model: dict[str, Any]) -> None:
    """Pairs are scored record by record and blocked with the model's rules as plain
    SQL: a model with term-frequency adjustments (a pair's weight would depend on every
    other record) or array-exploding blocking rules cannot be served."""
    for comparison in model["comparisons"]:
        if any(level.get("tf_adjustment_column") for level in comparison["comparison_levels"]):
            raise ConfigError(f"identity.model_path: comparison {comparison['output_column_name']!r} has "
                              "term-frequency adjustments, which the identity stage does not support")
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict) and rule.get("arrays_to_explode"):
            raise ConfigError("identity.model_path: a blocking rule explodes arrays, which the identity stage "
                              "does not support")


def blocking_rules(model: dict[str, Any]) -> list[str]:
    """The model's blocking rules as SQL conditions on ``l`` and ``r``."""
    return [rule["blocking_rule"] if isinstance(rule, dict) else str(rule)
            for rule in model.get("blocking_rules_to_generate_predictions", [])]


def pair_weights(predictions: pd.DataFrame, model: dict[str, Any]) -> pd.DataFrame:
    """``PAIR_COLUMNS`` of scored pairs: the weight without prior summed in the model's
    comparison order (one fixed float sum, whichever path scored the pair)."""
    weight = pd.Series(0.0, index=predictions.index)
    for comparison in model["comparisons"]:
        weight = weight + predictions[f"mw_{comparison['output_column_name']}"].astype(float)
    out = predictions[["unique_id_l", "unique_id_r", *pair_cache.PERSONAL_WEIGHTS]].assign(weight=weight)
    return out.astype({c: object for c in ("unique_id_l", "unique_id_r")})[PAIR_COLUMNS].reset_index(drop=True)


def _run(con: Any, sql: str) -> list[tuple]:
    """Run ``sql`` on a DuckDB connection and fetch every row (DuckDB 2 refuses other
    work on a connection while a result is unfinished)."""
    return con.execute(sql).fetchall()


class PersonScorer:
    """The trained model over one run's records, in one private in-memory DuckDB made
    on first use (a night whose records are all cached and unchained needs none).

    It blocks the pairs of given records against every record, and scores those or any
    other pairs it is asked about (those inside chained clusters) with a linker over
    just the records they involve: a pair's weights depend on its two records only.
    """

    def __init__(self, records: pd.DataFrame, model: dict[str, Any]):
        self.records, self.model = records, model
        self._db_api, self._blocking_ready = None, False

    @property
    def db_api(self) -> Any:
        if self._db_api is None:
            from splink import DuckDBAPI

            self._db_api = DuckDBAPI()
        return self._db_api

    def _predict(self, pairs_table: str, threshold: float | None = None) -> pd.DataFrame:
        """Splink's scores of the pairs in a DuckDB table (match_key, join_key_l, join_key_r)."""
        from splink import Linker

        con = self.db_api.duckdb_con
        ids = con.execute(f"SELECT join_key_l AS id FROM {pairs_table} UNION "
                          f"SELECT join_key_r FROM {pairs_table}").df()["id"]
        involved = self.records[self.records["unique_id"].isin(ids)]
        # Settings were validated by Splink when the model was trained (train_model),
        # and tests/identity/test_linkage.py holds the shipped file to comparisons.py.
        linker = Linker(self.db_api.register(records_table(involved)), scoring_settings(self.model),
                        log_level=None, validate_settings=False)
        linker.table_management.register_blocked_pairs_for_predict(self.db_api.register(pairs_table))
        return linker.inference.predict(threshold_match_weight=threshold, warning_mode="never").as_pandas_dataframe()

    def blocked_pairs(self, dirty: pd.Series) -> int:
        """Fill the DuckDB table ``_blocked`` with the blocked pairs that have a record in
        ``dirty`` (``unique_id_l < unique_id_r``, as Splink blocks a dedupe): each of the
        model's blocking rules joins the dirty records to every record, and the clean
        ones to the dirty. Returns how many there are."""
        con = self.db_api.duckdb_con
        if not self._blocking_ready:
            rules = " ".join(blocking_rules(self.model))
            # Blocking reads plain columns; list columns (costly to convert) only if a rule names them.
            columns = [c for c in self.records.columns if c not in LIST_COLUMNS or c in rules]
            con.register("_records", records_table(self.records[columns]))
            self._blocking_ready = True
        con.register("_dirty_ids", pa.table({"unique_id": pa.array(dirty.astype(str).tolist(), pa.string())}))
        _run(con, "CREATE OR REPLACE TEMP TABLE _dirty AS SELECT * FROM _records "
                  "WHERE unique_id IN (SELECT unique_id FROM _dirty_ids)")
        _run(con, "CREATE OR REPLACE TEMP TABLE _clean AS SELECT * FROM _records "
                  "WHERE unique_id NOT IN (SELECT unique_id FROM _dirty_ids)")
        con.unregister("_dirty_ids")
        parts = [f"SELECT l.unique_id AS join_key_l, r.unique_id AS join_key_r FROM {left} AS l "
                 f"JOIN {right} AS r ON ({rule}) WHERE l.unique_id < r.unique_id"
                 for rule in blocking_rules(self.model) for left, right in (("_dirty", "_records"), ("_clean", "_dirty"))]
        _run(con, "CREATE OR REPLACE TEMP TABLE _blocked AS SELECT DISTINCT '0' AS match_key, join_key_l, "
                  f"join_key_r FROM ({' UNION ALL '.join(parts)}) AS pairs")
        return int(_run(con, "SELECT count(*) FROM _blocked")[0][0])

    def candidates(self, dirty: pd.Series, cutoff: float) -> tuple[pd.DataFrame, int | None]:
        """Scored blocked pairs of ``dirty`` records whose weight reaches ``cutoff``
        (``PAIR_COLUMNS``), and how many blocked pairs were scored (None on a full pass,
        where Splink blocks and scores in one query and nothing counts them)."""
        if len(self.records) >= 2 and len(dirty) == len(self.records):
            return self._all_candidates(cutoff)
        blocked = self.blocked_pairs(dirty) if len(dirty) and len(self.records) >= 2 else 0
        if not blocked:
            return pair_cache.empty_pairs(), 0
        scored = pair_weights(self._predict("_blocked", cutoff - SQL_THRESHOLD_SLACK), self.model)
        return scored[scored["weight"] >= cutoff].reset_index(drop=True), blocked

    def _all_candidates(self, cutoff: float) -> tuple[pd.DataFrame, None]:
        """A full pass: Splink's own blocking and predict over every record (the same
        pairs, oriented ``unique_id_l < unique_id_r``, as ``blocked_pairs`` of every record
        gives; tests/identity/test_linkage.py holds the two equal), without materialising
        the blocked pairs first."""
        from splink import Linker

        linker = Linker(self.db_api.register(records_table(self.records)), scoring_settings(self.model),
                        log_level=None, validate_settings=False)
        predicted = linker.inference.predict(threshold_match_weight=cutoff - SQL_THRESHOLD_SLACK,
                                             warning_mode="never").as_pandas_dataframe()
        scored = pair_weights(predicted, self.model)
        return scored[scored["weight"] >= cutoff].reset_index(drop=True), None

    def score(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """``PAIR_COLUMNS`` for exactly these ``unique_id_l, unique_id_r`` pairs."""
        con = self.db_api.duckdb_con
        con.register("_asked", pa.table({"match_key": pa.array(["0"] * len(pairs), pa.string()),
                                         "join_key_l": pa.array(pairs["unique_id_l"].tolist(), pa.string()),
                                         "join_key_r": pa.array(pairs["unique_id_r"].tolist(), pa.string())}))
        _run(con, "CREATE OR REPLACE TEMP TABLE _asked_pairs AS SELECT * FROM _asked")
        con.unregister("_asked")
        return pair_weights(self._predict("_asked_pairs"), self.model)


def model_links(candidates: pd.DataFrame, needed: float) -> tuple[pd.DataFrame, dict]:
    """Candidate pairs whose weight reaches ``needed`` (``link_weight`` at this run's
    size) and that pass the household guard, as edges, and counts."""
    above = candidates[candidates["weight"] >= needed]
    vetoed = household_guard(above) if len(above) else pd.Series(False, index=above.index)
    edges = above.loc[~vetoed, ["unique_id_l", "unique_id_r"]].assign(reason="model")
    counts = {"pairs_linked": int(len(edges)), "pairs_vetoed_household": int(vetoed.sum())}
    return edges.reset_index(drop=True), counts


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


def conflicted_clusters(clusters: pd.DataFrame, records: pd.DataFrame, scorer: PersonScorer,
                        known: pd.DataFrame | None = None) -> set[str]:
    """Clusters of three or more records holding a pair in household conflict.

    Linking is transitive: an undated "John Smith" links to John Smith born 1950 and to
    John Smith born 1985, and the two Johns end up one person although they were never
    linked to each other. Scoring every pair inside such clusters finds them. Pairs in
    ``known`` (scored candidate pairs) are not scored again: a pair's weights are the
    same however it was scored.
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

    pairs = pairs.loc[may_differ("forename") | may_differ("date_of_birth"), ["unique_id_l", "unique_id_r"]]
    if pairs.empty:
        return set()
    known = pair_cache.empty_pairs() if known is None else known
    looked_up = pairs.merge(known, on=["unique_id_l", "unique_id_r"], how="left", indicator=True)
    found = looked_up["_merge"] == "both"
    scored = looked_up.loc[found, PAIR_COLUMNS]
    if not found.all():
        scored = pd.concat([scored, scorer.score(looked_up.loc[~found])], ignore_index=True)
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


def candidate_pairs(records: pd.DataFrame, model: dict[str, Any], match_probability: float,
                    cache: LinkCache | None, scorer: PersonScorer) -> tuple[pd.DataFrame, LinkCache, dict]:
    """Every candidate pair of this run (``PAIR_COLUMNS``, in key order), the pair cache
    to write, and counts: the cached pairs of unchanged records plus the scored pairs
    of the dirty ones (all records on a full pass)."""
    version = model_version(model)
    hashes = pair_cache.content_hashes(records)
    plan = pair_cache.plan(records, hashes, cache, version, match_probability)
    cutoff = link_weight(model, plan.min_records, match_probability) - CUTOFF_SLACK
    scored, blocked = scorer.candidates(plan.dirty, cutoff)
    candidates = (pd.concat([plan.kept, scored], ignore_index=True) if len(plan.kept) else scored)
    candidates = candidates.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    report = {
        "linkage_mode": plan.mode, "linkage_full_reason": plan.full_reason,
        "records_scored": int(len(plan.dirty)), "records_dropped": int(len(plan.dropped)), "pairs_scored": blocked,
        "pairs_reused": int(len(plan.kept)), "candidate_pairs": int(len(candidates)),
    }
    return candidates, pair_cache.cache_tables(plan, records, hashes, candidates, version, match_probability), report


def link_people(records: pd.DataFrame, model: dict[str, Any], match_probability: float, max_cluster_size: int,
                cache: LinkCache | None = None) -> tuple[pd.DataFrame, dict, LinkCache]:
    """``unique_id -> cluster_id`` for a run's linkage records, counts of how, and the
    pair cache to write.

    Model links (weight without prior reaching ``link_weight`` at this run's size, past
    the household guard) and hard links are clustered; clusters over
    ``max_cluster_size`` records, or holding a household conflict, are not merged: only
    their hard links hold. Both are reported. ``cache`` is last run's pair cache (None:
    score every pair).
    """
    check_supported(model)
    hard_edges = hard_link_edges(records)
    scorer = PersonScorer(records, model)
    candidates, new_cache, cache_report = candidate_pairs(records, model, match_probability, cache, scorer)
    model_edges, counts = model_links(candidates, link_weight(model, len(records), match_probability))
    clusters = cluster_records(records, model_edges, hard_edges)
    oversize = set(clusters.loc[cluster_sizes(clusters) > max_cluster_size, "cluster_id"])
    candidate_clusters = clusters[~clusters["cluster_id"].isin(oversize)]
    conflicted = conflicted_clusters(candidate_clusters, records, scorer, candidates)
    report = {
        **cache_report,
        **counts,
        "hard_links": {reason: int(n) for reason, n in hard_edges["reason"].value_counts().sort_index().items()},
        "oversize_clusters": len(oversize), "oversize_cluster_detail": describe_clusters(clusters, oversize),
        "conflicted_clusters": len(conflicted), "conflicted_cluster_detail": describe_clusters(clusters, conflicted),
    }
    return split_by_hard_links(clusters, oversize | conflicted, hard_edges), report, new_cache
