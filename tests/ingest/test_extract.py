"""ingest_source: deliveries, mapping, counts, and the frames the warehouse accepts."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import PACKAGE_DIR, ConfigError
from pipeline.errors import ExtractError
from pipeline.ingest import ingest_source, load_mapping
from pipeline.sources import SOURCES
from pipeline.transforms.staging import merge_staged, staged_columns
from pipeline.warehouse import io as wio
from pipeline.warehouse import tables


@pytest.mark.parametrize("source", list(SOURCES))
def test_same_records_in_both_shapes_stage_identically(source, data_dir, queues, mapping):
    """The Northshire example (own names and codes, dd/mm/yyyy, cp1252 and ';' for
    crm_cases) stages exactly like the canonical shape of the same records."""
    shapes = data_dir / "ingest" / "shapes"
    canonical = ingest_source(source, shapes / "canonical", mapping(source), queue_service=queues)
    northshire = ingest_source(source, shapes / "northshire",
                               load_mapping(PACKAGE_DIR / "mappings" / "examples" / "northshire" / f"{source}.yaml"),
                               queue_service=queues)
    assert canonical.quarantine.empty and northshire.quarantine.empty
    assert len(canonical.staged) > 1
    pd.testing.assert_frame_equal(canonical.staged, northshire.staged)
    text = [c.name for c in SOURCES[source].columns if c.type == "text"]
    assert (canonical.staged[text].dtypes == object).all()
    assert not canonical.staged[text].isin([pd.NA]).any().any()


def test_northshire_cases_read_accents_from_cp1252(data_dir, queues):
    result = ingest_source("crm_cases", data_dir / "ingest" / "shapes" / "northshire",
                           load_mapping(PACKAGE_DIR / "mappings" / "examples" / "northshire" / "crm_cases.yaml"),
                           queue_service=queues)
    assert result.staged["forename"].tolist()[:2] == ["Zoë", "Siân"]


def test_inputs_count_rows_per_file(landing, mapping, queues, cases_csv):
    landing("crm_cases", "2026-11-25.csv", cases_csv({"case_id": "C1"}, {"case_id": ""}))
    root = landing("crm_cases", "2026-11-26.csv", cases_csv({"case_id": "C2"}) + "C3,too,few\n")
    result = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
    inputs = result.inputs.set_index("file")
    assert inputs.loc["crm_cases/2026-11-25.csv", ["rows_read", "rows_staged", "rows_quarantined"]].tolist() == [2, 1, 1]
    assert inputs.loc["crm_cases/2026-11-26.csv", ["rows_read", "rows_staged", "rows_quarantined"]].tolist() == [2, 1, 1]
    assert set(inputs["delivery"]) == {"new"} and inputs["sha256"].str.len().eq(64).all()
    assert result.staged["source_file"].tolist() == ["crm_cases/2026-11-25.csv", "crm_cases/2026-11-26.csv"]
    assert sorted(result.quarantine["reason"]) == ["missing case_id (reject rule)",
                                                   "wrong number of fields (expected 23, got 3)"]


def test_later_file_wins_by_name_order_not_listing_order(landing, mapping, queues, cases_csv):
    landing("crm_cases", "b.csv", cases_csv({"status": "closed"}))
    root = landing("crm_cases", "a.csv", cases_csv({"status": "cancelled"}))
    result = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
    assert result.staged["status"].tolist() == ["closed"] and result.report["superseded"] == 1


class TestDeliveries:
    def test_identical_bytes_under_another_name_are_a_duplicate(self, landing, mapping, queues, cases_csv):
        landing("crm_cases", "2026-11-26.csv", cases_csv({}))
        root = landing("crm_cases", "2026-11-26_resend.csv", cases_csv({}))
        result = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
        assert result.inputs["delivery"].tolist() == ["new", "duplicate"]
        assert result.inputs[["rows_read", "rows_staged"]].values.tolist() == [[1, 1], [0, 0]]
        assert result.report["duplicates"] == ["crm_cases/2026-11-26_resend.csv"]

    def test_seen_files_are_duplicates_and_changed_bytes_are_corrections(self, landing, mapping, queues, cases_csv):
        root = landing("crm_cases", "a.csv", cases_csv({"case_id": "C1"}))
        landing("crm_cases", "b.csv", cases_csv({"case_id": "C2"}))
        first = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
        landing("crm_cases", "b.csv", cases_csv({"case_id": "C2", "status": "closed"}))
        landing("crm_cases", "c.csv", cases_csv({"case_id": "C3"}))
        second = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues,
                               seen=first.inputs[["source", "file", "sha256"]])
        assert second.inputs.set_index("file")["delivery"].to_dict() == {
            "crm_cases/a.csv": "duplicate", "crm_cases/b.csv": "corrected", "crm_cases/c.csv": "new"}
        assert second.corrected_files == ["crm_cases/b.csv"]
        assert second.staged["case_id"].tolist() == ["C2", "C3"]
        merged = merge_staged(first.staged, second.staged, "crm_cases", second.corrected_files)
        assert merged.set_index("case_id")["status"].to_dict() == {"C1": "open", "C2": "closed", "C3": "open"}

    def test_seen_rows_of_other_sources_do_not_count(self, landing, mapping, queues, cases_csv):
        root = landing("crm_cases", "a.csv", cases_csv({}))
        first = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
        seen = first.inputs[["source", "file", "sha256"]].assign(source="call_logs")
        again = ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues, seen=seen)
        assert again.inputs["delivery"].tolist() == ["new"]


class TestColumns:
    def test_missing_required_column_names_it(self, landing, mapping, queues, cases_csv):
        header = "case_id,service,category,channel,status,team,updated_at"
        root = landing("crm_cases", "x.csv", cases_csv({}, header=header))
        with pytest.raises(ExtractError) as err:
            ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
        assert err.value.file == "crm_cases/x.csv" and err.value.column == "opened_at"

    def test_missing_required_column_names_the_councils_name_too(self, landing, mapping, queues):
        root = landing("call_logs", "x.csv", "CallID,started_at,ended_at\nL1,2026-01-01 10:00:00,\n")
        with pytest.raises(ExtractError, match="reads it from 'Queue'"):
            ingest_source("call_logs", root, mapping("call_logs", renames={"CallID": "call_id", "Queue": "queue"}),
                          queue_service=queues)

    def test_missing_nullable_columns_are_none_and_reported(self, landing, mapping, queues):
        root = landing("call_logs", "x.csv", "call_id,started_at,ended_at,queue,mood\n"
                                             "L1,2026-01-01 10:00:00,2026-01-01 10:05:00,Waste,calm\n")
        result = ingest_source("call_logs", root, mapping("call_logs"), queue_service=queues)
        assert result.staged.loc[0, "case_ref"] is None and result.staged.loc[0, "service"] == "Waste"
        assert result.report["extra_columns"] == {"call_logs/x.csv": ["mood"]}
        assert "case_ref" in result.report["missing_nullable_columns"]["call_logs/x.csv"]

    def test_renamed_and_canonical_column_both_present_is_an_error(self, landing, mapping, queues):
        root = landing("call_logs", "x.csv", "CLI,caller_number,call_id,started_at,ended_at,queue\n")
        with pytest.raises(ExtractError, match="both 'CLI'"):
            ingest_source("call_logs", root, mapping("call_logs", renames={"CLI": "caller_number"}),
                          queue_service=queues)

    def test_an_unreadable_file_stops_the_source_before_anything_is_returned(self, landing, mapping, queues,
                                                                             cases_csv):
        landing("crm_cases", "a.csv", cases_csv({}))
        root = landing("crm_cases", "b.csv", b"")
        with pytest.raises(ExtractError, match="empty file") as err:
            ingest_source("crm_cases", root, mapping("crm_cases"), queue_service=queues)
        assert err.value.file == "crm_cases/b.csv"


def test_glob_and_mapping_timezone(landing, mapping, queues):
    landing("call_logs", "x.txt", "call_id|started_at|ended_at|queue\nL1|2026-07-01 10:00:00|2026-07-01 10:01:00|Waste\n")
    root = landing("call_logs", "ignored.csv", "not,read\n")
    m = mapping("call_logs", glob="*.txt", delimiter="|", timezone="UTC")
    result = ingest_source("call_logs", root, m, queue_service=queues)
    assert result.inputs["file"].tolist() == ["call_logs/x.txt"]
    assert result.staged.loc[0, "started_at"] == pd.Timestamp("2026-07-01 10:00")


def test_parquet_source(landing, mapping, queues, tmp_path):
    frame = pd.DataFrame({"call_id": ["L1"], "started_at": [pd.Timestamp("2026-07-01 10:00")],
                          "ended_at": [pd.Timestamp("2026-07-01 10:05")], "queue": ["Waste"]})
    (tmp_path / "landing" / "call_logs").mkdir(parents=True)
    frame.to_parquet(tmp_path / "landing" / "call_logs" / "x.parquet")
    result = ingest_source("call_logs", tmp_path / "landing", mapping("call_logs", format="parquet", glob=None),
                           queue_service=queues)
    assert result.staged.loc[0, "started_at"] == pd.Timestamp("2026-07-01 09:00")
    assert result.quarantine.empty


def test_no_deliveries_give_empty_frames(tmp_path, mapping, queues):
    result = ingest_source("works_orders", tmp_path, mapping("works_orders"), queue_service=queues)
    assert result.staged.empty and result.inputs.empty and result.quarantine.empty
    assert list(result.staged.columns) == staged_columns("works_orders")


def test_mapping_of_another_source_is_refused(tmp_path, mapping, queues):
    with pytest.raises(ConfigError, match="cannot be used"):
        ingest_source("call_logs", tmp_path, mapping("crm_cases"), queue_service=queues)


@pytest.mark.parametrize("source", list(SOURCES))
def test_frames_fit_the_warehouse_tables(source, warehouse_url, data_dir, queues, mapping):
    """The staged, quarantine and input frames load into their declared tables."""
    result = ingest_source(source, data_dir / "ingest" / "shapes" / "canonical", mapping(source),
                           queue_service=queues)
    quarantine = pd.DataFrame([{"source": source, "file": "f", "line": 3, "column": "c", "value": "v",
                                "reason": "r", "expectation": None}])
    engine = wio.create_engine(warehouse_url)
    with engine.begin() as conn:
        wio.create_tables(conn, [tables.staging_tables[source], tables.processed_file, tables.quarantine])
        assert wio.write_frame(conn, tables.staging_tables[source], result.staged) == len(result.staged)
        wio.write_frame(conn, tables.quarantine, pd.concat([result.quarantine, quarantine]).assign(run_id="R1"))
        wio.write_frame(conn, tables.processed_file, result.inputs.assign(first_run_id="R1"))
        back = wio.read_frame(conn, tables.staging_tables[source])
    engine.dispose()
    assert len(back) == len(result.staged)
    for col in SOURCES[source].timestamp_columns:
        assert back[col].tolist() == result.staged[col].tolist()


def test_files_dated_after_the_run_date_are_left_for_later(tmp_path):
    """A rerun or backfill for an earlier date sees only what had landed by then."""
    import datetime as dt

    from pipeline.ingest.extract import delivered_by

    assert delivered_by(tmp_path / "2026-11-26.csv", dt.date(2026, 11, 26))
    assert delivered_by(tmp_path / "2026-11-26-redelivered.csv", dt.date(2026, 11, 26))
    assert not delivered_by(tmp_path / "2026-11-27.csv", dt.date(2026, 11, 26))
    assert delivered_by(tmp_path / "extract.csv", dt.date(2026, 11, 26))
    assert delivered_by(tmp_path / "2026-11-27.csv", None)
