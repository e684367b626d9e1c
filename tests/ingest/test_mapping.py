"""Mapping files: validated on load, errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import PACKAGE_DIR, ConfigError, load_config
from pipeline.ingest import load_mapping
from pipeline.sources import SOURCES


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("source", list(SOURCES))
def test_shipped_mappings_load(source):
    canonical = load_mapping(PACKAGE_DIR / "mappings" / "canonical" / f"{source}.yaml")
    example = load_mapping(PACKAGE_DIR / "mappings" / "examples" / "northshire" / f"{source}.yaml")
    assert canonical.source == example.source == source
    assert canonical.renames == {} and canonical.value_maps == {}


def test_config_points_at_the_canonical_mappings():
    config = load_config(environ={})
    for source, path in config.mappings.items():
        assert load_mapping(path).source == source


def test_defaults(tmp_path):
    m = load_mapping(write(tmp_path, {"source": "call_logs"}))
    assert (m.format, m.file_glob, m.encoding, m.delimiter) == ("csv", "*.csv", "utf-8", ",")
    assert m.timestamp_format == "%Y-%m-%d %H:%M:%S" and m.timezone is None
    assert load_mapping(write(tmp_path, {"source": "call_logs", "format": "parquet"})).file_glob == "*.parquet"


def test_numbers_as_codes_are_text(tmp_path):
    m = load_mapping(write(tmp_path, "source: works_orders\nvalue_maps:\n  priority:\n    1: P1\n    2: P2\n"))
    assert m.value_maps["priority"] == {"1": "P1", "2": "P2"}


def test_source_column_names_the_councils_column(tmp_path):
    m = load_mapping(write(tmp_path, {"source": "call_logs", "renames": {"CLI": "caller_number"}}))
    assert m.source_column("caller_number") == "CLI" and m.source_column("queue") == "queue"


@pytest.mark.parametrize("data, key, words", [
    ({"source": "call_logs", "delimeter": ";"}, "delimeter", "Extra inputs"),
    ({"source": "parking"}, "source", "crm_cases"),
    ({"source": "call_logs", "renames": {"CLI": "caller_no"}}, "(top level)", "caller_no"),
    ({"source": "call_logs", "renames": {"A": "queue", "B": "queue"}}, "(top level)", "several council columns"),
    ({"source": "crm_cases", "value_maps": {"channel": {"TEL": "telephone"}}}, "(top level)", "telephone"),
    ({"source": "crm_cases", "value_maps": {"colour": {"R": "red"}}}, "(top level)", "colour"),
    ({"source": "crm_cases", "encoding": "latin-9"}, "encoding", "utf-8"),
    ({"source": "crm_cases", "delimiter": ";;"}, "delimiter", "one character"),
    ({"source": "crm_cases", "timestamp_format": "dd/mm/yyyy"}, "timestamp_format", "strptime"),
    ({"source": "crm_cases", "timezone": "Europe/Londn"}, "timezone", "unknown time zone"),
    ({"source": "crm_cases", "format": "sql", "url_env": "X"}, "(top level)", "needs 'query'"),
    ({"source": "crm_cases", "format": "sql", "query": "select 1", "url_env": "X", "conn_id": "y"},
     "(top level)", "exactly one"),
    ({"source": "crm_cases", "format": "sql", "query": "select 1", "url_env": "X", "glob": "*.csv"},
     "(top level)", "'glob'"),
    ({"source": "crm_cases", "query": "select 1"}, "(top level)", "for format 'sql'"),
])
def test_invalid_mappings_name_file_and_key(tmp_path, data, key, words):
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    message = str(err.value)
    assert str(path) in message and f"{key}:" in message and words in message


def test_unquoted_yes_is_refused(tmp_path):
    path = write(tmp_path, "source: crm_cases\nvalue_maps:\n  status:\n    yes: open\n")
    with pytest.raises(ConfigError, match="quote codes"):
        load_mapping(path)


@pytest.mark.parametrize("text, words", [("source: [", "not valid YAML"), ("- a\n- b\n", "top level")])
def test_unreadable_files(tmp_path, text, words):
    with pytest.raises(ConfigError, match=words):
        load_mapping(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_mapping(tmp_path / "nope.yaml")
