"""Fixtures for the warehouse tests: two versions of the build outputs and run rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "publish" / "sample"


def typed_csv(path: Path, table: sa.Table) -> pd.DataFrame:
    """A tiny CSV fixture typed as its declared table (empty cell = NULL)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for col in table.columns:
        s = df[col.name]
        if isinstance(col.type, sa.Boolean):
            df[col.name] = s.map({"true": True, "false": False}).astype("boolean")
        elif isinstance(col.type, sa.Integer):
            df[col.name] = pd.to_numeric(s).astype("Int64")
        elif isinstance(col.type, sa.Float):
            df[col.name] = pd.to_numeric(s).astype("float64")
        elif isinstance(col.type, sa.DateTime):
            df[col.name] = pd.to_datetime(s).astype("datetime64[ns]")
        elif isinstance(col.type, sa.Date):
            df[col.name] = pd.to_datetime(s).dt.date
        else:
            df[col.name] = s.astype(object).where(s.notna(), None)
    return df


def sample_outputs() -> dict[str, pd.DataFrame]:
    """Version 1: valid frames for every build output (tests/data/publish/sample/)."""
    return {name: typed_csv(SAMPLE_DIR / f"{name}.csv", PUBLISHED_TABLES[name]) for name in BUILD_OUTPUTS}


def next_outputs() -> dict[str, pd.DataFrame]:
    """Version 2: the next night -- one journey met, one gone, fewer capability points."""
    out = sample_outputs()
    journey = out["journey"]
    journey.loc[journey["journey_id"] == "J-0003", ["status", "ended_at", "e2e_hours", "e2e_days"]] = [
        "met", pd.Timestamp("2026-11-20 09:00"), 168.0, 7.0]
    out["journey"] = journey[journey["journey_id"] != "J-0006"].reset_index(drop=True)
    out["journey_event"] = out["journey_event"][out["journey_event"]["journey_id"] != "J-0006"].reset_index(drop=True)
    out["measure_capability_point"] = out["measure_capability_point"].iloc[:2]
    return out


def _run_row(run_id: str, **extra) -> dict:
    return {"run_id": run_id, "as_of": pd.Timestamp("2026-11-26 23:59:59.999999"),
            "started_at": pd.Timestamp("2026-11-27 02:30"), "status": "succeeded", "mode": "full", **extra}


@pytest.fixture()
def run_row():
    """``run_row(run_id, **columns)``: a pipeline_run row."""
    return _run_row


@pytest.fixture()
def outputs() -> dict[str, pd.DataFrame]:
    return sample_outputs()


@pytest.fixture()
def outputs_v2() -> dict[str, pd.DataFrame]:
    return next_outputs()
