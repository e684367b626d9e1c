"""What changed between two versions of a keyed table, row for row.

The identity map and the pair cache are rewritten every night in full by identity,
but only a few thousand of their million-odd rows differ from last night's; writing
just those keeps the publishing transaction short (on PostgreSQL above all).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from pipeline.transforms.measures import as_declared


def row_hashes(frame: pd.DataFrame, table: sa.Table) -> pd.Series:
    """A 64-bit hash of each row's values as ``table`` declares them (so a frame read
    back from the warehouse and one built in memory hash alike)."""
    return pd.Series(pd.util.hash_pandas_object(as_declared(frame, table), index=False).to_numpy(),
                     index=frame.index)


def keyed_changes(old: pd.DataFrame, new: pd.DataFrame, table: sa.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(primary keys of the ``old`` rows that are gone from ``new`` or differ in it, the
    ``new`` rows not in ``old`` as they are). Deleting the first and inserting the
    second turns a table holding ``old`` into one holding ``new``."""
    key = [c.name for c in table.primary_key.columns]
    before, after = row_hashes(old, table), row_hashes(new, table)
    gone = old.loc[~before.isin(after).to_numpy(), key].reset_index(drop=True)
    return gone, new[~after.isin(before).to_numpy()].reset_index(drop=True)
