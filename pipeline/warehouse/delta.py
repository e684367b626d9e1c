"""An incremental publish in SQL: the night's changes to each table, and the table as
it would be after the swap.

A ``TableDelta`` says how one build output changes: the primary keys of the rows to
delete and the rows to insert (``deleted`` None: every row is replaced). Publishing
writes the inserted rows into the table's twin in the run's WAP schema (as a full
publish does) and the keys into ``<table>__delete`` (a primary key on the key columns,
so a key is never NULL and never listed twice). The swap (``apply_delta``) then
deletes the keys that go, updates in place the rows whose key is deleted and inserted
again, and inserts the new keys.

``after_swap`` evaluates, before anything is swapped, what the table-level
expectations need on ``(published minus deleted) UNION ALL inserted``. It reads only
the rows that can matter, relying on two facts about the rows a night keeps:

- they are unique on the primary key, because the published table has that PRIMARY
  KEY constraint, so a repeated key after the swap always involves an inserted row;
- their references held when they were published (the audit of every publication
  checks them, critically), so a kept row's reference can only break when the row it
  points to is deleted tonight (and not inserted again).

The counts are therefore those of the whole table after the swap, at about the cost of
the delta (plus a row count of each table). Every statement runs on DuckDB and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipeline.warehouse.io import is_duckdb, quote, read_frame, write_frame

DELETE_SUFFIX = "__delete"
# (table, column) -> (referenced table, column), as ``pipeline.validation.suites.REFERENCES``
References = Mapping[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class TableDelta:
    """How one published table changes: ``inserted`` rows, and the primary-key columns
    of the ``deleted`` rows (None: the whole table is replaced by ``inserted``)."""

    inserted: pd.DataFrame
    deleted: pd.DataFrame | None = None

    @property
    def whole(self) -> bool:
        return self.deleted is None


@dataclass(frozen=True)
class AfterSwap:
    """A table as it would be after the swap, as far as the table-level expectations
    read it: its row count, how many rows share their primary key with another (GX's
    count for a uniqueness expectation), and per referencing column how many non-NULL
    values are not found in the referenced table after the swap."""

    rows: int
    duplicate_key_rows: int
    broken_references: dict[str, int] = field(default_factory=dict)


def keys(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def deletion_table(table: sa.Table, schema: str) -> sa.Table:
    """``<schema>.<table>__delete``: the keys of the rows a night deletes."""
    return sa.Table(table.name + DELETE_SUFFIX, sa.MetaData(),
                    *[sa.Column(c.name, c.type, primary_key=True, autoincrement=False)
                      for c in table.primary_key.columns], schema=schema)


def twin_table(table: sa.Table, schema: str) -> sa.Table:
    """The constraint-free twin of a published table in a WAP schema."""
    return sa.Table(table.name, sa.MetaData(), *[sa.Column(c.name, c.type) for c in table.columns], schema=schema)


def write_delta(conn: Connection, table: sa.Table, schema: str, delta: TableDelta) -> None:
    """Create and fill the table's twin (inserted rows) and, for a keyed delta, its
    deletion table, in ``schema``; on PostgreSQL analyse them for the planner."""
    written = [twin_table(table, schema)] + ([] if delta.whole else [deletion_table(table, schema)])
    written[0].create(conn)
    write_frame(conn, table, delta.inserted, schema=schema)
    if not delta.whole:
        written[1].create(conn)
        write_frame(conn, written[1], delta.deleted[keys(table)])
    if not is_duckdb(conn):
        for t in written:
            conn.exec_driver_sql(f"ANALYZE {quote(conn, t)}")


def _cols(conn: Connection, names: list[str], alias: str | None = None) -> str:
    prep = conn.dialect.identifier_preparer
    return ", ".join((f"{alias}." if alias else "") + prep.quote(n) for n in names)


def _same(conn: Connection, columns: list[str], left: str, right: str) -> str:
    """SQL condition: rows ``left`` and ``right`` agree on ``columns``."""
    prep = conn.dialect.identifier_preparer
    return " AND ".join(f"{left}.{prep.quote(c)} = {right}.{prep.quote(c)}" for c in columns)


def _deleted(conn: Connection, table: sa.Table, schema: str, alias: str | None = None) -> str:
    """SQL condition: the published table's row (``alias``, else the table's qualified
    name) is deleted tonight. An ``EXISTS``, which PostgreSQL plans as a (anti-)join with
    the small deletion table rather than as a hashed filter on every published row."""
    same = _same(conn, keys(table), "x", alias or quote(conn, table))
    return f"EXISTS (SELECT 1 FROM {quote(conn, deletion_table(table, schema))} x WHERE {same})"


def removed_rows(conn: Connection, table: sa.Table, schema: str) -> pd.DataFrame:
    """The published rows a keyed delta deletes, as stored (what their hash was made of)."""
    return read_frame(conn, table, where=_deleted(conn, table, schema))


def apply_delta(conn: Connection, table: sa.Table, schema: str) -> None:
    """Make the published table ``(published minus deleted) UNION ALL inserted``, in the
    caller's transaction (the audit has made sure inserted keys are unique and clash
    with no kept row).

    A key both deleted and inserted (most are: a rebuilt journey keeps its id, an aging
    open journey only changes its durations) is updated in place; only keys that go are
    deleted and only new keys inserted. On DuckDB deleting keys under a primary-key
    index costs seconds at commit (~2 s per 50,000 keys of a million-row table) where
    updating the other columns costs next to nothing (benchmarks/publish_scale.py).
    """
    k = keys(table)
    target, twin, deletion = quote(conn, table), quote(conn, table, schema), quote(conn, deletion_table(table, schema))
    prep = conn.dialect.identifier_preparer

    def same(left: str, right: str) -> str:
        return _same(conn, k, left, right)

    conn.exec_driver_sql(f"DELETE FROM {target} WHERE ({_cols(conn, k)}) IN (SELECT {_cols(conn, k, 'd')} FROM "
                         f"{deletion} d WHERE NOT EXISTS (SELECT 1 FROM {twin} w WHERE {same('w', 'd')}))")
    others = [c.name for c in table.columns if c.name not in k]
    if others:
        assign = ", ".join(f"{prep.quote(c)} = w.{prep.quote(c)}" for c in others)
        conn.exec_driver_sql(f"UPDATE {target} AS p SET {assign} FROM {twin} w WHERE {same('p', 'w')} "
                             f"AND EXISTS (SELECT 1 FROM {deletion} d WHERE {same('d', 'w')})")
    cols = _cols(conn, [c.name for c in table.columns])
    conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {_cols(conn, [c.name for c in table.columns], 'w')} "
                         f"FROM {twin} w WHERE NOT EXISTS (SELECT 1 FROM {deletion} d WHERE {same('d', 'w')})")


def _scalar(conn: Connection, sql: str) -> int:
    return int(conn.exec_driver_sql(sql).scalar() or 0)


def _kept(conn: Connection, table: sa.Table, schema: str, alias: str, whole: bool) -> str:
    """SQL ``FROM ... WHERE`` of the published rows kept tonight (none when replaced whole)."""
    keep = "FALSE" if whole else f"NOT {_deleted(conn, table, schema, alias)}"
    return f"FROM {quote(conn, table)} {alias} WHERE {keep}"


def _row_count(conn: Connection, table: sa.Table, schema: str, whole: bool) -> int:
    inserted = _scalar(conn, f"SELECT count(*) FROM {quote(conn, table, schema)}")
    if whole:
        return inserted
    published = _scalar(conn, f"SELECT count(*) FROM {quote(conn, table)}")
    deletion, same = quote(conn, deletion_table(table, schema)), _same(conn, keys(table), "p", "x")
    gone = _scalar(conn, f"SELECT count(*) FROM {deletion} x WHERE EXISTS (SELECT 1 FROM {quote(conn, table)} p "
                         f"WHERE {same})")
    return published - gone + inserted


def _duplicate_key_rows(conn: Connection, table: sa.Table, schema: str, whole: bool) -> int:
    """Rows after the swap whose key another row has (NULL keys ignored, as GX does).
    Kept rows are unique (PRIMARY KEY), so only inserted keys are looked at."""
    k = keys(table)
    twin = quote(conn, table, schema)
    not_null = " OR ".join(f"{conn.dialect.identifier_preparer.quote(c)} IS NOT NULL" for c in k)
    rows = f"SELECT {_cols(conn, k)} FROM {twin} WHERE {not_null}"
    if not whole:
        rows += (f" UNION ALL SELECT {_cols(conn, k, 'p')} {_kept(conn, table, schema, 'p', whole)}"
                 f" AND EXISTS (SELECT 1 FROM {twin} w WHERE {_same(conn, k, 'p', 'w')})")
    return _scalar(conn, f"SELECT sum(n) FROM (SELECT count(*) AS n FROM ({rows}) r GROUP BY {_cols(conn, k)} "
                         f"HAVING count(*) > 1) d")


def _broken(conn: Connection, table: sa.Table, column: str, ref: sa.Table, schema: str,
            whole: Mapping[str, bool]) -> int:
    """Rows after the swap whose ``column`` is not NULL and not a key of ``ref`` after
    the swap: looked for among the inserted rows and the kept rows pointing at a
    deleted ``ref`` row that is not inserted again (most deleted keys are: an aging
    journey is rewritten under its own id). A key is in ``ref`` after the swap when it
    is inserted, or published and not deleted (``ref`` has a one-column primary key)."""
    prep = conn.dialect.identifier_preparer
    col, key = prep.quote(column), prep.quote(keys(ref)[0])
    candidates = f"SELECT {col} AS v FROM {quote(conn, table, schema)}"
    deletion, ref_twin = quote(conn, deletion_table(ref, schema)), quote(conn, ref, schema)
    if not whole[table.name]:
        gone = (f"SELECT d.{key} FROM {deletion} d "
                f"WHERE NOT EXISTS (SELECT 1 FROM {ref_twin} w WHERE w.{key} = d.{key})")
        pointing = "" if whole[ref.name] else f" AND p.{col} IN ({gone})"
        candidates += f" UNION ALL SELECT p.{col} {_kept(conn, table, schema, 'p', False)}{pointing}"
    inserted = f"EXISTS (SELECT 1 FROM {ref_twin} i WHERE i.{key} = c.v)"
    kept = "FALSE" if whole[ref.name] else (f"(EXISTS (SELECT 1 FROM {quote(conn, ref)} k WHERE k.{key} = c.v) "
                                            f"AND NOT EXISTS (SELECT 1 FROM {deletion} x WHERE x.{key} = c.v))")
    return _scalar(conn, f"SELECT count(*) FROM ({candidates}) c WHERE c.v IS NOT NULL AND NOT {inserted} "
                         f"AND NOT {kept}")


def after_swap(conn: Connection, tables: Mapping[str, sa.Table], schema: str, whole: Mapping[str, bool],
               references: References) -> dict[str, AfterSwap]:
    """``AfterSwap`` of every table in ``tables`` (by name), the night's delta being
    written in ``schema``; ``whole`` says which tables are replaced whole. On
    PostgreSQL JIT compilation is off for these queries: their cost estimates trigger
    it, and compiling takes longer than running them."""
    if not is_duckdb(conn):
        conn.exec_driver_sql("SET LOCAL jit = off")
    for (tname, col), (ref, ref_col) in references.items():
        if keys(tables[ref]) != [ref_col]:
            raise ValueError(f"{tname}.{col} refers to {ref}.{ref_col}, which is not {ref}'s primary key: "
                             "after_swap checks references to a one-column primary key only")
    out = {}
    for name, table in tables.items():
        broken = {col: _broken(conn, table, col, tables[ref], schema, whole)
                  for (tname, col), (ref, _) in references.items() if tname == name}
        out[name] = AfterSwap(rows=_row_count(conn, table, schema, whole[name]),
                              duplicate_key_rows=_duplicate_key_rows(conn, table, schema, whole[name]),
                              broken_references=broken)
    return out
