"""References and parent chains, resolved once for rules 2, 4 and 5.

Three rules follow links between records of one source: ``duplicate_of`` between cases
(rule 2), ``parent_call_id`` between call legs (rule 4: legs are one contact) and
``parent_work_order_id`` between works orders (rule 5: a follow-on joins its parent).
Staff type references by hand, so a reference is matched exactly first and then
ignoring case and whitespace; and source data can hold a loop (A duplicate of B,
B duplicate of A), which must end in one deterministic root rather than hang the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.transforms.text import squeeze_upper


def normalise_ref(values: pd.Series) -> pd.Series:
    """A reference as staff might mistype it: whitespace removed, upper-cased (None stays None)."""
    return squeeze_upper(values)


def resolve_refs(refs: pd.Series, ids: pd.Series) -> pd.Series:
    """Each reference as one of ``ids``, or None.

    An exact match wins; otherwise the id that equals it once case and whitespace are
    ignored, provided only one id does (an ambiguous reference is left unresolved).
    """
    ids = pd.Series(ids.dropna().unique(), dtype=object)
    out = refs.astype(object).where(refs.isin(ids), None)
    todo = refs.notna() & out.isna()
    if todo.any():
        keys = normalise_ref(ids)
        unique = keys.drop_duplicates(keep=False)
        by_key = pd.Series(ids[unique.index].to_numpy(), index=unique.to_numpy())
        out.loc[todo] = normalise_ref(refs[todo]).map(by_key)
    return out.where(out.notna(), None).astype(object)


def chain_roots(ids: pd.Series, parents: pd.Series, rank: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The root of each record's parent chain, and whether the record sits on a loop.

    ``ids`` are unique; ``parents`` are already resolved to one of ``ids`` or None (a
    parent outside the data ends the chain). A chain that runs into a loop is rooted at
    the loop member with the lowest (``rank``, id) (e.g. the earliest opened), so the
    answer does not depend on row order. Vectorised by pointer jumping: log2(depth) passes.
    """
    n = len(ids)
    pos = pd.Index(ids)
    parent = pos.get_indexer(parents.where(parents.notna(), None))
    own = np.arange(n)
    parent = np.where((parent < 0) | (parent == own), own, parent)
    jump = parent.copy()
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))) + 1)):
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        jump = nxt
    looped = parent[jump] != jump  # a true root is its own parent; a loop member is not
    on_loop = np.zeros(n, dtype=bool)
    if looped.any():
        order, names = rank.to_numpy(), ids.to_numpy()
        loop_root: dict[int, int] = {}
        for start in np.unique(jump[looped]):
            if start in loop_root:
                continue
            members, node = [], int(start)
            while node not in members:
                members.append(node)
                node = int(parent[node])
            best = min(members, key=lambda m: (order[m], names[m]))
            for m in members:
                loop_root[m] = best
                on_loop[m] = True
        jump = jump.copy()
        jump[looped] = [loop_root[int(j)] for j in jump[looped]]
    return (pd.Series(ids.to_numpy()[jump], index=ids.index, dtype=object),
            pd.Series(on_loop, index=ids.index))
