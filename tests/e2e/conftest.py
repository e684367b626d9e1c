"""A small generated council, made once per session, for the run-level tests."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipeline.generate.council import generate_council

END = dt.date(2026, 11, 20)


@pytest.fixture(scope="session")
def small_council(tmp_path_factory) -> Path:
    """~300 people over 120 days: every rule exercised, seconds to run."""
    out = tmp_path_factory.mktemp("council")
    generate_council(out, people=300, days=120, seed=7, end=END)
    return out


@pytest.fixture()
def landing(small_council: Path, tmp_path: Path) -> Path:
    """A private copy of the council's landing folder a test may add files to."""
    dest = tmp_path / "landing"
    shutil.copytree(small_council / "landing", dest)
    return dest
