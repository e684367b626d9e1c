"""validate_source (quarantine or stop), validate_outputs and validate_delta (publish or
stop), rule by rule."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.errors import ValidationFailed
from pipeline.validation.suites import (AFTER_SWAP, REFERENCES, expectation_id, incremental_scope, load_suite,
                                        published_suite_name)
from pipeline.validation.validate import validate_delta, validate_outputs, validate_source
from pipeline.warehouse.delta import AfterSwap
from pipeline.warehouse.tables import BUILD_OUTPUTS
from pipeline.warehouse.tables import quarantine as quarantine_table

AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")


def _source(staged, rules, source, *rows):
    return validate_source(source, staged(source, *rows), rules, AS_OF, "run-1")


def _failed(rows):
    return {r["expectation"] for r in rows if not r["success"]}


# --------------------------------------------------------------------------- sources

@pytest.mark.parametrize("source", ["crm_cases", "crm_case_events", "call_logs", "works_orders"])
def test_valid_rows_pass_untouched(staged, rules, source):
    frame = staged(source, {})
    result = validate_source(source, frame, rules, AS_OF, "run-1")
    pd.testing.assert_frame_equal(result.clean, frame)
    assert result.quarantine.empty and list(result.quarantine.columns) == [c.name for c in quarantine_table.columns]
    assert result.results and all(r["success"] and r["run_id"] == "run-1" for r in result.results)
    assert {r["suite"] for r in result.results} == {f"source_{source}"}


def test_missing_reject_key_is_quarantined_with_file_line_and_expectation(staged, rules):
    result = _source(staged, rules, "crm_cases", {"case_id": "C1"}, {"case_id": None}, {"case_id": "C3"})
    assert list(result.clean["case_id"]) == ["C1", "C3"]
    q = result.quarantine.iloc[0].to_dict()
    assert q["run_id"] == "run-1" and q["source"] == "crm_cases"
    assert (q["file"], q["line"], q["column"]) == ("crm_cases/2026-11-26.csv", 2, "case_id")
    assert q["expectation"] == "expect_column_values_to_not_be_null(case_id)" and "missing" in q["reason"]
    row = next(r for r in result.results if r["expectation"] == q["expectation"])
    assert (row["success"], row["critical"], row["unexpected_count"]) == (False, False, 1)
    assert row["details"].startswith("1 of 3 rows quarantined")


def test_closed_before_opened_is_quarantined_with_both_values(staged, rules):
    result = _source(staged, rules, "crm_cases",
                     {"case_id": "C1", "closed_at": pd.Timestamp("2026-11-19 09:00")},
                     {"case_id": "C2", "closed_at": None, "status": "open", "closure_reason": None})
    assert list(result.clean["case_id"]) == ["C2"]  # an open case has no closed_at: fine
    q = result.quarantine.iloc[0]
    assert q["reason"] == "closed_at before opened_at"
    assert q["value"] == "closed_at=2026-11-19 09:00:00; opened_at=2026-11-20 09:00:00"


@pytest.mark.parametrize("answered, ok", [
    ("2026-11-20 08:59", False), ("2026-11-20 09:00", True), ("2026-11-20 09:05", True),
    ("2026-11-20 09:06", False), (None, True),
])
def test_answered_must_fall_between_started_and_ended(staged, rules, answered, ok):
    result = _source(staged, rules, "call_logs", {"answered_at": answered})
    assert len(result.clean) == (1 if ok else 0)
    assert len(result.quarantine) == (0 if ok else 1)


@pytest.mark.parametrize("opened, ok", [
    ("1999-12-31 23:59", False), ("2000-01-01 00:00", True),
    ("2026-11-28 23:59:59", True), ("2026-11-29 00:00:01", False),
])
def test_timestamps_must_be_in_the_sane_range(staged, rules, opened, ok):
    ts = pd.Timestamp(opened)
    result = _source(staged, rules, "works_orders", {"raised_at": ts, "updated_at": ts})
    assert len(result.clean) == (1 if ok else 0)
    if not ok:  # one quarantine row per failing column, the row leaves once
        assert set(result.quarantine["column"]) == {"raised_at", "updated_at"}
        assert set(result.quarantine["line"]) == {1}


def test_a_works_order_may_be_due_weeks_after_as_of_but_not_before_2000(staged, rules):
    result = _source(staged, rules, "works_orders", {"target_at": pd.Timestamp("2027-01-15")},
                     {"target_at": pd.Timestamp("1999-01-15")})
    assert list(result.clean["work_order_id"]) == ["W1"]
    assert list(result.quarantine["column"]) == ["target_at"]


def test_values_outside_the_contract_sets_are_quarantined(staged, rules):
    result = _source(staged, rules, "works_orders", {"priority": "P9"}, {"status": "done"}, {})
    assert list(result.quarantine["column"]) == ["priority", "status"]
    assert list(result.quarantine["value"]) == ["P9", "done"]
    assert len(result.clean) == 1


def test_a_row_failing_several_rules_gives_one_quarantine_row_per_rule(staged, rules):
    result = _source(staged, rules, "crm_cases", {"channel": "pigeon", "status": None})
    assert sorted(result.quarantine["column"]) == ["channel", "status"]
    assert result.clean.empty


def test_duplicate_key_after_latest_wins_stops_the_run(staged, rules):
    with pytest.raises(ValidationFailed, match=r"source crm_cases.*expect_column_values_to_be_unique\(case_id\)") as err:
        _source(staged, rules, "crm_cases", {"case_id": "C1"}, {"case_id": "C1"})
    assert any(not r["success"] and r["critical"] for r in err.value.results)
    assert err.value.quarantine.empty


def test_duplicate_case_events_are_judged_on_the_whole_key(staged, rules):
    same = {"team": None, "status": None}
    ok = _source(staged, rules, "crm_case_events", same, {**same, "event_type": "note"})
    assert len(ok.clean) == 2
    with pytest.raises(ValidationFailed, match="expect_compound_columns_to_be_unique"):
        _source(staged, rules, "crm_case_events", same, same)


def test_missing_contract_column_stops_the_run_and_names_it(staged, rules):
    frame = staged("call_logs", {}).drop(columns=["queue"])
    with pytest.raises(ValidationFailed, match=r"missing \['queue'\]"):
        validate_source("call_logs", frame, rules, AS_OF, "run-1")


def test_unparsable_timestamps_stop_the_run_rather_than_pass(staged, rules):
    frame = staged("crm_cases", {}).astype({"opened_at": object})
    frame.loc[0, "opened_at"] = "yesterday"
    with pytest.raises(ValidationFailed, match="could not be evaluated"):
        validate_source("crm_cases", frame, rules, AS_OF, "run-1")


def test_empty_staged_frame_is_valid(staged, rules):
    result = validate_source("works_orders", staged("works_orders").iloc[:0], rules, AS_OF, "run-1")
    assert result.clean.empty and result.quarantine.empty


def test_unknown_source_is_a_clear_error(staged, rules):
    with pytest.raises(KeyError, match="unknown source 'crm'"):
        validate_source("crm", staged("crm_cases", {}), rules, AS_OF, "run-1")


# --------------------------------------------------------------------------- outputs

def test_valid_outputs_pass_with_one_row_per_expectation(outputs, rules):
    rows = validate_outputs(outputs, rules, 5, "run-1")
    assert rows and all(r["success"] for r in rows)
    assert {r["suite"] for r in rows} == {f"published_{t}" for t in outputs}
    keys = [(r["suite"], r["expectation"]) for r in rows]
    assert len(keys) == len(set(keys))  # the validation_result primary key holds


def _fails(tables, rules, expectation, threshold=5):
    with pytest.raises(ValidationFailed) as err:
        validate_outputs(tables, rules, threshold, "run-1")
    assert expectation in _failed(err.value.results), _failed(err.value.results)
    return err.value


def _journeys(outputs):
    """The two journey tables: what most rules need (validating all nine is slower)."""
    return {t: outputs[t] for t in ("journey", "journey_event")}


def test_a_critical_failure_raises_after_every_table_is_checked(outputs, rules):
    outputs["journey"].loc[1, "journey_id"] = "J-0001"
    err = _fails(outputs, rules, "expect_column_values_to_be_unique(journey_id)")
    assert {r["suite"] for r in err.results} == {f"published_{t}" for t in outputs}
    assert "published_journey: expect_column_values_to_be_unique(journey_id)" in str(err)


def test_event_of_an_unknown_journey_fails(outputs, rules):
    outputs["journey_event"].loc[0, "journey_id"] = "J-9999"
    err = _fails(_journeys(outputs), rules, "expect_column_values_to_be_in_set(journey_id_in_journey)")
    assert "J-9999" not in str(err)


def test_negative_end_to_end_time_fails(outputs, rules):
    outputs["journey"].loc[0, "e2e_hours"] = -1.0
    _fails(_journeys(outputs), rules, "expect_column_values_to_be_between(e2e_hours)")


@pytest.mark.parametrize("table, column, value", [
    ("journey", "status", "closed"), ("journey_event", "demand_type", "chase"),
    ("journey_event", "failure_type", "chased"),
])
def test_vocabularies_are_enforced(outputs, rules, table, column, value):
    outputs[table].loc[1, column] = value
    _fails(_journeys(outputs), rules, f"expect_column_values_to_be_in_set({column})")


@pytest.mark.parametrize("count, ok", [(0, True), (1, False), (4, False), (5, True), (None, True)])
def test_small_numbers_must_be_suppressed(outputs, rules, count, ok):
    wip = {"measure_wip": outputs["measure_wip"].assign(open_journeys=pd.array([count, 0], dtype="Int64"))}
    if ok:
        validate_outputs(wip, rules, 5, "run-1")
    else:
        _fails(wip, rules, "expect_column_values_to_not_be_in_set(open_journeys)")


def test_the_threshold_comes_from_the_caller(outputs, rules):
    wip = {"measure_wip": outputs["measure_wip"].assign(open_journeys=pd.array([3, 0], dtype="Int64"))}
    validate_outputs(wip, rules, 3, "run-1")
    _fails(wip, rules, "expect_column_values_to_not_be_in_set(open_journeys)", threshold=4)


@pytest.mark.parametrize("value", ["alex@example.org", "07700 900123", "LS6 1AA"])
def test_personal_data_in_a_published_text_column_fails_without_echoing_it(outputs, rules, value):
    outputs["journey_event"].loc[2, "team"] = f"Gang ({value})"
    err = _fails(_journeys(outputs), rules, "expect_column_values_to_not_match_regex_list(team)")
    assert value not in str(err) and all(value not in (r["details"] or "") for r in err.results)


def test_a_warning_is_recorded_but_does_not_stop_publishing(outputs, rules):
    outputs["journey_event"].loc[0, "event_type"] = "telepathy"
    rows = validate_outputs(_journeys(outputs), rules, 5, "run-1")
    bad = [r for r in rows if not r["success"]]
    assert [(r["expectation"], r["critical"]) for r in bad] == [("expect_column_values_to_be_in_set(event_type)", False)]


def test_cross_table_check_needs_the_referenced_frame(outputs, rules):
    with pytest.raises(ValueError, match="needs the 'journey' frame"):
        validate_outputs({"journey_event": outputs["journey_event"]}, rules, 5, "run-1")


def test_extra_columns_before_publishing_are_allowed(outputs, rules):
    outputs["journey"]["person_id"] = "P-1"  # dropped by write_frame, never published
    validate_outputs({"journey": outputs["journey"]}, rules, 5, "run-1")


# --------------------------------------------------------------------------- an incremental night's changes

def _after(outputs, **changes):
    """Each table's ``AfterSwap`` when nothing is wrong with it, with ``changes`` by table."""
    clean = {name: AfterSwap(rows=len(frame), duplicate_key_rows=0,
                             broken_references={col: 0 for (t, col) in REFERENCES if t == name})
             for name, frame in outputs.items()}
    return {**clean, **changes}


