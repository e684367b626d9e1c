"""The Great Expectations suites, generated from the declarations they check.

Suites live under version control in ``expectations/`` (one JSON file per source
extract, ``source_<source>.json``, and one per published table,
``published_<table>.json``) so a reviewer sees every rule change in a diff. They are
*generated* from ``pipeline.sources`` and ``pipeline.warehouse.tables`` by
``python -m pipeline.validation.suites --write`` and loaded from the files at run
time; ``--check`` (and a test) fails when the committed files differ from what the
generator would write, so the contract and its checks cannot drift apart.

Every expectation carries, in GX ``meta`` (mirrored in GX ``severity``):

- ``critical``: a failure stops the run (nothing is published);
- ``quarantine`` (source suites): a row-level failure sends the row to quarantine
  and the run goes on;
- ``reason``: the failure in words, used for quarantine rows and Data Docs.

Values known only at run time are GX suite parameters (``{"$PARAMETER": name}``):
``earliest_timestamp`` / ``latest_timestamp`` (source suites) and ``small_counts``
(aggregates); ``pipeline.validation.validate`` supplies them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pipeline.config import FAILURE_TYPES, REPO_DIR
from pipeline.sources import CASE_EVENT_TYPES, CHANNELS, LINEAGE_COLUMNS, SOURCES, Source
from pipeline.warehouse.tables import PUBLISHED_TABLES

DEFAULT_DIR = REPO_DIR / "expectations"

# Vocabularies of the published tables (journeys.md); the declarations only describe them.
JOURNEY_STATUSES = ("met", "open", "withdrawn", "abandoned", "unlinked")
SYSTEMS = ("crm", "telephony", "works")
EVENT_TYPES = ("call", "call_abandoned", *CASE_EVENT_TYPES, "wo_raised", "wo_completed")
DEMAND_TYPES = ("value", "failure")
PERIOD_TYPES = ("week", "month")
RUN_STATUSES = ("running", "succeeded", "failed", "incomplete")
RUN_MODES = ("full", "incremental")
VALIDATION_OUTCOMES = ("passed", "warned", "failed")
DELIVERIES = ("new", "corrected", "duplicate")

# Personal data that must never reach a published text column. Word boundaries keep
# hashes and ids (long runs of letters and digits) from matching by accident.
# (The look-behinds anchor each match at the start of a token: without them a long id
# is rescanned from every position, quadratic in its length.)
EMAIL_REGEX = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
UK_PHONE_REGEX = r"(?<![\w+.])(?:\+44\s?(?:\(0\)\s?)?|\(?0)(?:\d[\s)\-]{0,2}){8,9}\d(?!\w)"
FULL_POSTCODE_REGEX = r"(?<!\w)[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}(?!\w)"
PERSONAL_DATA_REGEXES = (EMAIL_REGEX, UK_PHONE_REGEX, FULL_POSTCODE_REGEX)
# Ids minted by source systems or by us (a numeric call id can look like a phone number,
# a works order "WO123AB" like a postcode): checked for email addresses only.
IDENTIFIER_COLUMNS = {"journey_id", "person_key", "source_ref", "run_id"}

# (table, column) -> (referenced table, column): cross-table checks. validate_outputs
# adds the derived boolean column "<column>_in_<table>" before validating.
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("journey_event", "journey_id"): ("journey", "journey_id"),
    ("measure_capability_point", "journey_id"): ("journey", "journey_id"),
}
RATE_COLUMNS = {"failure_share", "share_clean", "first_contact_resolution", "follow_on_rate"}


def derived_reference_column(column: str, ref_table: str) -> str:
    return f"{column}_in_{ref_table}"


# Where an incremental night (``validate.validate_delta``) evaluates each published
# expectation: on the rows it inserts, or on the table as it would be after the swap.
INSERTED_ROWS = "the rows this night inserts"
AFTER_SWAP = "the table after the swap"
# Each looks at one row at a time (the column set at the columns only, which a delta
# shares with its table): a row the night keeps passed it when it was published and has
# not changed since.
_ROW_LEVEL = {"expect_table_columns_to_match_set", "expect_column_values_to_not_be_null",
              "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
              "expect_column_values_to_be_between", "expect_column_values_to_match_regex",
              "expect_column_values_to_not_match_regex", "expect_column_values_to_not_match_regex_list"}
# Key uniqueness spans the table: a kept row can clash with an inserted one.
KEY_UNIQUENESS = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}


def reference_of(table: str, config: Any) -> tuple[str, str, str] | None:
    """``(column, ref_table, ref_column)`` when ``config`` is ``table``'s cross-table
    check (the expectation on a derived ``<column>_in_<table>`` column), else None."""
    column = config.kwargs.get("column") if hasattr(config, "kwargs") else config["kwargs"].get("column")
    for (tname, col), (ref_table, ref_col) in REFERENCES.items():
        if tname == table and column == derived_reference_column(col, ref_table):
            return col, ref_table, ref_col
    return None


def incremental_scope(table: str, config: Any) -> str:
    """``INSERTED_ROWS`` or ``AFTER_SWAP``: where an incremental night evaluates this
    expectation of ``table``'s suite. An expectation of a kind not classified here is
    an error, never skipped: say where it can change before adding it to a suite."""
    type_ = config.type if hasattr(config, "type") else config["type"]
    if type_ in KEY_UNIQUENESS or reference_of(table, config) is not None:
        return AFTER_SWAP
    if type_ in _ROW_LEVEL:
        return INSERTED_ROWS
    raise ValueError(f"published_{table}: {type_} has no incremental scope; classify it in "
                     "pipeline.validation.suites.incremental_scope")


def _gx() -> Any:
    from pipeline.validation.runner import gx_module

    return gx_module()


def _exp(cls_name: str, *, critical: bool, reason: str, quarantine: bool = False, **kwargs: Any) -> Any:
    """One GX expectation with our meta; severity mirrors ``critical`` for GX's own UI."""
    import great_expectations.expectations as gxe

    meta: dict[str, Any] = {"critical": critical, "reason": reason}
    if quarantine:
        meta["quarantine"] = True
    return getattr(gxe, cls_name)(meta=meta, severity="critical" if critical else "warning", **kwargs)


