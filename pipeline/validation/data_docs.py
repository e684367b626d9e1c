"""GX Data Docs for a run, rendered from its ``validation_result`` rows.

Rendering from the rows rather than from GX's raw results is deliberate: raw results
(``result_format=COMPLETE``) hold the failing *values* -- names, phone numbers from the
restricted area -- and Data Docs are HTML files anyone with the folder can open. The
rows carry counts and reasons only; the expectation itself comes from the committed
suite file, so the pages show exactly what was checked and how it went.

The folder is a file-mode GX project (``<out_dir>/gx``); rendering into the same folder
run after run keeps every run's pages, and the index lists them newest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.validation.results import checked_rows
from pipeline.validation.runner import gx_module
from pipeline.validation.suites import DEFAULT_DIR, expectation_id, load_suite_dict


def _configs(suite: str, expectations_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = load_suite_dict(suite, expectations_dir)
    except FileNotFoundError:
        return {}
    return {expectation_id(e): e for e in data["expectations"]}


def _result(row: dict[str, Any]) -> dict[str, Any]:
    """The GX result dict the renderers expect, rebuilt from counts (never values)."""
    if row.get("unexpected_count") is None:
        return {"observed_value": row["details"]} if row.get("details") else {}
    unexpected = int(row["unexpected_count"])
    checked = checked_rows(row.get("details"))
    if not checked:
        return {"unexpected_count": unexpected}
    return {"element_count": checked, "unexpected_count": unexpected, "missing_count": 0, "missing_percent": 0.0,
            "unexpected_percent": 100.0 * unexpected / checked,
            "unexpected_percent_nonmissing": 100.0 * unexpected / checked}


def _suite_result(suite: str, rows: list[dict[str, Any]], expectations_dir: Path, run_id: Any) -> Any:
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    configs = _configs(suite, expectations_dir)
    results = []
    for row in rows:
        # A check recorded like an expectation but run outside GX (the row-count band)
        # has no entry in the suite file: render it by its type with the recorded details.
        known = configs.get(row["expectation"], {"type": row["expectation"].split("(")[0], "kwargs": {}})
        meta = {**known.get("meta", {}), "critical": bool(row["critical"])}
        if row.get("details"):
            meta["details"] = row["details"]
        config = ExpectationConfiguration(type=known["type"], kwargs=known["kwargs"], meta=meta)
        results.append(ExpectationValidationResult(success=bool(row["success"]), expectation_config=config,
                                                   result=_result(row)))
    passed = sum(r.success for r in results)
    return ExpectationSuiteValidationResult(
        success=passed == len(results), suite_name=suite, results=results,
        statistics={"evaluated_expectations": len(results), "successful_expectations": passed,
                    "unsuccessful_expectations": len(results) - passed,
                    "success_percent": 100.0 * passed / len(results) if results else None},
        meta={"run_id": run_id, "batch_spec": {"data_asset_name": suite.split("_", 1)[-1]}})


def render_data_docs(results: Iterable[dict[str, Any]], out_dir: Path, *,
                     expectations_dir: Path = DEFAULT_DIR, run_time: dt.datetime | None = None) -> Path:
    """Render ``validation_result`` rows (one run's) as GX Data Docs under ``out_dir``.

    Returns the index page, for ``pipeline_run.data_docs_path``. ``run_time`` labels
    the run in the docs (default: now).
    """
    gx = gx_module()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    rows = list(results)
    if not rows:
        raise ValueError("render_data_docs needs at least one validation_result row")
    run_ids = {r["run_id"] for r in rows}
    if len(run_ids) != 1:
        raise ValueError(f"render_data_docs renders one run at a time; got runs {sorted(run_ids)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(out_dir))
    run_id = RunIdentifier(run_name=run_ids.pop(), run_time=run_time or dt.datetime.now(dt.timezone.utc))
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_suite.setdefault(row["suite"], []).append(row)
    for suite, suite_rows in sorted(by_suite.items()):
        key = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
                                         run_id=run_id, batch_identifier=suite)
        context.validation_results_store.set(key, _suite_result(suite, suite_rows, expectations_dir, run_id))
    context.build_data_docs()
    index = out_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if not index.exists():
        raise FileNotFoundError(f"GX did not write Data Docs at {index}")
    return index
