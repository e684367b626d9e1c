"""Readers: bytes of any allowed shape -> rows of text, or an error naming file and line."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import ExtractError
from pipeline.ingest.readers import _airflow_conn_to_url, read_csv_bytes, read_parquet_file

F = "crm_cases/x.csv"


def test_utf8_csv_every_value_is_text():
    raw = read_csv_bytes(b"a,b\n001,2026-01-01\n,\n", F)
    assert raw.frame.to_dict("list") == {"a": ["001", ""], "b": ["2026-01-01", ""]}
    assert list(raw.lines) == [1, 2] and raw.bad_rows == []


def test_header_names_are_stripped():
    assert list(read_csv_bytes(b" a , b\n1,2\n", F).frame.columns) == ["a", "b"]


def test_utf8_bom_is_detected_whatever_the_mapping_says():
    data = "\ufeffcase_id,name\nC1,Zoë\n".encode("utf-8")
    for encoding in ("utf-8", "cp1252"):
        raw = read_csv_bytes(data, F, encoding=encoding)
        assert list(raw.frame.columns) == ["case_id", "name"] and raw.frame["name"][0] == "Zoë"


def test_cp1252_and_semicolons():
    raw = read_csv_bytes("id;name\r\n1;Siân “Sia” O’Neill\r\n".encode("cp1252"), F, encoding="cp1252", delimiter=";")
    assert raw.frame["name"][0] == "Siân “Sia” O’Neill"


def test_undecodable_bytes_name_the_line():
    with pytest.raises(ExtractError) as err:
        read_csv_bytes(b"a,b\n1,2\n3,\xff\xfe\n", F)
    assert err.value.file == F and err.value.line == 2 and "not valid utf-8" in str(err.value)


def test_bytes_undefined_in_cp1252_are_an_error():
    with pytest.raises(ExtractError, match="cp1252"):
        read_csv_bytes(b"a\n\x81\n", F, encoding="cp1252")


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf", b"   \r\n"])
def test_empty_file_is_an_error(data):
    with pytest.raises(ExtractError, match="empty file"):
        read_csv_bytes(data, F)


def test_blank_lines_before_the_header_are_skipped():
    raw = read_csv_bytes(b"\r\n\na,b\n1,2\n", F)
    assert raw.frame.to_dict("list") == {"a": ["1"], "b": ["2"]} and list(raw.lines) == [1]


def test_header_only_is_zero_rows():
    raw = read_csv_bytes(b"a,b\n", F)
    assert len(raw.frame) == 0 and list(raw.frame.columns) == ["a", "b"]


def test_duplicate_header_is_an_error():
    with pytest.raises(ExtractError) as err:
        read_csv_bytes(b"a,b,a\n1,2,3\n", F)
    assert err.value.column == "a"


def test_quoted_newlines_and_quotes_stay_in_the_value():
    raw = read_csv_bytes(b'a,b\n"line 1\nline 2","say ""hi"""\n3,4\n', F)
    assert raw.frame["a"][0] == "line 1\nline 2" and raw.frame["b"][0] == 'say "hi"'
    assert list(raw.lines) == [1, 2]


def test_rows_with_the_wrong_number_of_fields_are_set_aside_with_their_line():
    raw = read_csv_bytes(b"a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n", F)
    assert raw.frame["a"].tolist() == ["1", "6", "9"]
    assert list(raw.lines) == [1, 3, 5]
    assert [(line, reason) for line, _, reason in raw.bad_rows] == [
        (2, "wrong number of fields (expected 2, got 3)"), (4, "wrong number of fields (expected 2, got 1)")]


def test_a_row_longer_than_a_parser_block_is_read():
    data = b"a,b\n1," + b"x" * (17 << 20) + b"\n2,3\n"
    raw = read_csv_bytes(data, F)
    assert len(raw.frame["b"][0]) == 17 << 20 and raw.frame["a"].tolist() == ["1", "2"]


def test_parquet_typed_columns_become_text(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({
        "call_id": ["L1", None],
        "started_at": pa.array([dt.datetime(2026, 11, 20, 9, 0, 5), None], pa.timestamp("us")),
        "legs": pa.array([1, None], pa.int64()),
        "day": pa.array([dt.date(2026, 11, 20), None], pa.date32()),
    }), path)
    raw = read_parquet_file(path, "call_logs/x.parquet")
    assert raw.frame.iloc[0].tolist() == ["L1", "2026-11-20 09:00:05.000000", "1", "2026-11-20"]
    assert raw.frame.iloc[1].isna().all() and list(raw.lines) == [1, 2]


def test_unreadable_parquet_is_an_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ExtractError, match="unreadable Parquet") as err:
        read_parquet_file(path, "call_logs/x.parquet")
    assert err.value.file == "call_logs/x.parquet"


def test_parquet_with_zoned_timestamps_names_the_column(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"started_at": pa.array([dt.datetime(2026, 1, 1)], pa.timestamp("us", tz="UTC"))}), path)
    with pytest.raises(ExtractError, match="naive local time") as err:
        read_parquet_file(path, "call_logs/x.parquet")
    assert err.value.column == "started_at"


@pytest.mark.parametrize("conn, url", [
    ("postgres://u:p%40ss@db.example:5432/crm", "postgresql+psycopg://u:p%40ss@db.example:5432/crm"),
    ("postgresql://u@db/crm?__extra__=%7B%7D&sslmode=require", "postgresql+psycopg://u@db/crm?sslmode=require"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    (json.dumps({"conn_type": "postgres", "login": "u", "password": "p@ss", "host": "db", "port": 5432,
                 "schema": "crm"}), "postgresql+psycopg://u:p%40ss@db:5432/crm"),
])
def test_airflow_connections_become_sqlalchemy_urls(conn, url):
    assert _airflow_conn_to_url(conn) == url