# --------------------------------------------------------------------------- sources

# Dates set in advance (a works order's due date), legitimately weeks after as-of:
# only the lower bound applies.
_PLANNED_TIMESTAMPS = {("works_orders", "target_at")}
# (later, earlier) pairs that must be in order when both are present.
_ORDERED_TIMESTAMPS: dict[str, tuple[tuple[str, str], ...]] = {
    "crm_cases": (("closed_at", "opened_at"),),
    "call_logs": (("answered_at", "started_at"), ("ended_at", "answered_at")),
}


def _source_expectations(src: Source) -> Iterator[Any]:
    required = [*src.column_names, *LINEAGE_COLUMNS] + (["service"] if src.name == "call_logs" else [])
    yield _exp("ExpectTableColumnsToMatchSet", critical=True, column_set=required, exact_match=False,
               reason="staged frame lacks columns of the input contract")
    for col in src.columns:
        if not col.nullable:
            yield _exp("ExpectColumnValuesToNotBeNull", critical=False, quarantine=True, column=col.name,
                       reason=f"{col.name} is missing" + (" (reject)" if col.reject else " (required by the contract)"))
    if len(src.key) == 1:
        yield _exp("ExpectColumnValuesToBeUnique", critical=True, column=src.key[0],
                   reason=f"{src.key[0]} repeats after latest-version-wins")
    else:
        yield _exp("ExpectCompoundColumnsToBeUnique", critical=True, column_list=list(src.key),
                   reason=f"({', '.join(src.key)}) repeats after de-duplication")
    for col in src.columns:
        if col.allowed:
            yield _exp("ExpectColumnValuesToBeInSet", critical=False, quarantine=True, column=col.name,
                       value_set=list(col.allowed),
                       reason=f"{col.name} is not one of {', '.join(col.allowed)} (after mapping)")
    for col in src.timestamp_columns:
        if (src.name, col) in _PLANNED_TIMESTAMPS:
            yield _exp("ExpectColumnValuesToBeBetween", critical=False, quarantine=True, column=col,
                       min_value={"$PARAMETER": "earliest_timestamp"},
                       reason=f"{col} is before validation.earliest_timestamp")
        else:
            yield _exp("ExpectColumnValuesToBeBetween", critical=False, quarantine=True, column=col,
                       min_value={"$PARAMETER": "earliest_timestamp"}, max_value={"$PARAMETER": "latest_timestamp"},
                       reason=f"{col} is outside the sane range (validation.earliest_timestamp to as-of + max_future_days)")
    for later, earlier in _ORDERED_TIMESTAMPS.get(src.name, ()):
        yield _exp("ExpectColumnPairValuesAToBeGreaterThanB", critical=False, quarantine=True,
                   column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing",
                   reason=f"{later} before {earlier}")


