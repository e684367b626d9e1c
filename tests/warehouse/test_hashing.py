"""Content hashes: equal contents give equal hashes, any change gives another."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.warehouse.hashing import table_hash, table_hashes
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
        "9f0ec2fa12125cb2a745ca22eba35eb2d5ccc2863355f43f4daf40ec2d7eabb1"
    hashes = table_hashes(outputs, PUBLISHED_TABLES)
    assert list(hashes) == sorted(outputs) and all(len(h) == 64 for h in hashes.values())


def test_missing_declared_column_is_named(outputs):
    with pytest.raises(KeyError, match=r"published.journey lacks columns \['clean'\]"):
        table_hash(outputs["journey"].drop(columns=["clean"]), journey)
