"""GX results -> ``validation_result`` rows and ``quarantine`` rows.

``validation_result`` is published, so its ``details`` never carry row values (a
failing value may be a name or a phone number): only counts, column names and the
expectation's reason. Offending values go to ``quarantine.quarantine`` only, which sits
in the restricted area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipeline.validation.runner import ROW_INDEX, exception_message
from pipeline.validation.suites import expectation_id
from pipeline.warehouse.tables import quarantine as quarantine_table

QUARANTINE_COLUMNS = [c.name for c in quarantine_table.columns]
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between(vs_previous_run)"
_VALUE_LIMIT = 200


def _meta(result: Any) -> dict[str, Any]:
    return dict(result.expectation_config.meta or {})


def is_critical(result: Any) -> bool:
    """Critical when its meta says so, or when GX could not evaluate it at all (an
    expectation that cannot run proves nothing about the data)."""
    return bool(_meta(result).get("critical")) or exception_message(result) is not None


def _details(result: Any, *, quarantined: bool) -> str | None:
    """Counts and the reason, never values; see ``checked_rows`` for the one parsed part."""
    reason = _meta(result).get("reason", "")
    error = exception_message(result)
    if error is not None:
        return f"could not be evaluated: {error}"[:500]
    res = result.result or {}
    if "unexpected_count" in res:
        total = res.get("element_count")
        if result.success:
            return f"checked {total} rows" if total is not None else None
        count = f"{res['unexpected_count']} of {total} rows" if total is not None else f"{res['unexpected_count']} rows"
        return f"{count} {'quarantined' if quarantined else 'failed'}: {reason}"
    if result.success:
        return None
    missing = ((res.get("details") or {}).get("mismatched") or {}).get("missing")
    return f"{reason}: missing {sorted(missing)}" if missing else reason


_CHECKED = re.compile(r"^(?:checked (?P<all>\d+) rows|\d+ of (?P<of>\d+) rows)")


def checked_rows(details: str | None) -> int | None:
    """Rows a row-level expectation looked at, from its ``details`` (for Data Docs)."""
    match = _CHECKED.match(details or "")
    return int(match.group("all") or match.group("of")) if match else None


def result_rows(suite_result: Any, run_id: str) -> list[dict[str, Any]]:
    """One ``validation_result`` row per expectation of a GX suite result."""
    suite = suite_result.suite_name
    rows = []
    for result in suite_result.results:
        quarantined = bool(_meta(result).get("quarantine")) and exception_message(result) is None
        rows.append({
            "run_id": run_id,
            "suite": suite,
            "expectation": expectation_id(result.expectation_config),
            "critical": is_critical(result),
            "success": bool(result.success),
            "unexpected_count": (result.result or {}).get("unexpected_count"),
            "details": _details(result, quarantined=quarantined),
        })
    return rows


def counted_row(suite: str, config: Any, run_id: str, checked: int, unexpected: int) -> dict[str, Any]:
    """A ``validation_result`` row for an expectation evaluated from counts outside GX
    (an incremental night's table-level checks, in SQL), worded as GX's rows are."""
    meta = dict(config.meta or {})
    success = unexpected == 0
    details = f"checked {checked} rows" if success else f"{unexpected} of {checked} rows failed: {meta.get('reason', '')}"
    return {"run_id": run_id, "suite": suite, "expectation": expectation_id(config),
            "critical": bool(meta.get("critical")), "success": success, "unexpected_count": unexpected,
            "details": details}


def evaluated_on(row: dict[str, Any], scope: str) -> dict[str, Any]:
    """``row`` with what it was evaluated on appended to its ``details`` (an incremental
    night checks some expectations on the rows it inserts, others on the whole table)."""
    details = row.get("details")
    return {**row, "details": f"{details} [on {scope}]" if details else f"[on {scope}]"}


def _format(value: Any) -> str | None:
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.isoformat(sep=" ")
    return str(value)[:_VALUE_LIMIT]


def quarantine_rows(suite_result: Any, frame: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
    """Rows that failed a quarantine expectation, one per row and expectation.

    ``frame`` is the frame that was validated: positionally indexed, carrying
    ``ROW_INDEX``. File and line come from its lineage columns so an operator can find
    the row in the landing file.
    """
    parts = []
    for result in suite_result.results:
        meta = _meta(result)
        if result.success or not meta.get("quarantine") or exception_message(result) is not None:
            continue
        kwargs = result.expectation_config.kwargs
        columns = [kwargs["column"]] if "column" in kwargs else [kwargs["column_A"], kwargs["column_B"]]
        positions = [entry[ROW_INDEX] for entry in result.result.get("unexpected_index_list") or []]
        failing = frame.iloc[positions]
        if len(columns) == 1:
            value = failing[columns[0]].map(_format)
        else:
            value = pd.Series(["; ".join(f"{c}={_format(v)}" for c, v in zip(columns, vals))[:_VALUE_LIMIT]
                               for vals in zip(*(failing[c] for c in columns))], index=failing.index, dtype=object)
        parts.append(pd.DataFrame({
            "run_id": run_id,
            "source": source,
            "file": failing["source_file"] if "source_file" in failing else None,
            "line": failing["source_line"] if "source_line" in failing else None,
            "column": columns[0],
            "value": value,
            "reason": meta.get("reason"),
            "expectation": expectation_id(result.expectation_config),
        }, index=failing.index))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    out = out[QUARANTINE_COLUMNS]
    for col in QUARANTINE_COLUMNS:
        if col != "line":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["line"] = pd.to_numeric(out["line"]).astype("Int64")
    return out


def check_row_count(source: str, rows: int, previous_rows: int | None, band: tuple[float, float],
                    run_id: str) -> dict[str, Any]:
    """This run's row count for a source against the last run's, as a ``validation_result`` row.

    Never critical: a council's volumes jump after a bank holiday or a storm, so a count
    outside ``band`` (factors of the previous count, ``validation.row_count_band``) is a
    warning an operator reads, not a reason to withhold the night's publication.
    """
    low_factor, high_factor = band
    if previous_rows is None:
        success, details = True, None
    else:
        low, high = low_factor * previous_rows, high_factor * previous_rows
        success = low <= rows <= high
        details = None if success else (
            f"{rows} rows vs {previous_rows} in the previous run: outside {low:g} to {high:g} "
            f"(validation.row_count_band {low_factor:g}-{high_factor:g})")
    return {"run_id": run_id, "suite": f"source_{source}", "expectation": ROW_COUNT_EXPECTATION,
            "critical": False, "success": success, "unexpected_count": None, "details": details}


def critical_failures(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["critical"] and not r["success"]]


def validation_outcome(rows: Iterable[dict[str, Any]]) -> str:
    """``pipeline_run.validation_outcome``: failed (a critical failure), warned, or passed."""
    rows = list(rows)
    if critical_failures(rows):
        return "failed"
    return "warned" if any(not r["success"] for r in rows) else "passed"


def failure_summary(rows: Iterable[dict[str, Any]]) -> str:
    """One line per critical failure, for the ``ValidationFailed`` message (no row values)."""
    return "; ".join(f"{r['suite']}: {r['expectation']}" + (f" ({r['details']})" if r["details"] else "")
                     for r in critical_failures(rows))