# --------------------------------------------------------------------------- published

_VALUE_SETS: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    # (table, column) -> (allowed values, critical)
    ("journey", "status"): (JOURNEY_STATUSES, True),
    ("journey", "first_channel"): (CHANNELS, False),
    ("journey_event", "system"): (SYSTEMS, True),
    ("journey_event", "event_type"): (EVENT_TYPES, False),
    ("journey_event", "channel"): (CHANNELS, False),
    ("journey_event", "demand_type"): (DEMAND_TYPES, True),
    ("journey_event", "failure_type"): (FAILURE_TYPES, True),
    ("measure_demand_channel", "channel"): (CHANNELS, False),
    ("pipeline_run", "status"): (RUN_STATUSES, True),
    ("pipeline_run", "mode"): (RUN_MODES, False),
    ("pipeline_run", "validation_outcome"): (VALIDATION_OUTCOMES, True),
    ("pipeline_run_input", "delivery"): (DELIVERIES, False),
}
_PATTERNS: dict[str, tuple[str, str]] = {
    # column (in any aggregate) -> (regex, meaning); warnings
    "period": (r"^\d{4}-(?:W\d{2}|\d{2})$", "ISO week YYYY-Www or month YYYY-MM"),
    "age_band": (r"^\d+(?:-\d+|\+)$", "an age band like 0-7 or 91+"),
}


def _published_expectations(table: sa.Table) -> Iterator[Any]:
    name = table.name
    yield _exp("ExpectTableColumnsToMatchSet", critical=True, column_set=[c.name for c in table.columns],
               exact_match=False, reason="frame lacks declared columns")
    pk = [c.name for c in table.primary_key.columns]
    if len(pk) == 1:
        yield _exp("ExpectColumnValuesToBeUnique", critical=True, column=pk[0], reason=f"{pk[0]} is not unique")
    elif pk:
        yield _exp("ExpectCompoundColumnsToBeUnique", critical=True, column_list=pk,
                   reason=f"({', '.join(pk)}) is not unique")
    for col in table.columns:
        if not col.nullable:
            yield _exp("ExpectColumnValuesToNotBeNull", critical=True, column=col.name, reason=f"{col.name} is NULL")
    for (tname, col), (ref_table, ref_col) in REFERENCES.items():
        if tname == name:
            yield _exp("ExpectColumnValuesToBeInSet", critical=True,
                       column=derived_reference_column(col, ref_table), value_set=[True],
                       reason=f"{name}.{col} not found in {ref_table}.{ref_col} "
                              f"(derived column computed by validate_outputs)")
    for col in table.columns:
        if (name, col.name) in _VALUE_SETS:
            allowed, critical = _VALUE_SETS[(name, col.name)]
            yield _exp("ExpectColumnValuesToBeInSet", critical=critical, column=col.name, value_set=list(allowed),
                       reason=f"{col.name} is not one of {', '.join(allowed)}")
        elif col.name in _PATTERNS and "suppressed" in table.columns:
            regex, meaning = _PATTERNS[col.name]
            yield _exp("ExpectColumnValuesToMatchRegex", critical=False, column=col.name, regex=regex,
                       reason=f"{col.name} is not {meaning}")
    for col in table.columns:
        if isinstance(col.type, sa.Integer):
            low = 1 if col.name == "seq" else 0
            yield _exp("ExpectColumnValuesToBeBetween", critical=True, column=col.name, min_value=low,
                       reason=f"{col.name} below {low}")
        elif isinstance(col.type, sa.Float):
            bounds = {"min_value": 0, "max_value": 1} if col.name in RATE_COLUMNS else {"min_value": 0}
            yield _exp("ExpectColumnValuesToBeBetween", critical=True, column=col.name, **bounds,
                       reason=f"{col.name} outside " + ("0..1" if "max_value" in bounds else "0 or more"))
    if "suppressed" in table.columns:
        for col in table.columns:
            if isinstance(col.type, sa.Integer):
                yield _exp("ExpectColumnValuesToNotBeInSet", critical=True, column=col.name,
                           value_set={"$PARAMETER": "small_counts"},
                           reason=f"{col.name} publishes a small number (1 to small_number_threshold - 1)")
    for col in table.columns:
        if col.name in IDENTIFIER_COLUMNS:
            yield _exp("ExpectColumnValuesToNotMatchRegex", critical=True, column=col.name, regex=EMAIL_REGEX,
                       reason=f"{col.name} holds an email address")
        elif isinstance(col.type, (sa.String, sa.Text)):
            yield _exp("ExpectColumnValuesToNotMatchRegexList", critical=True, column=col.name,
                       regex_list=list(PERSONAL_DATA_REGEXES),
                       reason=f"{col.name} holds an email, UK phone number or full postcode")


