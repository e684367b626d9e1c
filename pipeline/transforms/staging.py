"""Raw canonical rows -> staged rows (typed, UTC, normalised, latest version wins) + quarantine.

This is the pure core of ingestion: the reader (``pipeline.ingest``) has already
renamed a council's columns to the canonical ones and kept every value as text. Here
every rule of the input contract (shared/design/extracts.md) is checked row by row,
vectorised: a row that breaks one goes to quarantine with one row per reason, and
never stops the good rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from pipeline.sources import LINEAGE_COLUMNS, SOURCES, Source
from pipeline.transforms.normalise import (lookup, map_values, normalise_email, normalise_phone,
                                           normalise_postcode, strip_text, text_lengths, to_object_text)
from pipeline.transforms.timestamps import (AMBIGUOUS_FIRST, DEFAULT_DATE_FORMAT,
                                            DEFAULT_TIMESTAMP_FORMAT, SPRING_GAP_SHIFTED,
                                            LocalisedTimes, localise, parse_local,
                                            resolve_ambiguous, time_flag_text)

MAX_FIELD_CHARS = 10_000
QUARANTINE_COLUMNS = ["source", "file", "line", "column", "value", "reason", "expectation"]
QUARANTINE_VALUE_CHARS = 200

PHONE_COLUMNS = ("phone", "caller_number")
EMAIL_COLUMNS = ("email",)
POSTCODE_COLUMNS = ("postcode", "location_postcode")

# (earlier, later): a row whose later time precedes its earlier one is rejected.
REJECT_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "crm_cases": (("opened_at", "closed_at"),),
    "call_logs": (("started_at", "ended_at"),),
    "works_orders": (("raised_at", "completed_at"),),
}
# Orderings that always hold inside one record, used to settle autumn-overlap times.
TIME_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "crm_cases": (("opened_at", "closed_at"), ("opened_at", "updated_at"), ("closed_at", "updated_at")),
    "crm_case_events": (),
    "call_logs": (("started_at", "answered_at"), ("answered_at", "ended_at"), ("started_at", "ended_at")),
    "works_orders": (("raised_at", "completed_at"), ("raised_at", "updated_at"), ("completed_at", "updated_at")),
}


@dataclass(frozen=True)
class StagedRecords:
    """``staged``: one row per record key; ``quarantine``: one row per bad row and reason;
    ``superseded``: valid rows that lost to a later version of the same record."""

    staged: pd.DataFrame
    quarantine: pd.DataFrame
    superseded: int = 0


def staged_columns(source: str) -> list[str]:
    """Columns of a staged frame, in the order of ``staging.<source>``."""
    extra = ["service"] if source == "call_logs" else []
    return [*SOURCES[source].column_names, *extra, *LINEAGE_COLUMNS]


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else object) for c in QUARANTINE_COLUMNS})


class _Problems:
    """Collects (row, column, value, reason) for rows breaking a rule."""

    def __init__(self, raw: pd.DataFrame):
        self.raw = raw
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: pd.Series, column: str | None, reason: str) -> None:
        if not mask.any():
            return
        idx = mask.index[mask.to_numpy()]
        value = to_object_text(self.raw[column].loc[idx]) if column else pd.Series(None, index=idx, dtype=object)
        self.parts.append(pd.DataFrame({"row": idx, "column": column, "value": value.to_numpy(),
                                        "reason": reason}))

    def frame(self, source: str, lineage: pd.DataFrame) -> pd.DataFrame:
        if not self.parts:
            return empty_quarantine()
        p = pd.concat(self.parts, ignore_index=True)
        value = p["value"].astype(object)
        value = value.where(value.isna(), value.astype(str).str.slice(0, QUARANTINE_VALUE_CHARS))
        out = pd.DataFrame({
            "source": source,
            "file": lineage["source_file"].loc[p["row"]].to_numpy(),
            "line": lineage["source_line"].loc[p["row"]].to_numpy().astype("int64"),
            "column": p["column"].to_numpy(),
            "value": value.where(value.notna(), None).to_numpy(),
            "reason": p["reason"].to_numpy(),
            "expectation": None,
        })
        return out.sort_values(["file", "line", "column"], kind="stable", na_position="first").reset_index(drop=True)

    def rows(self) -> pd.Index:
        return pd.Index(pd.concat([p["row"] for p in self.parts]).unique()) if self.parts else pd.Index([])


def _check_text(frame: pd.DataFrame, src: Source, problems: _Problems) -> None:
    for col in src.column_names:
        problems.add(text_lengths(frame[col]) > MAX_FIELD_CHARS, col,
                     f"field over {MAX_FIELD_CHARS} characters")
    for c in src.columns:
        if not c.nullable:
            rule = "reject rule" if c.reject else "required by the contract"
            problems.add(frame[c.name].isna(), c.name, f"missing {c.name} ({rule})")
        if c.allowed is not None:
            bad = frame[c.name].notna() & ~frame[c.name].isin(c.allowed)
            problems.add(bad, c.name, f"{c.name} not in allowed set ({', '.join(c.allowed)})")


def _neighbour_versions(frame: pd.DataFrame, src: Source, t: LocalisedTimes) -> tuple[pd.Series, pd.Series]:
    """Bounds on a version timestamp from the previous and next version of the same
    record in extract order: a later version cannot have been updated earlier."""
    keys = list(src.key)
    ok = frame[keys].notna().all(axis=1) & t.first.notna()
    sub = frame.loc[ok, [*keys, "source_file", "source_line"]].assign(_lo=t.first[ok], _hi=t.second[ok])
    sub = sub.sort_values(["source_file", "source_line"], kind="stable")
    grouped = sub.groupby(keys, sort=False, dropna=False)
    return (grouped["_lo"].shift(1).reindex(frame.index).astype("datetime64[ns]"),
            grouped["_hi"].shift(-1).reindex(frame.index).astype("datetime64[ns]"))


def _convert_times(frame: pd.DataFrame, src: Source, problems: _Problems, *, timestamp_format: str,
                   date_format: str, tz: str) -> tuple[dict[str, pd.Series], pd.Series]:
    """Parse, localise and settle every time column; returns typed columns and time_flags."""
    typed: dict[str, pd.Series] = {}
    times: dict[str, LocalisedTimes] = {}
    for c in src.columns:
        if c.type == "text":
            continue
        fmt = timestamp_format if c.type == "timestamp" else date_format
        parsed = parse_local(frame[c.name], fmt)
        problems.add(frame[c.name].notna() & parsed.isna(), c.name,
                     f"unparsable {'timestamp' if c.type == 'timestamp' else 'date'} (expected {fmt})")
        if c.type == "date":
            typed[c.name] = parsed
        else:
            times[c.name] = localise(parsed, tz)
    neighbours = {}
    version = src.version_column
    if version in times and times[version].ambiguous.any():
        neighbours[version] = _neighbour_versions(frame, src, times[version])
    utc, ambiguous_first = resolve_ambiguous(times, TIME_ORDER.get(src.name, ()), neighbours)
    typed.update(utc)
    flags: dict[str, pd.Series] = {}
    for col, t in times.items():
        flags[f"{col}:{SPRING_GAP_SHIFTED}"] = t.gap
        flags[f"{col}:{AMBIGUOUS_FIRST}"] = ambiguous_first[col]
    for earlier, later in REJECT_ORDER.get(src.name, ()):
        problems.add(typed[later] < typed[earlier], later, f"{later} before {earlier}")
    return typed, time_flag_text(flags, frame.index)


def latest_wins(staged: pd.DataFrame, source: str) -> tuple[pd.DataFrame, int]:
    """One row per record key: the latest by the version column, then extract order
    (file name, then line). Returns the winners in extract order and how many lost.

    Only records that occur more than once are sorted (most keys are unique)."""
    src = SOURCES[source]
    keys = list(src.key)
    repeated = staged.duplicated(keys, keep=False)
    if not repeated.any():
        return staged.sort_values(["source_file", "source_line"], kind="stable").reset_index(drop=True), 0
    order = [c for c in (src.version_column, "source_file", "source_line") if c]
    versions = staged[repeated].sort_values(order, kind="stable", na_position="first")
    losers = versions.index[versions.duplicated(keys, keep="last")]
    winners = staged.drop(index=losers)
    return winners.sort_values(["source_file", "source_line"], kind="stable").reset_index(drop=True), len(losers)


def stage_records(raw: pd.DataFrame, source: str, *, value_maps: Mapping[str, Mapping[str, str]] | None = None,
                  timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT, date_format: str = DEFAULT_DATE_FORMAT,
                  tz: str = "Europe/London", queue_service: Mapping[str, str] | None = None) -> StagedRecords:
    """Check, type and normalise canonical text rows of one source.

    ``raw`` has the source's canonical columns as text (object str/None or Arrow
    strings) plus ``source_file`` and ``source_line``; text columns of ``staged`` are
    object str/None like every frame between stages. ``value_maps`` maps a council's codes to canonical ones per
    column; ``queue_service`` gives ``call_logs.service`` from the IVR queue.
    """
    src = SOURCES[source]
    lineage = raw[["source_file", "source_line"]]
    text = pd.DataFrame({c: strip_text(raw[c]) for c in src.column_names}, index=raw.index)
    problems = _Problems(text)
    frame = text.copy(deep=False)
    for col, codes in (value_maps or {}).items():
        frame[col] = map_values(frame[col], codes)
    _check_text(frame, src, problems)
    if source == "call_logs":
        frame["service"] = lookup(frame["queue"], queue_service or {})
        problems.add(frame["queue"].notna() & frame["service"].isna(), "queue", "unknown queue")
    frame = frame.join(lineage)
    typed, flags = _convert_times(frame, src, problems, timestamp_format=timestamp_format,
                                  date_format=date_format, tz=tz)
    for col, values in typed.items():
        frame[col] = values
    frame["time_flags"] = flags
    quarantine = problems.frame(source, lineage)
    bad = problems.rows()
    good = frame.drop(index=bad) if len(bad) else frame
    staged, superseded = latest_wins(_normalise_contacts(good[staged_columns(source)]), source)
    for col in staged.columns:
        if isinstance(staged[col].dtype, pd.ArrowDtype) or staged[col].dtype == object:
            staged[col] = to_object_text(staged[col])
    staged["source_line"] = staged["source_line"].astype("int64")
    return StagedRecords(staged, quarantine, superseded)


def _normalise_contacts(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns.intersection(PHONE_COLUMNS):
        frame[col] = normalise_phone(frame[col])
    for col in frame.columns.intersection(EMAIL_COLUMNS):
        frame[col] = normalise_email(frame[col])
    for col in frame.columns.intersection(POSTCODE_COLUMNS):
        frame[col] = normalise_postcode(frame[col])
    return frame


def merge_staged(previous: pd.DataFrame, new: pd.DataFrame, source: str,
                 replaced_files: Iterable[str] = ()) -> pd.DataFrame:
    """Fold a night's staged rows into what was staged before (incremental runs).

    Rows that came from a file re-delivered corrected are dropped first (the
    correction replaces them), then the latest version of each record wins across both.
    """
    replaced = set(replaced_files)
    kept = previous[~previous["source_file"].isin(replaced)] if replaced else previous
    both = pd.concat([kept[staged_columns(source)], new[staged_columns(source)]], ignore_index=True)
    for c in SOURCES[source].columns:
        if c.type != "text":  # a warehouse read may give dates as datetime.date objects
            both[c.name] = pd.to_datetime(both[c.name]).astype("datetime64[ns]")
    merged, _ = latest_wins(both, source)
    return merged
