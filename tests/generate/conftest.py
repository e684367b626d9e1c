"""A small synthetic council generated once per session, and readers for its files.

The main council ends on 30 September 2026 and starts after the March clock change's
gap, so its local times convert to UTC without ambiguity; the October change has a
test of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.generate import GenerateSummary, generate_council
from pipeline.sources import SOURCES

END = dt.date(2026, 9, 30)


@dataclass
class Council:
    summary: GenerateSummary
    extracts: dict[str, pd.DataFrame]  # every row of every day file, in delivery order
    records: pd.DataFrame
    journeys: pd.DataFrame

    def latest(self, source: str) -> pd.DataFrame:
        """Latest version of each record (by updated_at, then extract order)."""
        src = SOURCES[source]
        df = self.extracts[source]
        if src.version_column:
            df = df.sort_values([src.version_column, "file"], kind="mergesort")
        return df.drop_duplicates(list(src.key), keep="last").reset_index(drop=True)


def read_extracts(landing: Path) -> dict[str, pd.DataFrame]:
    """All day files (re-deliveries left out), with the file name of each row."""
    out = {}
    for source in SOURCES:
        frames = [pd.read_csv(f, dtype=str, keep_default_na=False).assign(file=f.name)
                  for f in sorted((landing / source).glob("*.csv")) if "redelivered" not in f.name]
        out[source] = pd.concat(frames, ignore_index=True)
    return out


def utc(local: pd.Series) -> pd.Series:
    """Naive local text -> naive UTC; raises on a time that is ambiguous or missing."""
    ts = pd.to_datetime(local.replace("", None))
    return ts.dt.tz_localize("Europe/London", ambiguous="raise", nonexistent="raise").dt.tz_convert("UTC").dt.tz_localize(None)


def load_council(summary: GenerateSummary) -> Council:
    truth = summary.truth_dir
    return Council(summary, read_extracts(summary.landing_dir),
                   pd.read_csv(truth / "records.csv", dtype=str, keep_default_na=False),
                   pd.read_csv(truth / "journeys.csv", dtype={"journey_id": str, "person_id": str},
                               keep_default_na=False))


@pytest.fixture(scope="session")
def council(tmp_path_factory: pytest.TempPathFactory) -> Council:
    out = tmp_path_factory.mktemp("council")
    return load_council(generate_council(out, people=700, days=180, seed=20261, end=END))