# --------------------------------------------------------------------------- build, write, load

def source_suite_name(source: str) -> str:
    return f"source_{source}"


def published_suite_name(table: str) -> str:
    return f"published_{table}"


def expectation_id(config: Any) -> str:
    """Stable, readable id of an expectation: its type and its column(s).

    It is the ``validation_result.expectation`` value and ties a result row back to its
    expectation in the suite file (unique within a suite; a test checks).
    """
    kwargs = config["kwargs"] if isinstance(config, dict) else config.kwargs
    type_ = config["type"] if isinstance(config, dict) else config.type
    if "column" in kwargs:
        cols = [kwargs["column"]]
    elif "column_A" in kwargs:
        cols = [kwargs["column_A"], kwargs["column_B"]]
    else:
        cols = list(kwargs.get("column_list", []))
    return f"{type_}({', '.join(cols)})" if cols else type_


def _suite_dict(name: str, expectations: list[Any], note: str) -> dict[str, Any]:
    gx = _gx()
    suite = gx.ExpectationSuite(name=name, expectations=expectations, notes=note)
    data = suite.to_json_dict()
    data.pop("id", None)
    data["meta"] = {"generated_by": "python -m pipeline.validation.suites --write"}
    for exp in data["expectations"]:
        exp.pop("id", None)
    return data


def build_suites() -> dict[str, dict[str, Any]]:
    """Every suite as the JSON-ready dict the generator writes, by suite name."""
    suites = {}
    for source in SOURCES.values():
        name = source_suite_name(source.name)
        suites[name] = _suite_dict(name, list(_source_expectations(source)),
                                   f"Staged {source.name} against the input contract (pipeline.sources).")
    for table in PUBLISHED_TABLES.values():
        name = published_suite_name(table.name)
        suites[name] = _suite_dict(name, list(_published_expectations(table)),
                                   f"Published {table.name} against its declaration (pipeline.warehouse.tables).")
    return suites


def suite_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_suites(directory: Path = DEFAULT_DIR) -> list[Path]:
    """Write every suite file (and nothing else); returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in build_suites().items():
        path = directory / f"{name}.json"
        path.write_text(suite_text(data))
        paths.append(path)
    return paths


def stale_suites(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of suite files missing or different from what the generator writes."""
    return [name for name, data in build_suites().items()
            if not (directory / f"{name}.json").exists()
            or (directory / f"{name}.json").read_text() != suite_text(data)]


def load_suite_dict(name: str, directory: Path = DEFAULT_DIR) -> dict[str, Any]:
    path = directory / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"expectation suite {name!r} not found: {path} "
                                "(python -m pipeline.validation.suites --write creates it)")
    return json.loads(path.read_text())


def load_suite(name: str, directory: Path = DEFAULT_DIR) -> Any:
    """The committed suite file as a GX ``ExpectationSuite``."""
    return _gx().ExpectationSuite(**load_suite_dict(name, directory))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.validation.suites", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="suite folder (default: expectations/)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="(re)generate the suite files")
    action.add_argument("--check", action="store_true", help="exit 1 when the files differ from the generator")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_suites(args.dir):
            print(path)
        return 0
    stale = stale_suites(args.dir)
    for name in stale:
        print(f"stale: {args.dir / (name + '.json')}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
