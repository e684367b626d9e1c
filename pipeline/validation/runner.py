"""Run a GX suite on a pandas frame.

``import great_expectations`` costs ~3 s (scipy), so it happens here, lazily, on first
use -- importing ``pipeline.validation`` stays cheap for the CLI and DAG parsing. One
ephemeral context (no files, analytics and progress bars off) serves the process.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pandas as pd

ROW_INDEX = "__row__"  # positional row number added to each frame: identifies failing rows
# Frames longer than this are validated column group by column group (see run_suite);
# shorter ones in one GX call. GX's fixed cost is ~3 ms a call plus ~5 ms an
# expectation; at a night's 20,000-110,000 rows both ways take the same time.
SPLIT_ROWS = 50_000


def gx_module() -> Any:
    """``great_expectations``, imported on first use with analytics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


@functools.cache
def _batch_definition() -> Any:
    gx = gx_module()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = ctx.data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


# Table-level expectations that look only at the column names: run on a zero-row frame.
_SCHEMA_ONLY = {"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
                "expect_column_to_exist", "expect_table_column_count_to_equal",
                "expect_table_column_count_to_be_between"}


def _domain(config: Any) -> tuple[str, ...]:
    """The columns an expectation reads (empty for table-level ones)."""
    kwargs = config.kwargs
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_A" in kwargs:
        return (kwargs["column_A"], kwargs["column_B"])
    return tuple(kwargs.get("column_list", ()))


def _vectorisable(frame: pd.DataFrame) -> pd.DataFrame:
    """Same values in dtypes GX's pandas metrics handle vectorised: nullable integers
    and floats as float64 (exact up to 2**53), narrower numpy integers (DuckDB reads
    INTEGER as ``int32``) as int64, timestamps as datetime64[ns]. GX vectorises a range
    check only on int64, float64 and datetime64[ns]; on anything else it runs a Python
    function per row."""
    out = {}
    for name, col in frame.items():
        dtype = col.dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype) \
                and not pd.api.types.is_bool_dtype(dtype):
            out[name] = col.astype("float64")
        elif dtype.kind in "iu" and dtype.itemsize < 8:
            out[name] = col.astype("int64")
        elif pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            out[name] = col.astype("datetime64[ns]")
    return frame.assign(**out) if out else frame


def _groups(suite: Any, frame: pd.DataFrame) -> dict[tuple[str, ...] | None, list[Any]]:
    """Expectations grouped by the columns they read (None: needs the whole frame)."""
    groups: dict[tuple[str, ...] | None, list[Any]] = {}
    for exp in suite.expectations:
        config = exp.configuration
        domain = _domain(config)
        key = domain if domain else (() if config.type in _SCHEMA_ONLY else None)
        groups.setdefault(key, []).append(config)
    return groups


def run_suite(suite: Any, frame: pd.DataFrame, parameters: dict[str, Any] | None = None, *,
              row_level: bool = False) -> Any:
    """Validate ``frame`` against ``suite``; returns GX's ``ExpectationSuiteValidationResult``.

    ``row_level`` asks for the failing rows (their ``ROW_INDEX`` values, which the frame
    must carry) so they can be quarantined; otherwise only counts are computed.

    Every expectation runs, but on a frame of just the columns it reads: GX fingerprints
    and copies the whole batch frame per metric, which on a wide 1M-row frame costs more
    than the checks themselves (benchmarks/validation_scale.py).
    """
    gx = gx_module()
    from great_expectations.core import ExpectationSuiteValidationResult

    if row_level:
        result_format: dict[str, Any] = {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_INDEX],
                                         "partial_unexpected_count": 0}
    else:
        result_format = {"result_format": "BASIC", "partial_unexpected_count": 0}
    extra = [ROW_INDEX] if row_level else []
    groups = _groups(suite, frame) if len(frame) > SPLIT_ROWS else {None: [e.configuration for e in suite.expectations]}
    results = []
    for domain, configs in groups.items():
        if domain is None:
            part = _vectorisable(frame)
        elif domain == ():
            part = frame.iloc[:0]
        else:
            part = _vectorisable(frame[[c for c in dict.fromkeys([*domain, *extra]) if c in frame.columns]])
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": part})
        sub = gx.ExpectationSuite(name=suite.name, expectations=configs)
        results += batch.validate(sub, expectation_parameters=parameters or {}, result_format=result_format).results
    success = all(r.success for r in results)
    return ExpectationSuiteValidationResult(
        success=success, results=results, suite_name=suite.name,
        statistics={"evaluated_expectations": len(results),
                    "successful_expectations": sum(r.success for r in results),
                    "unsuccessful_expectations": sum(not r.success for r in results),
                    "success_percent": 100.0 * sum(r.success for r in results) / len(results) if results else None})


def exception_message(result: Any) -> str | None:
    """The error GX caught while evaluating one expectation, if any (two shapes exist)."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return info.get("exception_message")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None
