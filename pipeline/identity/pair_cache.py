"""The linkage pair cache: last run's scored candidate pairs, reused where that is exact.

A pair's comparison weights depend only on its two records' contents (the model has
no term-frequency adjustments), so the pairs of two records whose linkage features have
not changed since they were scored need no scoring again. A run scores only the pairs
of its *dirty* records against every record, and keeps the cached pairs of the rest:

- dirty: a record that is new, whose features changed (its content hash differs), or
  that was renamed (``unique_id`` is the smallest case_id of the cases sharing the
  details, so a late case with a smaller id renames the record: a new id to the cache);
- dropped: a cached record that is not present with the same id and hash any more
  (removed, changed or renamed): its cached pairs go.

The cache holds every blocked pair whose weight without the prior reaches the weight a
pair needs to link in a run of ``min_records`` records (``linkage.link_weight``). The
prior falls as the number of records grows, so while a run has at least
``min_records`` records no pair outside the cache can link. It is rebuilt from scratch
(a full pass) when there is none, when the model or ``identity.match_probability``
differs from what it was built with, or when a run has fewer records than that.

Pure: the restricted tables ``identity.link_record`` and ``identity.link_pair`` are
read by the stage shell (``pipeline.stages``) and written whole with the identity map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.transforms.identity_features import FEATURE_COLUMNS

PERSONAL_WEIGHTS = ("mw_forename", "mw_email", "mw_mobile", "mw_date_of_birth")  # what the household guard reads
RECORD_COLUMNS = ["unique_id", "content_hash", "model_version", "match_probability", "min_records"]
PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "weight", *PERSONAL_WEIGHTS]
# A full pass sets min_records to this share of its records: a later run may have up
# to half as many records and still use the cache; a lower share caches more pairs.
MIN_RECORDS_SHARE = 0.5
_LIST_SEPARATOR = "\x1f"


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def empty_pairs() -> pd.DataFrame:
    frame = _empty(PAIR_COLUMNS)
    return frame.astype({c: float for c in ("weight", *PERSONAL_WEIGHTS)})


@dataclass(frozen=True)
class LinkCache:
    """The cache as last published: ``record`` (RECORD_COLUMNS), ``pair`` (PAIR_COLUMNS)."""

    record: pd.DataFrame
    pair: pd.DataFrame

    @classmethod
    def empty(cls) -> LinkCache:
        return cls(_empty(RECORD_COLUMNS), empty_pairs())


@dataclass(frozen=True)
class CachePlan:
    """What a run takes from the cache and what it must score."""

    mode: str  # "full" or "incremental"
    full_reason: str | None  # why the cache could not be used; None when incremental
    min_records: int  # the cache's run size floor (kept from the cache when incremental)
    dirty: pd.Series  # unique_ids whose pairs are scored against every record
    dropped: pd.Series  # cached unique_ids whose record and pairs go
    kept: pd.DataFrame  # cached pairs of two clean records (PAIR_COLUMNS)


def content_hashes(records: pd.DataFrame) -> pd.Series:
    """A 64-bit hash (as int64) of each record's linkage features, aligned to ``records``.
    Equal features give equal hashes in every process (pandas' fixed hash key)."""
    features = records[list(FEATURE_COLUMNS)].copy()
    features["forename_names"] = features["forename_names"].map(
        lambda names: None if names is None else _LIST_SEPARATOR.join(names))
    hashed = pd.util.hash_pandas_object(features, index=False).to_numpy(dtype=np.uint64)
    return pd.Series(hashed.view(np.int64), index=records.index)


def _full_reason(cache: LinkCache | None, model_version: str, match_probability: float,
                 records: int) -> str | None:
    if cache is None:
        return "no pair cache was handed over (full build)"
    stamp = cache.record[["model_version", "match_probability", "min_records"]].drop_duplicates()
    if stamp.empty:
        return "the pair cache is empty"
    if len(stamp) > 1:
        return "the pair cache was built with several models or thresholds"
    built = stamp.iloc[0]
    if built["model_version"] != model_version:
        return f"the model changed since the pair cache was built ({built['model_version']} -> {model_version})"
    if float(built["match_probability"]) != match_probability:
        return (f"identity.match_probability changed since the pair cache was built "
                f"({built['match_probability']} -> {match_probability})")
    if records < int(built["min_records"]):
        return f"{records} linkage records, fewer than the pair cache allows ({int(built['min_records'])})"
    return None


def plan(records: pd.DataFrame, hashes: pd.Series, cache: LinkCache | None, model_version: str,
         match_probability: float) -> CachePlan:
    """Which records to score and which cached pairs to keep."""
    ids = records["unique_id"]
    cached_ids = cache.record["unique_id"] if cache is not None else _empty(["unique_id"])["unique_id"]
    reason = _full_reason(cache, model_version, match_probability, len(records))
    if reason:
        return CachePlan("full", reason, max(2, int(len(records) * MIN_RECORDS_SHARE)), ids.reset_index(drop=True),
                         cached_ids.reset_index(drop=True), empty_pairs())
    cached_hash = cache.record.set_index("unique_id")["content_hash"].astype(np.int64)
    clean = ids.map(cached_hash) == hashes
    clean_ids = ids[clean]
    pairs = cache.pair
    kept = pairs[pairs["unique_id_l"].isin(clean_ids) & pairs["unique_id_r"].isin(clean_ids)]
    return CachePlan("incremental", None, int(cache.record["min_records"].iloc[0]),
                     ids[~clean].reset_index(drop=True),
                     cached_ids[~cached_ids.isin(clean_ids)].reset_index(drop=True),
                     kept[PAIR_COLUMNS].reset_index(drop=True))


def cache_tables(cache_plan: CachePlan, records: pd.DataFrame, hashes: pd.Series, candidates: pd.DataFrame,
                 model_version: str, match_probability: float) -> LinkCache:
    """The cache after this run, as written with the identity map: every record's hash
    and every candidate pair (the kept ones and the ones scored tonight)."""
    rows = pd.DataFrame({"unique_id": records["unique_id"].astype(object).to_numpy(),
                         "content_hash": hashes.to_numpy()})
    rows = rows.assign(model_version=model_version, match_probability=float(match_probability),
                       min_records=int(cache_plan.min_records))
    return LinkCache(rows[RECORD_COLUMNS], candidates[PAIR_COLUMNS].reset_index(drop=True))
