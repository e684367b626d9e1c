"""Content hash of a published table: equal contents give equal hashes.

``pipeline_run.table_hashes`` lets an operator prove that a rerun on the same inputs
published the same thing (idempotency) and spot exactly which table changed between
runs. The hash must not depend on row order, on pandas dtypes (a nullable integer read
back as ``float64`` is still the same integer) or on how a driver returns values, so
every value is formatted canonically from its *declared* column type:

- rows are sorted by the canonical text of the primary key (all columns when there
  is none), so the order does not depend on dtypes;
- NULL is ``~``; any other value is ``<length>:<text>`` (so no separator can be forged);
- integers in decimal, booleans ``true``/``false``, floats in Arrow's shortest
  round-trip form of the 64-bit value (``60``, ``0.1``, ``1e+20``; ``-0.0`` is ``0``,
  NaN is NULL), timestamps ``YYYY-MM-DD HH:MM:SS.ffffff``, dates ``YYYY-MM-DD``, text
  as is;
- the header is the column names, each row one line, all hashed with SHA-256.

The formatting runs in Arrow compute kernels: a million-row table hashes in seconds,
where formatting value by value in Python took half a minute.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

NULL = "~"
_CHUNK = 200_000  # rows joined into one string at a time while hashing


def _canonical_text(values: pd.Series, type_: sa.types.TypeEngine) -> pa.Array:
    """Each value as canonical text (null for NULL), by the declared type."""
    if isinstance(type_, sa.Boolean):
        return pc.if_else(pa.array(values.astype("boolean"), type=pa.bool_()), "true", "false")
    if isinstance(type_, sa.Integer):
        return pc.cast(pa.array(pd.to_numeric(values).astype("Int64"), type=pa.int64()), pa.string())
    if isinstance(type_, sa.Float):
        floats = pa.array(pd.to_numeric(values).astype("float64"), from_pandas=True)  # NaN -> null
        return pc.cast(pc.add(floats, 0.0), pa.string())  # + 0.0 folds -0.0 into 0
    if isinstance(type_, sa.DateTime):
        stamps = pa.array(pd.to_datetime(values).astype("datetime64[ns]"), from_pandas=True)
        return pc.cast(pc.cast(stamps, pa.timestamp("us"), safe=False), pa.string())
    if isinstance(type_, sa.Date):
        return pc.cast(pa.array(pd.to_datetime(values).dt.date, type=pa.date32()), pa.string())
    text = values.astype(object).where(values.notna(), None)
    if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):
        text = text.map(lambda v: v if v is None else str(v))
    return pa.array(text, type=pa.string())


def _framed(text: pa.Array) -> pa.Array:
    """``<length>:<text>`` or ``~``: unambiguous however the text is made."""
    lengths = pc.cast(pc.utf8_length(text), pa.string())
    return pc.fill_null(pc.binary_join_element_wise(lengths, text, ":"), NULL)


def table_hash(frame: pd.DataFrame, table: sa.Table) -> str:
    """SHA-256 (hex) of ``frame``'s rows in ``table``'s declared columns, canonically formatted."""
    names = [c.name for c in table.columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise KeyError(f"frame for {table.fullname} lacks columns {missing}")
    framed = {c.name: _framed(_canonical_text(frame[c.name].reset_index(drop=True), c.type)) for c in table.columns}
    keys = [c.name for c in table.primary_key.columns] or names
    order = pc.sort_indices(pa.table({k: framed[k] for k in keys}), sort_keys=[(k, "ascending") for k in keys])
    lines = pc.binary_join_element_wise(*[framed[n] for n in names], "|") if len(names) > 1 else framed[names[0]]
    lines = lines.take(order)
    digest = hashlib.sha256(("|".join(names) + "\n").encode())
    for start in range(0, len(lines), _CHUNK):
        chunk = lines.slice(start, _CHUNK).to_pylist()
        digest.update(("\n".join(chunk) + "\n").encode())
    return digest.hexdigest()


def table_hashes(frames: dict[str, pd.DataFrame], tables: dict[str, sa.Table]) -> dict[str, str]:
    """``table_hash`` of each frame, by table name, in name order."""
    return {name: table_hash(frames[name], tables[name]) for name in sorted(frames)}
