"""Checks on the frames the identity stage is given, before any linkage work.

Staging promises unique keys, present timestamps and E.164 phones (docs/stages.md
§1). If a frame breaks that promise the stage stops with the staged row's landing
file, line and column, rather than linking people on bad data.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.errors import PipelineError

CASE_COLUMNS = ("case_id", "customer_id", "forename", "surname", "email", "phone", "address_line1",
                "postcode", "uprn", "date_of_birth", "service", "opened_at", "closed_at")
CALL_COLUMNS = ("call_id", "parent_call_id", "caller_number", "started_at", "service", "case_ref")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class IdentityInputError(PipelineError):
    """A staged frame the identity stage cannot use; names frame, file, line and column."""

    def __init__(self, frame: str, column: str, reason: str, *, file: str | None = None,
                 line: int | None = None):
        self.frame, self.column, self.file, self.line = frame, column, file, line
        where = frame + (f" ({file}" + (f", line {line}" if line is not None else "") + ")" if file else "")
        super().__init__(f"{where}, column '{column}': {reason}")


def _origin(frame: pd.DataFrame, index) -> tuple[str | None, int | None]:
    """Landing file and line of a staged row, when the frame carries its lineage."""
    file = frame.at[index, "source_file"] if "source_file" in frame.columns else None
    line = frame.at[index, "source_line"] if "source_line" in frame.columns else None
    return (str(file) if pd.notna(file) else None), (int(line) if pd.notna(line) else None)


def _fail(name: str, frame: pd.DataFrame, rows: pd.Series, column: str, reason: str) -> None:
    index = rows[rows].index[0]
    file, line = _origin(frame, index)
    value = frame.at[index, column]
    count = int(rows.sum())
    more = f" ({count} rows)" if count > 1 else ""
    raise IdentityInputError(name, column, f"{reason}: {value!r}{more}", file=file, line=line)


def _check_columns(name: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise IdentityInputError(name, missing[0], f"missing column(s) {missing}")


def _check_key(name: str, frame: pd.DataFrame, key: str) -> None:
    values = frame[key]
    if values.isna().any():
        _fail(name, frame, values.isna(), key, "key is empty")
    duplicated = values.duplicated(keep=False)
    if duplicated.any():
        _fail(name, frame, duplicated, key, "key is not unique (staging keeps the latest version only)")


def _check_timestamp(name: str, frame: pd.DataFrame, column: str, *, required: bool) -> None:
    if not pd.api.types.is_datetime64_any_dtype(frame[column]) and not frame[column].isna().all():
        raise IdentityInputError(name, column, f"expected naive-UTC timestamps, got dtype {frame[column].dtype}")
    if required and frame[column].isna().any():
        _fail(name, frame, frame[column].isna(), column, "timestamp is empty")


def _check_phones(name: str, frame: pd.DataFrame, column: str) -> None:
    values = frame[column]
    bad = values.notna() & ~values.astype(str).str.match(E164)
    if bad.any():
        _fail(name, frame, bad, column, "not an E.164 phone number (staging normalises phones)")


def check_cases(cases: pd.DataFrame) -> None:
    """Staged crm_cases as identity needs them."""
    _check_columns("crm_cases", cases, CASE_COLUMNS)
    _check_key("crm_cases", cases, "case_id")
    _check_timestamp("crm_cases", cases, "opened_at", required=True)
    _check_timestamp("crm_cases", cases, "closed_at", required=False)
    _check_phones("crm_cases", cases, "phone")


def check_calls(calls: pd.DataFrame) -> None:
    """Staged call_logs as identity needs them (with ``service`` from the queue map)."""
    _check_columns("call_logs", calls, CALL_COLUMNS)
    _check_key("call_logs", calls, "call_id")
    _check_timestamp("call_logs", calls, "started_at", required=True)
    _check_phones("call_logs", calls, "caller_number")


def check_previous(person_record: pd.DataFrame, person: pd.DataFrame) -> None:
    """Last run's identity map: one person per case, and every person known."""
    _check_columns("identity.person_record", person_record, ("case_id", "person_id"))
    _check_columns("identity.person", person, ("person_id", "person_key", "first_run_id"))
    _check_key("identity.person_record", person_record, "case_id")
    _check_key("identity.person", person, "person_id")
    unknown = ~person_record["person_id"].isin(person["person_id"])
    if unknown.any():
        _fail("identity.person_record", person_record, unknown, "person_id", "person missing from identity.person")
