"""References and parent chains (rules 2, 4 and 5 follow them)."""

from __future__ import annotations

import pandas as pd

from pipeline.transforms.chains import chain_roots, resolve_refs


def _s(*values) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def test_refs_match_exactly_then_ignoring_case_and_spaces():
    ids = _s("CAS-1", "CAS-2", "cas-3")
    assert resolve_refs(_s("CAS-1", " cas-2 ", "CAS- 3", "CAS-9", None), ids).tolist() == [
        "CAS-1", "CAS-2", "cas-3", None, None]


def test_ambiguous_refs_stay_unresolved():
    ids = _s("ab1", "AB1")
    assert resolve_refs(_s("ab1", "Ab1"), ids).tolist() == ["ab1", None]


def _roots(parents: dict[str, str | None], rank: dict[str, int] | None = None):
    ids = _s(*parents)
    rank = pd.Series([(rank or {}).get(i, 0) for i in parents])
    root, on_loop = chain_roots(ids, _s(*parents.values()), rank)
    return dict(zip(ids, root)), dict(zip(ids, on_loop))


def test_chains_end_at_their_root():
    roots, loops = _roots({"a": None, "b": "a", "c": "b", "d": "c", "e": None, "f": "zz"})
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "a", "e": "e", "f": "f"}
    assert not any(loops.values())


def test_a_long_chain():
    n = 1000
    roots, _ = _roots({f"n{i}": (f"n{i - 1}" if i else None) for i in range(n)})
    assert set(roots.values()) == {"n0"}


def test_loops_end_at_their_lowest_ranked_member_and_tails_follow():
    roots, loops = _roots({"a": "b", "b": "c", "c": "a", "t": "a", "u": "t", "x": "x"},
                          rank={"a": 3, "b": 1, "c": 2})
    assert roots == {"a": "b", "b": "b", "c": "b", "t": "b", "u": "b", "x": "x"}
    assert loops == {"a": True, "b": True, "c": True, "t": False, "u": False, "x": False}


def test_two_member_loop():
    roots, loops = _roots({"a": "b", "b": "a"}, rank={"a": 2, "b": 1})
    assert roots == {"a": "b", "b": "b"} and all(loops.values())
