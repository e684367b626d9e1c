"""The household guard, the rescaled prior, hard-link splits and the shipped model."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import ConfigError
from pipeline.identity.comparisons import person_settings
from pipeline.identity.linkage import (TRAINING_RECORDS_KEY, household_conflict, household_guard, load_model,
                                      predict_settings, split_by_hard_links)


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
    assert predict_settings(model, 101)["probability_two_random_records_match"] == pytest.approx(1e-2)
    assert predict_settings(model, 2)["probability_two_random_records_match"] == 0.5  # capped
    assert TRAINING_RECORDS_KEY not in predict_settings(model, 101)
    assert predict_settings(model, 101)["retain_intermediate_calculation_columns"] is True


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
