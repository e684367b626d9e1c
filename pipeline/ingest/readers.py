"""Bytes -> rows of text: CSV, Parquet and SQL sources all leave here as one shape.

Every reader returns a :class:`RawExtract` whose values are text in the council's own
column names, so the mapping and the staging rules apply the same way whatever the
format. CSV goes through ``pyarrow.csv`` (multi-threaded, every column read as
string); a file that cannot be read at all raises ``ExtractError`` naming the file and,
where there is one, the line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.config import ConfigError
from pipeline.errors import ExtractError
from pipeline.ingest.mapping import SourceMapping

BLOCK_SIZE = 16 << 20  # pyarrow CSV block; a row longer than this gets one retry with the whole file
TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class RawExtract:
    """One file's (or one query's) rows, every value text, council column names.

    ``lines`` holds each row's 1-based data row (header = 0); ``bad_rows`` lists rows
    that could not be split into the header's columns, as (line, text, reason).
    """

    file: str
    frame: pd.DataFrame
    lines: np.ndarray
    bad_rows: list[tuple[int, str, str]]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, file: str, encoding: str) -> tuple[bytes, str]:
    """UTF-8 bytes for pyarrow and the decoded text; a BOM means UTF-8 whatever the
    mapping says. Undecodable bytes raise, naming the data row they are on."""
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8"
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start)
        raise ExtractError(file, f"bytes {data[exc.start:exc.end]!r} at offset {exc.start} are not valid {encoding}",
                           line=line) from None
    return (data if codec == "utf-8" else text.encode("utf-8")), text


def _header(text: str, file: str, delimiter: str) -> list[str]:
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise ExtractError(file, "empty file: no header row")
    names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter))]
    names = [n or f"_unnamed_{i + 1}" for i, n in enumerate(names)]
    _unique(names, file)
    return names


def _unique(names: list[str], file: str) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ExtractError(file, "column appears more than once in the header", column=", ".join(dupes))


def _parse_csv(data: bytes, names: list[str], delimiter: str, block_size: int, use_threads: bool = True,
               ) -> tuple[pa.Table, list[tuple[int | None, str, int, int]]]:
    bad: list[tuple[int | None, str, int, int]] = []

    def keep_aside(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size,
                                       use_threads=use_threads),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=keep_aside),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    return table, bad


def read_csv_bytes(data: bytes, file: str, *, encoding: str = "utf-8", delimiter: str = ",") -> RawExtract:
    """Parse one CSV delivery. Rows with the wrong number of fields are set aside (to
    quarantine); everything else about a bad row is judged later by the staging rules."""
    utf8, text = _decode(data, file, encoding)
    utf8, text = utf8.lstrip(b"\r\n"), text.lstrip("\r\n")  # blank lines before the header
    names = _header(text, file, delimiter)
    try:
        try:
            table, bad = _parse_csv(utf8, names, delimiter, BLOCK_SIZE)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            table, bad = _parse_csv(utf8, names, delimiter, len(utf8) + 1)
        if bad and any(b[0] is None for b in bad):
            # multi-threaded parsing does not number rows; only re-read when needed
            table, bad = _parse_csv(utf8, names, delimiter, len(utf8) + 1, use_threads=False)
    except pa.ArrowInvalid as exc:
        raise ExtractError(file, f"not readable as CSV: {exc}") from None
    bad_rows = [(int(n) - 1, t, f"wrong number of fields (expected {e}, got {a})") for n, t, e, a in bad]
    bad_lines = {b[0] for b in bad_rows}
    total = table.num_rows + len(bad_rows)
    lines = np.array([i for i in range(1, total + 1) if i not in bad_lines] if bad_lines
                     else np.arange(1, total + 1), dtype="int64")
    return RawExtract(file, table.to_pandas(types_mapper=pd.ArrowDtype), lines, bad_rows)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A typed column as the text a CSV export would hold (timestamps without offset)."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            raise ValueError("has time-zone-aware timestamps; sources must give naive local time")
        return pc.strftime(column, format=TIMESTAMP_TEXT)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return pc.cast(column, pa.string())


def read_parquet_file(path: Path, file: str) -> RawExtract:
    """Parse one Parquet delivery; typed columns become text like a CSV's."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ExtractError(file, f"unreadable Parquet file: {exc}") from None
    _unique([n.strip() for n in table.column_names], file)
    columns = {}
    for name in table.column_names:
        try:
            columns[name.strip()] = _as_text(table[name])
        except (ValueError, pa.ArrowException) as exc:
            raise ExtractError(file, f"column cannot be read as text: {exc}", column=name) from None
    frame = pa.table(columns).to_pandas(types_mapper=pd.ArrowDtype) if columns else pd.DataFrame()
    return RawExtract(file, frame, np.arange(1, table.num_rows + 1, dtype="int64"), [])


