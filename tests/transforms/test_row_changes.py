"""Keyed row changes: what to delete and insert to turn one table version into the next."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.row_changes import keyed_changes
from pipeline.warehouse import tables as t


def test_changed_gone_and_new_rows_are_found_and_unchanged_rows_left_alone():
    old = pd.DataFrame({"call_id": ["L1", "L2", "L3"], "person_id": ["P1", "P2", None],
                        "method": ["phone", "phone", "withheld"], "resolved_case_id": [None, None, None]})
    new = pd.DataFrame({"call_id": ["L1", "L2", "L4"], "person_id": ["P1", "P9", "P4"],
                        "method": ["phone", "phone", "case_ref"], "resolved_case_id": [None, None, "C4"]})
    gone, added = keyed_changes(old, new, t.call_attribution)
    assert gone.to_dict("list") == {"call_id": ["L2", "L3"]}
    assert added["call_id"].tolist() == ["L2", "L4"]


def test_rows_read_back_with_other_dtypes_compare_as_declared():
    """An integer computed as int64 and read back as Int64 (or a float as object) is no change."""
    built = pd.DataFrame({"unique_id": ["a", "b"], "content_hash": [7, -3], "model_version": ["m1", "m1"],
                          "match_probability": [0.95, 0.95], "min_records": [10, 10]})
    read_back = built.astype({"content_hash": "Int64", "min_records": "Int64", "match_probability": object})
    gone, added = keyed_changes(read_back, built, t.link_record)
    assert gone.empty and added.empty
