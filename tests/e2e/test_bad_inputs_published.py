"""The bad-input corpus at run level: a bad delivery never changes what is published.

Each case's files are dropped into a good council's landing folder after a first
publication. A file that cannot be read stops the run naming file/column, and every
published table is exactly as before; a bad row is quarantined with its reason and
the run publishes without it. Cases that need their own mapping file are covered at
ingestion level only (tests/ingest/test_bad_inputs.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from pipeline.errors import ExtractError
from pipeline.stages import run_pipeline
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

from .conftest import END

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir()
               if (p / "case.yaml").exists() and not (p / "mapping.yaml").exists()
               and "mapping" not in yaml.safe_load((p / "case.yaml").read_text(encoding="utf-8")))


def _drop(case_dir: Path, part: str, landing: Path, case: str) -> None:
    """Copy a case's files in, named so they sort after the council's own files."""
    for f in sorted((case_dir / part).glob("*/*")):
        dest = landing / f.parent.name / f"zz-{case}-{f.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)


def _published(url: str) -> dict[str, pd.DataFrame]:
    with io.create_engine(url).connect() as conn:
        return {n: io.read_frame(conn, t.PUBLISHED_TABLES[n]) for n in t.BUILD_OUTPUTS}


@pytest.mark.parametrize("name", CASES)
def test_bad_delivery_leaves_publication_intact(name, landing, duckdb_url):
    case_dir = CORPUS / name
    case = yaml.safe_load((case_dir / "case.yaml").read_text(encoding="utf-8"))
    _drop(case_dir, "previous", landing, name)
    run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    before = _published(duckdb_url)

    _drop(case_dir, "landing", landing, name)
    if case["expected"] == "error":
        with pytest.raises(ExtractError) as err:
            run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
        assert Path(case["file"]).name in err.value.file  # dropped in as zz-<case>-<name>
        if "column" in case:
            assert case["column"] in (err.value.column or "")
        after = _published(duckdb_url)
        for table, frame in before.items():
            pd.testing.assert_frame_equal(after[table], frame, obj=table)
        return

    summary = run_pipeline(END, warehouse_url=duckdb_url, landing_dir=landing)
    assert summary["status"] == "succeeded"
    if case["expected"] == "quarantine":
        with sa.create_engine(duckdb_url).connect() as conn:
            reasons = [r[0] for r in conn.execute(sa.text("SELECT reason FROM quarantine.quarantine"))]
        assert sum(case["reason"] in r for r in reasons) >= case["count"], reasons
