"""The household guard, the rescaled prior, hard-link splits and the shipped model."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import ConfigError
from pipeline.identity.comparisons import person_settings
from pipeline.identity.linkage import (TRAINING_RECORDS_KEY, household_conflict, household_guard, link_weight,
                                      load_model, logit2, predict_settings, run_prior, scoring_settings,
                                      split_by_hard_links)


def pairs(**weights) -> pd.DataFrame:
    """One scored pair per index position; unspecified personal weights are 0 (null level)."""
    n = len(next(iter(weights.values())))
    columns = ("forename", "email", "mobile", "date_of_birth")
    return pd.DataFrame({f"mw_{c}": weights.get(c, [0.0] * n) for c in columns})


def test_household_evidence_alone_never_links():
    scored = pairs(forename=[0.0, 5.8, -5.0, 5.8, -5.0], mobile=[0.0, 0.0, 0.0, 0.0, 9.6],
                   date_of_birth=[0.0, 0.0, 0.0, -9.9, 0.0])
    # nothing personal; forename agrees; forename differs; DOB differs; forename differs but same mobile
    assert household_guard(scored).tolist() == [True, False, True, True, False]
    assert household_conflict(scored).tolist() == [False, False, True, True, False]


def test_prior_is_rescaled_to_the_run_size():
    model = {"probability_two_random_records_match": 1e-3, TRAINING_RECORDS_KEY: 1001, "comparisons": []}
    assert run_prior(model, 101) == pytest.approx(1e-2)
    assert run_prior(model, 2) == 0.5  # capped
    assert predict_settings(model, 101)["probability_two_random_records_match"] == run_prior(model, 101)
    assert TRAINING_RECORDS_KEY not in scoring_settings(model)
    assert scoring_settings(model)["probability_two_random_records_match"] == 0.5  # weights without prior
    assert scoring_settings(model)["retain_intermediate_calculation_columns"] is True


def test_link_weight_is_the_probability_threshold_in_weights_and_grows_with_the_run():
    model = {"probability_two_random_records_match": 1e-3, TRAINING_RECORDS_KEY: 1001, "comparisons": []}
    needed = link_weight(model, 101, 0.95)
    assert needed == pytest.approx(logit2(0.95) - logit2(1e-2))
    # a pair with exactly that weight has match probability 0.95 at this run's prior
    odds = 2 ** (needed + logit2(run_prior(model, 101)))
    assert odds / (1 + odds) == pytest.approx(0.95)
    assert link_weight(model, 2, 0.95) == logit2(0.95)  # the prior is capped at 0.5: never below logit2(t)
    assert link_weight(model, 50, 0.95) <= link_weight(model, 101, 0.95) <= link_weight(model, 10_000, 0.95)


def test_split_by_hard_links_keeps_only_deterministic_links():
    clusters = pd.DataFrame({"unique_id": ["a", "b", "c", "d"], "cluster_id": ["a", "a", "a", "d"]})
    hard = pd.DataFrame({"unique_id_l": ["a"], "unique_id_r": ["c"], "reason": ["email"]})
    out = split_by_hard_links(clusters, {"a"}, hard).set_index("unique_id")["cluster_id"]
    assert out["a"] == out["c"] != out["b"] and out["d"] == "d"


def test_model_file_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="identity.model_path: no trained model"):
        load_model(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(ConfigError, match="not a Splink model"):
        load_model(tmp_path / "other.json")


def test_shipped_model_is_trained_and_matches_the_declared_comparisons(rules):
    """The JSON in the repository must be a retrain of comparisons.py, not a stale copy."""
    model = load_model(rules.model_path)
    declared = person_settings().create_settings_dict("duckdb")
    assert [c["output_column_name"] for c in model["comparisons"]] == \
        [c["output_column_name"] for c in declared["comparisons"]]
    for shipped, wanted in zip(model["comparisons"], declared["comparisons"]):
        assert [lv["sql_condition"] for lv in shipped["comparison_levels"]] == \
            [lv["sql_condition"] for lv in wanted["comparison_levels"]]
        assert all(lv.get("m_probability") and lv.get("u_probability")
                   for lv in shipped["comparison_levels"] if not lv.get("is_null_level"))
    assert [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]] == \
        [r["blocking_rule"] for r in declared["blocking_rules_to_generate_predictions"]]
    assert model[TRAINING_RECORDS_KEY] > 1000


def test_blocked_pairs_are_splinks_and_new_against_all_adds_up(kit, rules):
    """The pairs the scorer blocks for every record are exactly those Splink's own
    blocking gives; for some records, exactly those of them that touch those records."""
    from splink import DuckDBAPI, Linker

    from pipeline.identity.linkage import PersonScorer, records_table
    from pipeline.transforms.identity_features import contact_features, linkage_records

    from .conftest import background
    from .test_pair_cache import DAY_1

    # every background person again with another phone and email: each shares blocks with one
    again = [{**row, "case_id": f"H{i}", "phone": f"+447700800{i:03d}", "email": None}
             for i, row in enumerate(background())]
    records, _ = linkage_records(contact_features(kit.cases(*DAY_1, *again, *background()), []))
    model = load_model(rules.model_path)
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(records_table(records)), scoring_settings(model), validate_settings=False)
    theirs = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
    splink_pairs = set(zip(theirs["join_key_l"], theirs["join_key_r"]))
    assert len(splink_pairs) > 20

    def ours(dirty) -> set[tuple[str, str]]:
        scorer = PersonScorer(records, model)
        count = scorer.blocked_pairs(pd.Series(dirty, dtype=object))
        rows = scorer.db_api.duckdb_con.execute("SELECT join_key_l, join_key_r FROM _blocked").fetchall()
        assert count == len(rows)
        return set(rows)

    assert ours(records["unique_id"]) == splink_pairs
    some = ["C100", "H2", "BG003", "BG010"]
    assert ours(some) == {p for p in splink_pairs if p[0] in some or p[1] in some}
    assert ours([]) == set()
