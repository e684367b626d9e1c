"""The report tests' fixture publication, exported once per module in each format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.export import export_log
from tests.report.conftest import build_fixture_warehouse, fixture_frames


@pytest.fixture(scope="module")
def published_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("export_warehouse")
    return build_fixture_warehouse(f"duckdb:///{folder / 'warehouse.duckdb'}")


@pytest.fixture(scope="module")
def exported(published_url, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("export")
    return {fmt: export_log(published_url, fmt, out / name)
            for fmt, name in (("xes", "log.xes"), ("ocel2-json", "log.json"), ("ocel2-sqlite", "log.sqlite"))}


@pytest.fixture(scope="module")
def expected_durations() -> pd.Series:
    """Our case durations: last minus first event of each journey."""
    events = fixture_frames()["journey_event"]
    spans = events.groupby("journey_id")["event_at"].agg(["min", "max"])
    return (spans["max"] - spans["min"]).rename("duration")
