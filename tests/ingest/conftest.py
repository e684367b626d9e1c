"""Fixtures for ingestion tests: tiny landing folders and mappings made per test.

(pytest runs with --import-mode=importlib, so helpers are handed out as fixtures.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import PACKAGE_DIR
from pipeline.ingest import SourceMapping, load_mapping

CANONICAL_DIR = PACKAGE_DIR / "mappings" / "canonical"
CASE_HEADER = ("case_id,customer_id,forename,surname,email,phone,address_line1,postcode,uprn,date_of_birth,"
               "service,category,channel,location_uprn,location_postcode,location_usrn,opened_at,closed_at,"
               "status,closure_reason,team,duplicate_of,updated_at")


@pytest.fixture()
def queues() -> dict[str, str]:
    return {"Highways": "Highways", "Waste": "Waste", "General": "General Enquiries"}


@pytest.fixture()
def data_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "data"


@pytest.fixture()
def mapping():
    """``mapping(source, **changes)``: the canonical mapping, validated again after changes."""

    def make(source: str, **changes) -> SourceMapping:
        base = load_mapping(CANONICAL_DIR / f"{source}.yaml")
        return SourceMapping.model_validate({**base.model_dump(), **changes}) if changes else base

    return make


@pytest.fixture()
def cases_csv():
    """``cases_csv(*rows)``: a canonical crm_cases CSV; each row a dict of changes to a valid case."""

    def make(*rows: dict, header: str = CASE_HEADER) -> str:
        names = header.split(",")
        base = dict(case_id="C1", customer_id="P1", forename="Ann", surname="Smith", email="ann@example.org",
                    phone="07700 900123", address_line1="1 Test St", postcode="LS6 1AA", service="Highways",
                    category="Pothole", channel="phone", opened_at="2026-11-20 09:00:00", status="open",
                    team="Highways", updated_at="2026-11-20 09:00:00")
        lines = [header]
        for r in rows:
            values = {**base, **r}
            lines.append(",".join(str(values.get(n, "")) for n in names))
        return "\n".join(lines) + "\n"

    return make


@pytest.fixture()
def landing(tmp_path: Path):
    """``landing(source, name, content)`` writes one delivery; returns the landing root."""
    root = tmp_path / "landing"
    root.mkdir()

    def write(source: str, name: str, content: str | bytes) -> Path:
        folder = root / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return root

    write.root = root
    return write
