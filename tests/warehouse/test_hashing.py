"""Content hashes: equal contents give equal hashes, any change gives another, and an
incremental update gives the hash of the resulting table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.warehouse.hashing import is_current, table_hash, table_hashes, updated_hash
from pipeline.warehouse.tables import PUBLISHED_TABLES, journey, journey_event


def test_row_order_does_not_matter(outputs):
    events = outputs["journey_event"]
    shuffled = events.sample(frac=1, random_state=3)
    assert table_hash(shuffled, journey_event) == table_hash(events, journey_event)


def test_dtypes_do_not_matter(outputs):
    j = outputs["journey"]
    as_read_back = j.astype({"contacts": "float64", "handoffs": "int32", "clean": object})
    as_read_back["started_at"] = as_read_back["started_at"].astype("datetime64[us]")
    as_read_back["extra"] = 1  # undeclared columns are not published, so not hashed
    assert table_hash(as_read_back, journey) == table_hash(j, journey)


@pytest.mark.parametrize("column, value", [
    ("status", "open"), ("e2e_hours", 60.000001), ("started_at", pd.Timestamp("2026-11-11 09:00:00.000001")),
    ("person_key", None), ("clean", True), ("contacts", 4),
])
def test_any_value_change_changes_the_hash(outputs, column, value):
    j = outputs["journey"]
    changed = j.copy()
    changed[column] = changed[column].astype(object)
    changed.at[0, column] = value
    assert table_hash(changed, journey) != table_hash(j, journey)


def test_null_empty_text_and_separators_cannot_collide():
    base = pd.DataFrame({c.name: [None] for c in journey_event.columns}).assign(journey_id="J", seq=1)
    hashes = {table_hash(base.assign(team=v), journey_event) for v in [None, "", "~", "a|1:b", "a"]}
    assert len(hashes) == 5
    split = base.assign(team="a|1:b", channel=None)
    moved = base.assign(team="a", channel="b")
    assert table_hash(split, journey_event) != table_hash(moved, journey_event)


def test_negative_zero_and_nan_are_canonical():
    base = pd.DataFrame({c.name: [None] for c in journey.columns}).assign(journey_id="J")
    assert table_hash(base.assign(e2e_hours=-0.0), journey) == table_hash(base.assign(e2e_hours=0.0), journey)
    assert table_hash(base.assign(e2e_hours=np.nan), journey) == table_hash(base.assign(e2e_hours=None), journey)


def test_hash_is_pinned(outputs):
    # A change here changes every published hash: say so in the release notes.
    assert table_hash(outputs["journey_event"], journey_event) == \
        "rowsum:6efdee617cd674baaa3fd1bdba188b61ef736c475a86536222030f720b4cf41f"
    hashes = table_hashes(outputs, PUBLISHED_TABLES)
    assert list(hashes) == sorted(outputs) and all(is_current(h) for h in hashes.values())


def test_an_updated_hash_equals_the_hash_of_the_resulting_table(outputs):
    events = outputs["journey_event"]
    kept, removed = events.iloc[:-3], events.iloc[-3:]
    added = removed.assign(team="Repairs North")  # the same keys, new values
    before = table_hash(events, journey_event)
    after = updated_hash(before, removed, added, journey_event)
    assert after == table_hash(pd.concat([added, kept]), journey_event) != before
    assert updated_hash(after, added, removed, journey_event) == before
    assert updated_hash(before, events.iloc[0:0], events.iloc[0:0], journey_event) == before


def test_an_updated_hash_reads_floats_as_the_full_hash_does(outputs):
    j = outputs["journey"]
    as_read_back = j.astype({"e2e_hours": "float32"}).astype({"e2e_hours": "float64"})  # a FLOAT column
    hashed = updated_hash(table_hash(j.iloc[:2], journey), j.iloc[0:0], as_read_back.iloc[2:], journey)
    assert hashed == table_hash(pd.concat([j.iloc[:2], as_read_back.iloc[2:]]), journey)


def test_a_repeated_row_counts_twice():
    row = pd.DataFrame({c.name: [None] for c in journey_event.columns}).assign(journey_id="J", seq=1)
    none, once, twice = (table_hash(pd.concat([row] * n) if n else row[:0], journey_event) for n in (0, 1, 2))
    assert len({none, once, twice}) == 3  # an XOR of row hashes would make twice == none


def test_only_hashes_of_this_definition_can_be_updated(outputs):
    events = outputs["journey_event"]
    assert not is_current("9f0ec2fa12125cb2a745ca22eba35eb2d5ccc2863355f43f4daf40ec2d7eabb1")  # an older one
    assert not is_current(None) and not is_current("rowsum:xyz")
    with pytest.raises(ValueError, match="not a rowsum: hash"):
        updated_hash("9f0ec2fa12125cb2a745ca22eba35eb2d5ccc2863355f43f4daf40ec2d7eabb1", events, events,
                     journey_event)


def test_missing_declared_column_is_named(outputs):
    with pytest.raises(KeyError, match=r"published.journey lacks columns \['clean'\]"):
        table_hash(outputs["journey"].drop(columns=["clean"]), journey)
