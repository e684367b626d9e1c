"""Fixtures for the validation tests: the committed suites and small published frames."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import ValidationRules, load_config
from testkit import sample_outputs


@pytest.fixture()
def outputs() -> dict[str, pd.DataFrame]:
    """Valid frames for every build output (tests/data/publish/sample/)."""
    return sample_outputs()


@pytest.fixture(scope="session")
def rules() -> ValidationRules:
    return load_config(environ={}).validation



# One valid staged row per source; tests override the fields their rule is about.
_VALID = {
    "crm_cases": dict(case_id="C1", service="Highways", category="Pothole", channel="web",
                      opened_at=pd.Timestamp("2026-11-20 09:00"), closed_at=pd.Timestamp("2026-11-21 09:00"),
                      status="closed", closure_reason="resolved", team="Highways Hub",
                      updated_at=pd.Timestamp("2026-11-21 09:00")),
    "crm_case_events": dict(case_id="C1", event_at=pd.Timestamp("2026-11-20 09:00"), event_type="created",
                            team="Highways Hub", status="open"),
    "call_logs": dict(call_id="K1", started_at=pd.Timestamp("2026-11-20 09:00"),
                      answered_at=pd.Timestamp("2026-11-20 09:01"), ended_at=pd.Timestamp("2026-11-20 09:05"),
                      queue="Highways", service="Highways", wrap_code="new_request"),
    "works_orders": dict(work_order_id="W1", job_type="Pothole repair", priority="P2",
                         raised_at=pd.Timestamp("2026-11-20 09:00"), status="raised", team="Gang 4",
                         updated_at=pd.Timestamp("2026-11-20 09:00")),
}


def make_staged(source: str, *overrides: dict) -> pd.DataFrame:
    """A staged frame of ``source``: one valid row per override dict, with lineage."""
    from pipeline.sources import LINEAGE_COLUMNS, SOURCES

    src = SOURCES[source]
    columns = [*src.column_names, *(["service"] if source == "call_logs" else []), *LINEAGE_COLUMNS]
    rows = []
    for i, override in enumerate(overrides, start=1):
        row = {c: None for c in columns}
        row.update(_VALID[source], source_file=f"{source}/2026-11-26.csv", source_line=i)
        if len(src.key) == 1:  # distinct records unless a test says otherwise
            row[src.key[0]] = f"{row[src.key[0]][0]}{i}"
        row.update(override)
        rows.append(row)
    df = pd.DataFrame(rows, columns=columns)
    for col in src.timestamp_columns:
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    return df


@pytest.fixture()
def staged():
    return make_staged