def test_every_published_expectation_has_an_incremental_scope(rules):
    for name in BUILD_OUTPUTS:
        suite = load_suite(published_suite_name(name), rules.expectations_dir)
        scopes = {expectation_id(e.configuration): incremental_scope(name, e.configuration)
                  for e in suite.expectations}
        table_level = {e for e, scope in scopes.items() if scope == AFTER_SWAP}
        assert any(e.startswith(("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"))
                   for e in table_level), name
        assert all("_in_" in e or "unique" in e for e in table_level), name


def test_an_expectation_without_a_scope_is_an_error_never_skipped():
    config = {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "e2e_days"}}
    with pytest.raises(ValueError, match="has no incremental scope"):
        incremental_scope("journey", config)


def test_a_delta_is_checked_like_the_whole_tables(outputs, rules):
    whole = validate_outputs(outputs, rules, 5, "run-1")
    rows = validate_delta(outputs, _after(outputs), rules, 5, "run-1")
    assert [(r["suite"], r["expectation"], r["success"]) for r in rows] == \
        [(r["suite"], r["expectation"], r["success"]) for r in whole]


def test_table_level_counts_come_from_the_table_after_the_swap(outputs, rules):
    inserted = {name: frame.iloc[:1] for name, frame in _journeys(outputs).items()}
    after = _after(outputs, journey=AfterSwap(rows=40, duplicate_key_rows=2),
                   journey_event=AfterSwap(rows=90, duplicate_key_rows=0, broken_references={"journey_id": 3}))
    with pytest.raises(ValidationFailed) as err:
        validate_delta(inserted, after, rules, 5, "run-1")
    failed = {(r["suite"], r["expectation"]): r for r in err.value.results if not r["success"]}
    assert set(failed) == {("published_journey", "expect_column_values_to_be_unique(journey_id)"),
                           ("published_journey_event", "expect_column_values_to_be_in_set(journey_id_in_journey)")}
    unique = failed[("published_journey", "expect_column_values_to_be_unique(journey_id)")]
    assert (unique["unexpected_count"], unique["critical"]) == (2, True)
    assert unique["details"] == "2 of 40 rows failed: journey_id is not unique [on the table after the swap]"
    status = next(r for r in err.value.results if r["expectation"] == "expect_column_values_to_not_be_null(status)")
    assert status["details"] == "checked 1 rows [on the rows this night inserts]"


def test_a_row_level_failure_in_a_delta_stops_it(outputs, rules):
    inserted = _journeys(outputs)
    inserted["journey"].loc[0, "status"] = "closed"
    with pytest.raises(ValidationFailed, match="published tables \\(incremental\\)") as err:
        validate_delta(inserted, _after(outputs), rules, 5, "run-1")
    assert _failed(err.value.results) == {"expect_column_values_to_be_in_set(status)"}


def test_an_empty_delta_passes(outputs, rules):
    inserted = {name: frame.iloc[:0] for name, frame in outputs.items()}
    rows = validate_delta(inserted, _after(outputs), rules, 5, "run-1")
    assert rows and all(r["success"] for r in rows)


def test_a_delta_needs_the_reference_counts(outputs, rules):
    after = _after(outputs, journey_event=AfterSwap(rows=18, duplicate_key_rows=0))
    with pytest.raises(ValueError, match="pass suites.REFERENCES to publish_delta"):
        validate_delta(_journeys(outputs), after, rules, 5, "run-1")
