"""B³ scoring on hand-computed clusterings."""

import pandas as pd
import pytest

from pipeline.evaluation import b_cubed


def test_identical_clusterings_score_one():
    s = pd.Series(["a", "a", "b"], index=[1, 2, 3])
    assert b_cubed(s, s) == (1.0, 1.0, 1.0)


def test_over_merge_costs_precision_not_recall():
    truth = pd.Series(["a", "a", "b", "b"], index=[1, 2, 3, 4])
    merged = pd.Series(["x"] * 4, index=[1, 2, 3, 4])
    p, r, f = b_cubed(merged, truth)
    assert p == pytest.approx(0.5) and r == 1.0 and f == pytest.approx(2 / 3)


def test_split_costs_recall_not_precision():
    truth = pd.Series(["a", "a"], index=[1, 2])
    split = pd.Series(["x", "y"], index=[1, 2])
    p, r, _ = b_cubed(split, truth)
    assert p == 1.0 and r == pytest.approx(0.5)
