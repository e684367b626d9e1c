"""Walks tests/data/bad_inputs: every bad delivery ends as its case.yaml says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.config import PACKAGE_DIR, load_config
from pipeline.errors import ExtractError
from pipeline.ingest import IngestResult, ingest_source, load_mapping
from pipeline.transforms.staging import merge_staged

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").exists())
EXPECTED = {"ok", "quarantine", "error"}


def _ingest(folder: Path, case: dict) -> tuple[IngestResult, pd.DataFrame]:
    """Tonight's result and the staged frame after folding in an earlier night, if any."""
    source = case["source"]
    mapping = load_mapping(folder / case["mapping"] if "mapping" in case
                           else PACKAGE_DIR / "mappings" / "canonical" / f"{source}.yaml")
    queues = load_config(environ={}).journeys.queue_service
    seen, previous = None, None
    if (folder / "previous").exists():
        before = ingest_source(source, folder / "previous", mapping, queue_service=queues)
        seen, previous = before.inputs, before.staged
    result = ingest_source(source, folder / "landing", mapping, queue_service=queues, seen=seen)
    staged = result.staged if previous is None else merge_staged(previous, result.staged, source,
                                                                 result.corrected_files)
    return result, staged


def _as_text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def test_the_corpus_covers_the_brief():
    wanted = {"undecodable_bytes", "utf8_bom", "missing_required_column", "renamed_column", "extra_column",
              "empty_file", "header_only", "unparsable_dates", "closed_before_opened", "spring_gap",
              "ambiguous_autumn", "duplicate_ids_latest_wins", "identical_redelivery", "corrected_redelivery",
              "one_mb_field", "sql_injection_strings", "negative_call_duration", "unknown_codes"}
    assert wanted <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name):
    folder = CORPUS / name
    case = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
    assert case["expected"] in EXPECTED and case.get("description"), f"{name}/case.yaml is incomplete"
    if case["expected"] == "error":
        with pytest.raises(ExtractError) as err:
            _ingest(folder, case)
        assert case["file"] in err.value.file
        if "column" in case:
            assert case["column"] in (err.value.column or "")
        if "line" in case:
            assert err.value.line == case["line"]
        if "message" in case:
            assert case["message"] in str(err.value)
        return

    result, staged = _ingest(folder, case)
    reasons = result.quarantine["reason"]
    if case["expected"] == "ok":
        assert result.quarantine.empty, result.quarantine.to_string()
    else:
        assert reasons.str.contains(case["reason"], regex=False).sum() == case["count"], reasons.tolist()
        assert result.quarantine[["file", "line"]].notna().all().all()
    if "staged" in case:
        assert len(staged) == case["staged"]
    for wanted in case.get("contains", []):
        rows = staged[list(wanted)].map(_as_text).to_dict("records")
        assert {k: _as_text(v) for k, v in wanted.items()} in rows, rows
    for file, delivery in case.get("deliveries", {}).items():
        assert result.inputs.set_index("file").loc[file, "delivery"] == delivery
    if "extra_columns" in case:
        assert sorted(c for cols in result.report["extra_columns"].values() for c in cols) == \
            sorted(case["extra_columns"])
