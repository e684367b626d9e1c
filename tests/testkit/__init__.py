"""Shared test helpers (importable as ``testkit``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
