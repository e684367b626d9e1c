"""Bad input stops the identity stage with the landing file, line and column."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.identity.inputs import IdentityInputError, check_calls, check_cases, check_previous


def test_a_missing_column_is_named(kit):
    with pytest.raises(IdentityInputError, match=r"crm_cases, column 'phone': missing column\(s\) \['phone'\]"):
        check_cases(kit.cases({"case_id": "C1"}).drop(columns="phone"))


def test_a_duplicate_case_names_file_and_line(kit):
    cases = kit.cases({"case_id": "C1"}, {"case_id": "C2"}, {"case_id": "C1"})
    with pytest.raises(IdentityInputError) as err:
        check_cases(cases)
    assert str(err.value).startswith(
        "crm_cases (crm_cases/2026-03-02.csv, line 1), column 'case_id': key is not unique")
    assert "(2 rows)" in str(err.value) and err.value.line == 1


def test_an_unnormalised_phone_names_file_line_and_column(kit):
    cases = kit.cases({"case_id": "C1", "phone": "+447700900123"}, {"case_id": "C2", "phone": "07700 900123"})
    with pytest.raises(IdentityInputError,
                       match=r"line 2\), column 'phone': not an E.164 phone number .*'07700 900123'"):
        check_cases(cases)


def test_an_empty_case_id_is_reported(kit):
    with pytest.raises(IdentityInputError, match="column 'case_id': key is empty"):
        check_cases(kit.cases({"case_id": None}))


def test_opened_at_must_be_a_timestamp(kit):
    cases = kit.cases({"case_id": "C1"}).assign(opened_at="2026-03-02")
    with pytest.raises(IdentityInputError, match="column 'opened_at': expected naive-UTC timestamps"):
        check_cases(cases)


def test_calls_need_a_start_and_a_clean_number(kit):
    with pytest.raises(IdentityInputError,
                       match=r"call_logs \(call_logs/2026-03-02.csv, line 1\), column 'started_at'"):
        check_calls(kit.calls({"call_id": "L1", "started_at": None}))
    with pytest.raises(IdentityInputError, match="column 'caller_number': not an E.164"):
        check_calls(kit.calls({"call_id": "L1", "caller_number": "withheld"}))
    with pytest.raises(IdentityInputError, match="column 'call_id': key is not unique"):
        check_calls(kit.calls({"call_id": "L1"}, {"call_id": "L1"}))


def test_the_previous_map_must_know_every_person():
    record = pd.DataFrame({"case_id": ["C1"], "person_id": ["P-x"]})
    person = pd.DataFrame({"person_id": ["P-y"], "person_key": ["k"], "first_run_id": ["r"]})
    with pytest.raises(IdentityInputError, match="identity.person_record, column 'person_id': person missing"):
        check_previous(record, person)


def test_the_stage_checks_before_linking(kit):
    bad = [{"case_id": "C1", "phone": "0113 496 0000"}]
    with pytest.raises(IdentityInputError, match="column 'phone'"):
        kit.resolve(bad)
