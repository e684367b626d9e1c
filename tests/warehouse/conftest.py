"""Fixtures for the warehouse tests: two versions of the build outputs and run rows."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.warehouse.io import create_engine
from testkit import sample_outputs


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


@pytest.fixture()
def engine(warehouse_url):
    eng = create_engine(warehouse_url)
    yield eng
    eng.dispose()
