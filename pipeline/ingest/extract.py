"""One source's landing files (or query) -> staged rows, quarantine and an input ledger.

This is the shell around the pure staging core: it finds the deliveries, recognises
files already processed by their SHA-256, reads each through the source's mapping,
and hands the canonical text rows to ``pipeline.transforms.staging.stage_records``.
A file that cannot be read at all raises ``ExtractError`` before anything is returned,
so nothing half-read is ever written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import ConfigError
from pipeline.errors import ExtractError
from pipeline.ingest.mapping import SourceMapping
from pipeline.ingest.readers import (RawExtract, read_csv_bytes, read_parquet_file, read_sql_source,
                                     sha256_hex)
from pipeline.sources import SOURCES
from pipeline.transforms.normalise import TEXT
from pipeline.transforms.staging import (QUARANTINE_COLUMNS, QUARANTINE_VALUE_CHARS, empty_quarantine,
                                         stage_records, staged_columns)

INPUT_COLUMNS = ["source", "file", "sha256", "delivery", "rows_read", "rows_staged", "rows_quarantined"]
NEW, CORRECTED, DUPLICATE = "new", "corrected", "duplicate"
_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class IngestResult:
    """Frames of docs/stages.md section 1, plus a ``report`` of what was noticed:
    ``extra_columns`` and ``missing_nullable_columns`` per file, ``superseded`` rows."""

    staged: pd.DataFrame
    quarantine: pd.DataFrame
    inputs: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def corrected_files(self) -> list[str]:
        """Files whose earlier rows this delivery replaces (see ``merge_staged``)."""
        return self.inputs.loc[self.inputs["delivery"] == CORRECTED, "file"].tolist()


@dataclass
class _Delivery:
    file: str
    sha256: str
    delivery: str
    extract: RawExtract | None = None


def _label(file: str, digest: str, seen_names: set[str], seen_digests: set[str]) -> str:
    """new / corrected (same name, new bytes) / duplicate (identical bytes under any name)."""
    if digest in seen_digests:
        return DUPLICATE
    return CORRECTED if file in seen_names else NEW


def delivered_by(path: Path, until: dt.date | None) -> bool:
    """Files named from a date (``2026-11-26.csv``, ``2026-11-26-redelivered.csv``) belong
    to that run date: a rerun or backfill for an earlier date must not see them."""
    if until is None:
        return True
    match = _DATED.match(path.name)
    return match is None or dt.date.fromisoformat(match.group(1)) <= until


def _file_deliveries(source: str, landing_dir: Path, mapping: SourceMapping, seen: pd.DataFrame,
                     until: dt.date | None = None) -> list[_Delivery]:
    folder = landing_dir / source
    paths = sorted((p for p in folder.glob(mapping.file_glob) if p.is_file() and delivered_by(p, until)),
                   key=lambda p: p.relative_to(landing_dir).as_posix())
    seen_names, seen_digests = set(seen["file"]), set(seen["sha256"])
    out = []
    for path in paths:
        file = path.relative_to(landing_dir).as_posix()
        data = path.read_bytes()
        digest = sha256_hex(data)
        label = _label(file, digest, seen_names, seen_digests)
        seen_digests.add(digest)
        extract = None
        if label != DUPLICATE:
            extract = (read_parquet_file(path, file) if mapping.format == "parquet"
                       else read_csv_bytes(data, file, encoding=mapping.encoding, delimiter=mapping.delimiter))
        out.append(_Delivery(file, digest, label, extract))
    return out


def _sql_delivery(source: str, mapping: SourceMapping, seen: pd.DataFrame,
                  environ: Mapping[str, str] | None) -> list[_Delivery]:
    file = f"sql://{mapping.url_env or mapping.conn_id}/{source}"
    extract, digest = read_sql_source(mapping, file, environ)
    label = _label(file, digest, set(seen["file"]), set(seen["sha256"]))
    return [_Delivery(file, digest, label, None if label == DUPLICATE else extract)]


def conform_columns(extract: RawExtract, source: str, mapping: SourceMapping
                    ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Council columns -> canonical columns. Returns (frame with exactly the canonical
    columns plus lineage, extra council columns, missing nullable columns).

    A missing required column is an ``ExtractError`` naming it (and the council's name
    for it when the mapping renames it).
    """
    src = SOURCES[source]
    present = list(extract.frame.columns)
    clash = [c for c, canon in mapping.renames.items() if c in present and canon in present and c != canon]
    if clash:
        canon = mapping.renames[clash[0]]
        raise ExtractError(extract.file, f"both '{clash[0]}' (renamed by the mapping) and '{canon}' are present",
                           column=canon)
    frame = extract.frame.rename(columns=dict(mapping.renames))
    missing = [c for c in src.column_names if c not in frame.columns]
    for col in missing:
        if not src.column(col).nullable:
            council = mapping.source_column(col)
            hint = f" (the mapping reads it from '{council}')" if council != col else ""
            raise ExtractError(extract.file, f"missing required column{hint}", column=col)
    extras = [str(c) for c in frame.columns if c not in src.column_names]
    blank = pd.Series(pd.array([None] * len(frame), dtype=TEXT), index=frame.index)
    out = pd.DataFrame({c: frame[c] if c in frame.columns else blank for c in src.column_names}, index=frame.index)
    out["source_file"] = extract.file
    out["source_line"] = extract.lines
    return out, extras, missing


