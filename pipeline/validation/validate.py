"""The two validation steps of a run: staged sources in, published tables out.

Published tables are checked whole after a full build (``validate_outputs``), and an
incremental night's changes on the rows it inserts and, for the table-level checks,
on each table as it would be after the swap (``validate_delta``). All load their
suites from the committed files (``validation.expectations_dir``),
supply the run-time suite parameters, and turn GX results into ``validation_result``
rows. Neither reads the clock or the environment: as-of, rules and threshold are
arguments, so the CLI, the DAG and the tests call them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.config import ValidationRules
from pipeline.errors import ValidationFailed
from pipeline.sources import SOURCES
from pipeline.validation.results import (counted_row, critical_failures, evaluated_on, failure_summary,
                                         quarantine_rows, result_rows)
from pipeline.validation.runner import ROW_INDEX, gx_module, run_suite
from pipeline.validation.suites import (AFTER_SWAP, INSERTED_ROWS, KEY_UNIQUENESS, REFERENCES,
                                        derived_reference_column, expectation_id, incremental_scope,
                                        load_suite, published_suite_name, reference_of, source_suite_name)
from pipeline.warehouse.delta import AfterSwap
from pipeline.warehouse.tables import PUBLISHED_TABLES


@dataclass
class SourceValidation:
    """``clean``: the staged frame minus quarantined rows; ``quarantine``: rows for
    ``quarantine.quarantine``; ``results``: rows for ``validation_result``."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    results: list[dict[str, Any]] = field(default_factory=list)


def _fail(rows: list[dict[str, Any]], what: str, **attached: Any) -> ValidationFailed:
    error = ValidationFailed(f"critical expectations failed on {what}: {failure_summary(rows)}")
    error.results = rows  # recorded by the caller before the run ends
    for name, value in attached.items():
        setattr(error, name, value)
    return error


def source_parameters(rules: ValidationRules, as_of: pd.Timestamp) -> dict[str, Any]:
    """Suite parameters of the source suites: the sane timestamp range."""
    return {"earliest_timestamp": pd.Timestamp(rules.earliest_timestamp),
            "latest_timestamp": pd.Timestamp(as_of) + pd.Timedelta(days=rules.max_future_days)}


def validate_source(source: str, staged: pd.DataFrame, rules: ValidationRules, as_of: pd.Timestamp,
                    run_id: str) -> SourceValidation:
    """Check one staged source against ``source_<source>.json``.

    Rows failing a row-level expectation leave ``clean`` and become quarantine rows
    (``expectation`` set); the run goes on. A critical failure (missing columns, a key
    repeated after latest-wins, an expectation GX cannot evaluate) raises
    ``ValidationFailed`` carrying ``results`` and ``quarantine``.
    """
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; known: {sorted(SOURCES)}")
    suite = load_suite(source_suite_name(source), rules.expectations_dir)
    frame = staged.reset_index(drop=True)
    frame[ROW_INDEX] = range(len(frame))
    suite_result = run_suite(suite, frame, source_parameters(rules, as_of), row_level=True)
    rows = _in_suite_order(result_rows(suite_result, run_id), suite)
    quarantine = quarantine_rows(suite_result, frame, source, run_id)
    if critical_failures(rows):
        raise _fail(rows, f"source {source}", quarantine=quarantine)
    bad = frame[ROW_INDEX].isin(_quarantined_positions(suite_result))
    clean = frame.loc[~bad].drop(columns=ROW_INDEX).reset_index(drop=True)
    return SourceValidation(clean=clean, quarantine=quarantine, results=rows)


def _in_suite_order(rows: list[dict[str, Any]], suite: Any) -> list[dict[str, Any]]:
    """GX returns results in its own order; records and Data Docs follow the suite file."""
    order = {expectation_id(e.configuration): i for i, e in enumerate(suite.expectations)}
    return sorted(rows, key=lambda r: order.get(r["expectation"], len(order)))


def _quarantined_positions(suite_result: Any) -> set[int]:
    positions: set[int] = set()
    for result in suite_result.results:
        if not result.success and (result.expectation_config.meta or {}).get("quarantine"):
            positions.update(int(e[ROW_INDEX]) for e in (result.result or {}).get("unexpected_index_list") or [])
    return positions