def source_url(mapping: SourceMapping, environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL of a SQL source, from ``url_env`` or an Airflow connection
    (``AIRFLOW_CONN_<ID>``, URI or JSON form). The URL is never logged."""
    environ = os.environ if environ is None else environ
    name = mapping.url_env or f"AIRFLOW_CONN_{(mapping.conn_id or '').upper()}"
    raw = environ.get(name)
    if not raw:
        raise ConfigError(f"{mapping.source}: SQL source URL not set: export {name}=<SQLAlchemy URL>")
    if mapping.url_env:
        return raw
    return _airflow_conn_to_url(raw)


_AIRFLOW_SCHEMES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}


def _airflow_conn_to_url(raw: str) -> str:
    import sqlalchemy as sa

    if raw.lstrip().startswith("{"):
        conn = json.loads(raw)
        return sa.engine.URL.create(
            _AIRFLOW_SCHEMES.get(conn.get("conn_type", ""), conn.get("conn_type", "")),
            username=conn.get("login"), password=conn.get("password"), host=conn.get("host"),
            port=conn.get("port"), database=conn.get("schema")).render_as_string(hide_password=False)
    scheme, _, rest = raw.partition("://")
    rest, _, query = rest.partition("?")
    query = urlencode([(k, v) for k, v in parse_qsl(query) if k != "__extra__"])  # Airflow-only extras
    return f"{_AIRFLOW_SCHEMES.get(scheme, scheme)}://{rest}" + (f"?{query}" if query else "")


def _python_to_text(values: pd.Series) -> pd.Series:
    """Values a DB driver returned (str, int, Decimal, datetime, date...) as text."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values
    if kind in ("datetime", "datetime64"):
        if any(getattr(v, "tzinfo", None) is not None for v in values.dropna().head(1)):
            raise ValueError("has time-zone-aware timestamps; select naive local time "
                             "(e.g. col AT TIME ZONE 'Europe/London')")
        out = pd.to_datetime(values).dt.strftime(TIMESTAMP_TEXT)
    else:
        out = values.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v), na_action="ignore")
    return out.astype(object).where(values.notna(), None)


def read_sql_source(mapping: SourceMapping, file: str, environ: Mapping[str, str] | None = None,
                    ) -> tuple[RawExtract, str]:
    """Run the mapping's query against the source system; returns the rows and a
    SHA-256 of their text (so an unchanged result is recognised as a duplicate)."""
    import sqlalchemy as sa

    engine = sa.create_engine(source_url(mapping, environ))
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text(mapping.query))
            names = [str(k).strip() for k in result.keys()]
            rows = result.fetchall()
    except sa.exc.SQLAlchemyError as exc:
        raise ExtractError(file, f"query failed: {type(exc.orig or exc).__name__}: {exc.orig or exc}") from None
    finally:
        engine.dispose()
    _unique(names, file)
    columns = list(zip(*rows)) if rows else [()] * len(names)
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name, values in zip(names, columns):
        try:
            frame[name] = _python_to_text(pd.Series(values, dtype=object))
        except ValueError as exc:
            raise ExtractError(file, str(exc), column=name) from None
    digest = sha256_hex(frame.to_csv(index=False).encode("utf-8"))
    return RawExtract(file, frame, np.arange(1, len(frame) + 1, dtype="int64"), []), digest