def _bad_row_quarantine(source: str, extract: RawExtract) -> pd.DataFrame:
    if not extract.bad_rows:
        return empty_quarantine()
    return pd.DataFrame({
        "source": source,
        "file": extract.file,
        "line": np.array([b[0] for b in extract.bad_rows], dtype="int64"),
        "column": None,
        "value": [b[1][:QUARANTINE_VALUE_CHARS] for b in extract.bad_rows],
        "reason": [b[2] for b in extract.bad_rows],
        "expectation": None,
    })


def _inputs_frame(source: str, deliveries: list[_Delivery], quarantine: pd.DataFrame) -> pd.DataFrame:
    read = {d.file: (len(d.extract.frame) + len(d.extract.bad_rows)) if d.extract else 0 for d in deliveries}
    bad = quarantine.drop_duplicates(["file", "line"]).groupby("file").size().to_dict()
    rows = []
    for d in deliveries:
        n_bad = int(bad.get(d.file, 0))
        rows.append((source, d.file, d.sha256, d.delivery, read[d.file], read[d.file] - n_bad, n_bad))
    frame = pd.DataFrame(rows, columns=INPUT_COLUMNS)
    return frame.astype({c: "int64" for c in ("rows_read", "rows_staged", "rows_quarantined")})


def ingest_source(source: str, landing_dir: Path, mapping: SourceMapping, *, queue_service: Mapping[str, str],
                  tz: str = "Europe/London", seen: pd.DataFrame | None = None,
                  environ: Mapping[str, str] | None = None, until: dt.date | None = None) -> IngestResult:
    """Read every delivery of ``source`` (files under ``landing_dir/<source>/`` in name
    order, or the mapping's SQL query) and stage it.

    ``seen`` holds ``source, file, sha256`` of versions processed before (the
    ``staging.processed_file`` table): identical bytes are skipped as ``duplicate``,
    a known name with new bytes is ``corrected``. ``tz`` is the run's time zone,
    unless the mapping names its own. ``environ`` (default ``os.environ``) holds the
    SQL source's URL. ``until`` leaves files dated after that run date unread.
    """
    if mapping.source != source:
        raise ConfigError(f"the mapping for {mapping.source} cannot be used for {source}")
    seen = seen if seen is not None else pd.DataFrame(columns=["source", "file", "sha256"])
    seen = seen[seen["source"] == source]
    if mapping.format == "sql":
        deliveries = _sql_delivery(source, mapping, seen, environ)
    else:
        deliveries = _file_deliveries(source, Path(landing_dir), mapping, seen, until)
    frames, bad_parts, extras, missing = [], [], {}, {}
    for d in deliveries:
        if d.extract is None:
            continue
        frame, extra, absent = conform_columns(d.extract, source, mapping)
        frames.append(frame)
        bad_parts.append(_bad_row_quarantine(source, d.extract))
        if extra:
            extras[d.file] = extra
        if absent:
            missing[d.file] = absent
    raw = (pd.concat(frames, ignore_index=True) if frames
           else pd.DataFrame(columns=[*SOURCES[source].column_names, "source_file", "source_line"]))
    result = stage_records(raw, source, value_maps=mapping.value_maps, timestamp_format=mapping.timestamp_format,
                           date_format=mapping.date_format, tz=mapping.timezone or tz, queue_service=queue_service)
    quarantine = pd.concat([q for q in [*bad_parts, result.quarantine] if len(q)] or [empty_quarantine()],
                           ignore_index=True)[QUARANTINE_COLUMNS]
    quarantine = quarantine.astype({"line": "int64"})
    inputs = _inputs_frame(source, deliveries, quarantine)
    report = {"extra_columns": extras, "missing_nullable_columns": missing, "superseded": result.superseded,
              "duplicates": [d.file for d in deliveries if d.delivery == DUPLICATE]}
    return IngestResult(result.staged[staged_columns(source)], quarantine, inputs, report)
