"""Choosing the format, and what export_log refuses to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.export import export_log, ocel_format_for
from pipeline.report import NothingPublishedError
from tests.report.conftest import add_restricted_canary, build_fixture_warehouse, fixture_frames


@pytest.mark.parametrize(("name", "fmt"), [("log.json", "ocel2-json"), ("LOG.JSON", "ocel2-json"),
                                           ("log.sqlite", "ocel2-sqlite"), ("x/log.db", "ocel2-sqlite")])
def test_ocel_format_from_suffix(name, fmt):
    assert ocel_format_for(Path(name)) == fmt


def test_unknown_suffix_names_the_file():
    with pytest.raises(ValueError, match=r"log\.xml: cannot tell the OCEL 2\.0 format from the suffix '\.xml'"):
        ocel_format_for(Path("log.xml"))


def test_unknown_format(published_url, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'csv'"):
        export_log(published_url, "csv", tmp_path / "x.csv")


def test_nothing_published(duckdb_url, tmp_path):
    with pytest.raises(NothingPublishedError):
        export_log(duckdb_url, "xes", tmp_path / "log.xes")
    assert not (tmp_path / "log.xes").exists()


def test_exports_read_nothing_restricted(duckdb_url, tmp_path):
    build_fixture_warehouse(duckdb_url)
    canary = add_restricted_canary(duckdb_url)
    for fmt, name in (("xes", "a.xes"), ("ocel2-json", "a.json"), ("ocel2-sqlite", "a.sqlite")):
        data = export_log(duckdb_url, fmt, tmp_path / "out" / name).read_bytes()
        assert canary.split()[1].encode() not in data, fmt


def test_a_publication_without_journeys_exports_empty_logs(duckdb_url, tmp_path):
    frames = {name: (f if name == "pipeline_run" else f.iloc[0:0]) for name, f in fixture_frames().items()}
    build_fixture_warehouse(duckdb_url, frames)
    xes = export_log(duckdb_url, "xes", tmp_path / "log.xes").read_text(encoding="utf-8")
    assert "<trace>" not in xes and xes.rstrip().endswith("</log>")
    doc = json.loads(export_log(duckdb_url, "ocel2-json", tmp_path / "log.json").read_text(encoding="utf-8"))
    assert doc["events"] == [] and doc["objects"] == []
    assert export_log(duckdb_url, "ocel2-sqlite", tmp_path / "log.sqlite").exists()


@pytest.mark.postgres
def test_export_from_postgres(pg_url, tmp_path):
    build_fixture_warehouse(pg_url)
    assert export_log(pg_url, "ocel2-sqlite", tmp_path / "log.sqlite").stat().st_size > 0
