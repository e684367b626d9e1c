"""train_model on a small generated council: it writes a usable, versioned model."""

from __future__ import annotations

import json

import pytest

from pipeline.generate.council import generate_council
from pipeline.identity import PreviousIdentity, train_model
from pipeline.identity.linkage import TRAINING_RECORDS_KEY
from pipeline.ingest import ingest_source, load_mapping


@pytest.fixture(scope="module")
def staged_council(tmp_path_factory, config):
    """A generated council's staged CRM cases and call legs (synthetic people)."""
    out = tmp_path_factory.mktemp("council")
    summary = generate_council(out, people=3000, days=90, seed=3)
    return {source: ingest_source(source, summary.landing_dir, load_mapping(config.mappings[source]),
                                  queue_service=config.journeys.queue_service, tz=config.timezone).staged
            for source in ("crm_cases", "call_logs")}


def test_train_writes_a_model_that_the_stage_can_use(staged_council, rules, journey_rules, tmp_path):
    from pipeline.identity import resolve_identity

    trained = rules.model_copy(update={"model_path": tmp_path / "model" / "person_model.json"})
    report = train_model(staged_council["crm_cases"], trained)
    model = json.loads(report.model_path.read_text())
    assert report.model_path == trained.model_path and len(report.model_version) == 12
    assert "linker_uid" not in model and model[TRAINING_RECORDS_KEY] == report.records
    assert report.cases == len(staged_council["crm_cases"]) > report.records
    assert 0 < report.probability_two_random_records_match < 0.01
    levels = report.parameters
    assert set(levels["comparison"]) == {"forename", "surname_address", "email", "mobile", "landline",
                                         "date_of_birth"}
    assert levels[["m_probability", "u_probability"]].notna().all().all()
    exact = levels.set_index(["comparison", "level"]).loc[("forename", "Exact match on forename"), "match_weight"]
    assert exact > 0
    result = resolve_identity(staged_council["crm_cases"], staged_council["call_logs"], PreviousIdentity.empty(),
                              trained, journey_rules, "secret", "run-1")
    assert result.report["model_version"] == report.model_version
    assert len(result.person_record) == len(staged_council["crm_cases"])


def test_too_little_data_to_train_is_refused(kit, rules, tmp_path):
    few = kit.cases({"case_id": "C1", "forename": "Ann", "surname": "Lee", "phone": "+447700900123"})
    with pytest.raises(ValueError, match="too few to train on"):
        train_model(few, rules.model_copy(update={"model_path": tmp_path / "m.json"}))
