"""run_suite: column-group splitting for big frames and dtype conversions must not
change any result."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from pipeline.validation import runner
from pipeline.validation.results import result_rows
from pipeline.validation.suites import load_suite
from pipeline.validation.validate import output_parameters


@pytest.mark.parametrize("table, column, bad", [("journey", "journey_id", "J-0002"), ("measure_demand", "contacts", 3)])
def test_split_and_whole_frame_validation_agree(outputs, monkeypatch, table, column, bad):
    frame = outputs[table].copy()
    frame.loc[0, column] = bad  # a duplicate key / a small number
    suite = load_suite(f"published_{table}")
    whole = result_rows(runner.run_suite(suite, frame, output_parameters(5)), "r")
    monkeypatch.setattr(runner, "SPLIT_ROWS", 0)
    split = result_rows(runner.run_suite(suite, frame, output_parameters(5)), "r")
    key = lambda r: r["expectation"]  # noqa: E731
    assert sorted(whole, key=key) == sorted(split, key=key)
    assert any(not r["success"] for r in split)


def test_nullable_numbers_narrow_integers_and_coarse_timestamps_become_vectorisable():
    frame = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "b": pd.array([True, None], dtype="boolean"),
                          "t": pd.to_datetime(["2026-01-01", None]).astype("datetime64[us]"), "s": ["a", None],
                          "i": np.array([2**31 - 1, -2**31], dtype="int32"), "u": np.array([0, 255], dtype="uint8"),
                          "f": [0.5, None], "k": np.array([True, False])})
    out = runner._vectorisable(frame)
    assert [str(t) for t in out.dtypes] == ["float64", "boolean", "datetime64[ns]", "object", "int64", "int64",
                                            "float64", "bool"]
    assert out["n"].isna().tolist() == [False, True]
    assert out["i"].tolist() == [2**31 - 1, -2**31] and out["u"].tolist() == [0, 255]