def _with_references(name: str, frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Add the derived columns of cross-table checks (see ``suites.REFERENCES``)."""
    for (table, column), (ref_table, ref_column) in REFERENCES.items():
        if table != name:
            continue
        if ref_table not in tables:
            raise ValueError(f"validate_outputs needs the {ref_table!r} frame to check {table}.{column}")
        found = frame[column].isin(set(tables[ref_table][ref_column].dropna()))
        frame = frame.assign(**{derived_reference_column(column, ref_table):
                                found.astype(object).where(frame[column].notna(), None)})
    return frame


def output_parameters(small_number_threshold: int) -> dict[str, Any]:
    """Suite parameters of the published suites: the counts suppression must hide."""
    return {"small_counts": list(range(1, small_number_threshold))}


def validate_outputs(tables: dict[str, pd.DataFrame], rules: ValidationRules, small_number_threshold: int,
                     run_id: str) -> list[dict[str, Any]]:
    """Check each frame against ``published_<name>.json``; returns ``validation_result`` rows.

    Raises ``ValidationFailed`` (with ``.results``, every row) when a critical
    expectation fails, after all tables are checked, so the run records the full picture.
    """
    params = output_parameters(small_number_threshold)
    rows: list[dict[str, Any]] = []
    for name in sorted(tables):
        suite = load_suite(published_suite_name(name), rules.expectations_dir)
        frame = _with_references(name, tables[name], tables)
        rows += _in_suite_order(result_rows(run_suite(suite, frame, params), run_id), suite)
    if critical_failures(rows):
        raise _fail(rows, "published tables")
    return rows


def _after_swap_row(table: str, suite_name: str, config: Any, after: AfterSwap, run_id: str) -> dict[str, Any]:
    """The row of a table-level expectation, from the counts of the table after the swap."""
    if config.type in KEY_UNIQUENESS:
        columns = [config.kwargs["column"]] if "column" in config.kwargs else list(config.kwargs["column_list"])
        key = [c.name for c in PUBLISHED_TABLES[table].primary_key.columns]
        if columns != key:
            raise ValueError(f"{suite_name}: {expectation_id(config)} is not on the primary key {key}; "
                             "the incremental audit counts repeated primary keys only")
        unexpected = after.duplicate_key_rows
    else:
        column = reference_of(table, config)[0]
        if column not in after.broken_references:
            raise ValueError(f"{suite_name}: no after-swap count for {table}.{column}; "
                             "pass suites.REFERENCES to publish_delta")
        unexpected = after.broken_references[column]
    return counted_row(suite_name, config, run_id, after.rows, unexpected)


def validate_delta(inserted: dict[str, pd.DataFrame], after: dict[str, AfterSwap], rules: ValidationRules,
                   small_number_threshold: int, run_id: str) -> list[dict[str, Any]]:
    """An incremental night's audit (``publish_delta``): every expectation of each
    table's suite, where the night can change its outcome (``suites.incremental_scope``).

    Row-level expectations run in GX on ``inserted`` (the rows the night writes, as
    read back from the WAP schema); key uniqueness and references are read from
    ``after`` (counts of each table as it would be after the swap, made in SQL). Each
    row's ``details`` ends with what it was evaluated on. Raises ``ValidationFailed``
    like ``validate_outputs``.
    """
    gx = gx_module()
    params = output_parameters(small_number_threshold)
    rows: list[dict[str, Any]] = []
    for name in sorted(inserted):
        suite = load_suite(published_suite_name(name), rules.expectations_dir)
        configs = [e.configuration for e in suite.expectations]
        on_rows = [c for c in configs if incremental_scope(name, c) == INSERTED_ROWS]
        on_table = [c for c in configs if incremental_scope(name, c) == AFTER_SWAP]
        checked = run_suite(gx.ExpectationSuite(name=suite.name, expectations=on_rows), inserted[name], params)
        found = [evaluated_on(r, INSERTED_ROWS) for r in result_rows(checked, run_id)]
        found += [evaluated_on(_after_swap_row(name, suite.name, c, after[name], run_id), AFTER_SWAP)
                  for c in on_table]
        rows += _in_suite_order(found, suite)
    if critical_failures(rows):
        raise _fail(rows, "published tables (incremental)")
    return rows
