"""The staging rules of extracts.md, one small frame per rule."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.sources import SOURCES
from pipeline.transforms.staging import (MAX_FIELD_CHARS, QUARANTINE_COLUMNS, latest_wins, merge_staged,
                                         stage_records, staged_columns)

QUEUES = {"Highways": "Highways", "General": "General Enquiries"}

GOOD = {
    "crm_cases": dict(case_id="C1", service="Highways", category="Pothole", channel="phone",
                      opened_at="2026-11-20 09:00:00", status="open", team="Highways",
                      updated_at="2026-11-20 09:00:00"),
    "crm_case_events": dict(case_id="C1", event_at="2026-11-20 09:00:00", event_type="created",
                            team="Contact Centre", status="open"),
    "call_logs": dict(call_id="L1", started_at="2026-11-20 09:00:00", answered_at="2026-11-20 09:01:00",
                      ended_at="2026-11-20 09:05:00", queue="Highways", wrap_code="new_request"),
    "works_orders": dict(work_order_id="W1", job_type="Pothole repair", priority="P2",
                         raised_at="2026-11-20 09:00:00", status="raised", team="Gang 3",
                         updated_at="2026-11-20 09:00:00"),
}


def raw(source: str, *rows: dict, file: str = "f.csv") -> pd.DataFrame:
    """Rows of canonical text: a valid record of the source, overridden per row."""
    records = [{**{c: None for c in SOURCES[source].column_names}, **GOOD[source], **r} for r in rows]
    frame = pd.DataFrame(records, columns=SOURCES[source].column_names).astype(object)
    frame["source_file"] = file
    frame["source_line"] = range(1, len(records) + 1)
    return frame


def stage(source: str, *rows: dict, **kw):
    return stage_records(raw(source, *rows), source, queue_service=QUEUES, **kw)


def reasons(result) -> list[tuple[int, str, str]]:
    q = result.quarantine
    return list(zip(q["line"], q["column"], q["reason"]))


class TestShapes:
    @pytest.mark.parametrize("source", list(SOURCES))
    def test_a_valid_row_is_staged_with_the_declared_columns(self, source):
        result = stage(source, {})
        assert list(result.staged.columns) == staged_columns(source)
        assert len(result.staged) == 1 and result.quarantine.empty
        assert list(result.quarantine.columns) == QUARANTINE_COLUMNS
        for col in SOURCES[source].timestamp_columns:
            assert str(result.staged[col].dtype) == "datetime64[ns]"
        for col in [c.name for c in SOURCES[source].columns if c.type == "text"] + ["source_file", "time_flags"]:
            assert result.staged[col].dtype == object, col

    def test_text_is_stripped_and_blank_is_none(self):
        result = stage("crm_cases", {"forename": "  Ann ", "surname": "   ", "case_id": " C1 "})
        row = result.staged.iloc[0]
        assert row["forename"] == "Ann" and row["surname"] is None and row["case_id"] == "C1"

    def test_contact_fields_are_normalised(self):
        row = stage("crm_cases", {"phone": "07700 900123", "email": " A@B.ORG", "postcode": "ls61aa",
                                  "location_postcode": "ls62bb"}).staged.iloc[0]
        assert (row["phone"], row["email"], row["postcode"], row["location_postcode"]) == \
            ("+447700900123", "a@b.org", "LS6 1AA", "LS6 2BB")

    def test_caller_number_withheld_is_none(self):
        assert stage("call_logs", {"caller_number": "withheld"}).staged.iloc[0]["caller_number"] is None

    def test_times_are_utc(self):
        row = stage("crm_cases", {"opened_at": "2026-07-01 10:00:00", "updated_at": "2026-07-01 10:00:00"}
                    ).staged.iloc[0]
        assert row["opened_at"] == pd.Timestamp("2026-07-01 09:00")

    def test_date_of_birth_is_a_date_not_shifted(self):
        row = stage("crm_cases", {"date_of_birth": "1980-07-01"}).staged.iloc[0]
        assert row["date_of_birth"] == pd.Timestamp("1980-07-01")

    def test_value_maps_apply_before_the_allowed_check(self):
        result = stage("crm_cases", {"channel": "TEL"}, value_maps={"channel": {"TEL": "phone"}})
        assert result.staged.iloc[0]["channel"] == "phone"

    def test_queue_gives_the_service(self):
        assert stage("call_logs", {"queue": "General"}).staged.iloc[0]["service"] == "General Enquiries"

    def test_empty_input(self):
        result = stage_records(raw("call_logs").iloc[:0], "call_logs", queue_service=QUEUES)
        assert result.staged.empty and result.quarantine.empty
        assert list(result.staged.columns) == staged_columns("call_logs")


class TestRejectRules:
    @pytest.mark.parametrize("column", ["case_id", "service", "category", "opened_at"])
    def test_missing_reject_column(self, column):
        result = stage("crm_cases", {column: "  "})
        assert reasons(result) == [(1, column, f"missing {column} (reject rule)")]
        assert result.staged.empty

    @pytest.mark.parametrize("column", ["channel", "status", "team", "updated_at"])
    def test_missing_required_column_breaks_the_contract(self, column):
        assert reasons(stage("crm_cases", {column: None})) == \
            [(1, column, f"missing {column} (required by the contract)")]

    @pytest.mark.parametrize("source, column", [("call_logs", "call_id"), ("call_logs", "started_at"),
                                                ("works_orders", "work_order_id"), ("works_orders", "raised_at"),
                                                ("crm_case_events", "event_at")])
    def test_missing_reject_in_other_sources(self, source, column):
        assert reasons(stage(source, {column: ""}))[0][1:] == (column, f"missing {column} (reject rule)")

    def test_unparsable_timestamps(self):
        result = stage("crm_cases", {"opened_at": "yesterday"}, {"closed_at": "31/02/2026"})
        assert [(r[0], r[1]) for r in reasons(result)] == [(1, "opened_at"), (2, "closed_at")]
        assert all("unparsable timestamp" in r[2] for r in reasons(result))

    def test_unparsable_date(self):
        assert "unparsable date" in reasons(stage("crm_cases", {"date_of_birth": "1980-02-30"}))[0][2]

    @pytest.mark.parametrize("source, earlier, later", [
        ("crm_cases", "opened_at", "closed_at"),
        ("call_logs", "started_at", "ended_at"),
        ("works_orders", "raised_at", "completed_at"),
    ])
    def test_end_before_start(self, source, earlier, later):
        result = stage(source, {earlier: "2026-11-20 10:00:00", later: "2026-11-20 09:59:59"},
                       {earlier: "2026-11-20 10:00:00", later: "2026-11-20 10:00:00"})
        assert reasons(result) == [(1, later, f"{later} before {earlier}")]
        assert len(result.staged) == 1

    @pytest.mark.parametrize("column, value", [("channel", "pigeon"), ("status", "Open"),
                                               ("closure_reason", "fixed")])
    def test_value_outside_the_allowed_set(self, column, value):
        (line, col, reason), = reasons(stage("crm_cases", {column: value}))
        assert col == column and reason.startswith(f"{column} not in allowed set")

    @pytest.mark.parametrize("source, column", [("crm_case_events", "event_type"), ("works_orders", "priority"),
                                                ("works_orders", "outcome"), ("works_orders", "status")])
    def test_allowed_sets_in_other_sources(self, source, column):
        assert reasons(stage(source, {column: "???"}))[0][1] == column

    def test_unknown_wrap_code_is_kept_for_the_journeys_stage(self):
        result = stage("call_logs", {"wrap_code": "went_to_lunch"})
        assert result.quarantine.empty and result.staged.iloc[0]["wrap_code"] == "went_to_lunch"

    def test_unknown_queue(self):
        assert reasons(stage("call_logs", {"queue": "Parking"})) == [(1, "queue", "unknown queue")]

    def test_field_over_the_limit_is_quarantined_and_value_truncated(self):
        result = stage("crm_cases", {"address_line1": "x" * (MAX_FIELD_CHARS + 1)},
                       {"address_line1": "y" * MAX_FIELD_CHARS})
        q = result.quarantine
        assert list(q["line"]) == [1] and "over 10000 characters" in q["reason"].iloc[0]
        assert len(q["value"].iloc[0]) == 200
        assert len(result.staged) == 1

    def test_every_reason_of_a_row_is_listed_once(self):
        result = stage("crm_cases", {"case_id": None, "channel": "fax", "opened_at": "bad"})
        assert sorted(r[1] for r in reasons(result)) == ["case_id", "channel", "opened_at"]

    def test_bad_rows_never_stop_good_rows(self):
        result = stage("crm_cases", {"case_id": "C1"}, {"case_id": None}, {"case_id": "C3"})
        assert list(result.staged["case_id"]) == ["C1", "C3"]
        assert list(result.staged["source_line"]) == [1, 3]

    def test_quarantine_value_is_what_the_council_sent(self):
        result = stage("crm_cases", {"channel": " FAX "}, value_maps={"channel": {"TEL": "phone"}})
        assert result.quarantine["value"].iloc[0] == "FAX"

    def test_sql_injection_looking_text_is_just_text(self):
        evil = "Robert'); DROP TABLE staging.crm_cases;--"
        assert stage("crm_cases", {"surname": evil}).staged.iloc[0]["surname"] == evil


class TestDaylightSaving:
    def test_spring_gap_is_shifted_and_flagged(self):
        row = stage("crm_cases", {"opened_at": "2026-03-29 01:30:00", "updated_at": "2026-03-29 03:00:00"}
                    ).staged.iloc[0]
        assert row["opened_at"] == pd.Timestamp("2026-03-29 01:30")
        assert row["time_flags"] == "opened_at:spring_gap_shifted"

    def test_overlap_settled_by_the_row_is_not_flagged(self):
        row = stage("crm_cases", {"opened_at": "2026-10-25 01:40:00", "closed_at": "2026-10-25 01:10:00",
                                  "status": "closed", "updated_at": "2026-10-25 02:30:00"}).staged.iloc[0]
        assert row["opened_at"] == pd.Timestamp("2026-10-25 00:40")
        assert row["closed_at"] == pd.Timestamp("2026-10-25 01:10")
        assert row["time_flags"] is None

    def test_overlap_not_settled_takes_first_and_is_flagged(self):
        row = stage("crm_cases", {"opened_at": "2026-10-25 01:30:00", "updated_at": "2026-10-25 04:00:00"}
                    ).staged.iloc[0]
        assert row["opened_at"] == pd.Timestamp("2026-10-25 00:30")
        assert row["time_flags"] == "opened_at:ambiguous_first"

    def test_overlap_settled_by_a_later_version(self):
        # version 1 updated 01:50 (first reading 00:50Z), version 2 (later file) 01:10:
        # it cannot precede version 1, so it is 01:10Z, and it wins.
        frame = pd.concat([
            raw("crm_cases", {"updated_at": "2026-10-25 01:50:00", "opened_at": "2026-10-24 09:00:00"}, file="a.csv"),
            raw("crm_cases", {"updated_at": "2026-10-25 01:10:00", "opened_at": "2026-10-24 09:00:00",
                              "status": "closed", "closed_at": "2026-10-25 01:10:00"}, file="b.csv"),
        ], ignore_index=True)
        result = stage_records(frame, "crm_cases", queue_service=QUEUES)
        row = result.staged.iloc[0]
        assert row["status"] == "closed" and row["updated_at"] == pd.Timestamp("2026-10-25 01:10")
        assert result.superseded == 1

    def test_negative_duration_across_the_overlap_is_rejected(self):
        # started 02:10 (after the clocks went back: 02:10Z); ended 01:20 is 00:20Z or
        # 01:20Z, both before the start: rejected, not silently moved.
        result = stage("call_logs", {"started_at": "2026-10-25 02:10:00", "answered_at": None,
                                     "ended_at": "2026-10-25 01:20:00"})
        assert reasons(result) == [(1, "ended_at", "ended_at before started_at")]


class TestLatestWins:
    def test_by_version_then_extract_order(self):
        frame = pd.concat([
            raw("crm_cases", {"status": "closed", "updated_at": "2026-11-21 09:00:00"},
                {"status": "open", "updated_at": "2026-11-20 09:00:00"}, file="crm_cases/a.csv"),
            raw("crm_cases", {"status": "cancelled", "updated_at": "2026-11-21 09:00:00"}, file="crm_cases/b.csv"),
        ], ignore_index=True)
        result = stage_records(frame, "crm_cases", queue_service=QUEUES)
        assert list(result.staged["status"]) == ["cancelled"] and result.superseded == 2

    def test_without_version_column_later_file_wins(self):
        frame = pd.concat([raw("call_logs", {"wrap_code": "complaint"}, file="call_logs/b.csv"),
                           raw("call_logs", {"wrap_code": "new_request"}, file="call_logs/a.csv")],
                          ignore_index=True)
        assert stage_records(frame, "call_logs", queue_service=QUEUES).staged.iloc[0]["wrap_code"] == "complaint"

    def test_identical_history_rows_are_one_event(self):
        result = stage("crm_case_events", {"team": None}, {"team": None}, {"team": "Waste"})
        assert len(result.staged) == 2

    def test_quarantined_latest_version_leaves_the_earlier_one(self):
        result = stage("crm_cases", {"status": "open"},
                       {"status": "bogus", "updated_at": "2026-11-22 09:00:00"})
        assert list(result.staged["status"]) == ["open"] and len(result.quarantine) == 1

    def test_latest_wins_without_repeats_keeps_extract_order(self):
        staged = stage("call_logs", {"call_id": "L2"}, {"call_id": "L1"}).staged
        winners, lost = latest_wins(staged.iloc[::-1], "call_logs")
        assert list(winners["call_id"]) == ["L2", "L1"] and lost == 0


def test_merge_staged_replaces_a_corrected_file_and_keeps_the_rest():
    before = pd.concat([raw("call_logs", {"call_id": "L1", "wrap_code": "complaint"}, file="call_logs/a.csv"),
                        raw("call_logs", {"call_id": "L9"}, file="call_logs/b.csv")], ignore_index=True)
    previous = stage_records(before, "call_logs", queue_service=QUEUES).staged
    corrected = stage_records(raw("call_logs", {"call_id": "L2"}, file="call_logs/a.csv"), "call_logs",
                              queue_service=QUEUES).staged
    merged = merge_staged(previous, corrected, "call_logs", replaced_files=["call_logs/a.csv"])
    assert sorted(merged["call_id"]) == ["L2", "L9"]


def test_merge_staged_latest_version_wins_across_nights():
    old = stage("crm_cases", {"status": "open"}).staged
    new = stage_records(raw("crm_cases", {"status": "closed", "updated_at": "2026-11-25 10:00:00"},
                            file="z.csv"), "crm_cases", queue_service=QUEUES).staged
    merged = merge_staged(old, new, "crm_cases")
    assert list(merged["status"]) == ["closed"]


def test_merge_staged_accepts_dates_as_read_back_from_a_warehouse():
    import datetime as dt

    old = stage("crm_cases", {"date_of_birth": "1980-01-02"}).staged
    old["date_of_birth"] = [dt.date(1980, 1, 2)]
    new = stage_records(raw("crm_cases", {"case_id": "C2"}, file="z.csv"), "crm_cases", queue_service=QUEUES).staged
    merged = merge_staged(old, new, "crm_cases")
    assert str(merged["date_of_birth"].dtype) == "datetime64[ns]"
    assert merged["date_of_birth"].iloc[0] == pd.Timestamp("1980-01-02")
