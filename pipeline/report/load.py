"""Read what analysts may read: the published tables of the latest publication.

The report and the process-mining exports both start here, so neither can reach the
restricted area (raw extracts, identity maps) by accident: only tables declared in
the ``published`` schema are read, through the declared columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from pipeline.errors import PipelineError
from pipeline.warehouse.io import create_engine, read_frames, snapshot
from pipeline.warehouse.tables import PUBLISHED, PUBLISHED_TABLES, pipeline_run

# Runs whose outputs replaced the published tables (see pipeline_run.status).
PUBLISHING_STATUSES = ("succeeded", "incomplete")


class NothingPublishedError(PipelineError, LookupError):
    """The warehouse holds no publication to report on or export (the message says why)."""


@dataclass(frozen=True)
class Published:
    """The published tables as frames, with the run that published them."""

    run: dict
    frames: dict[str, pd.DataFrame]
    # The newest run, when it is newer than ``run`` and did not publish (e.g. failed).
    later_run: dict | None = None

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.frames[table]


def _missing_tables(conn: sa.Connection, names: list[str]) -> list[str]:
    # information_schema rather than SQLAlchemy's inspector: no reflection (see
    # stack-notes.md on duckdb-engine), and the same query on DuckDB and PostgreSQL.
    present = set(conn.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                               {"s": PUBLISHED}).scalars())
    return [n for n in names if n not in present]


def latest_runs(runs: pd.DataFrame) -> tuple[dict, dict | None]:
    """The run that made the current publication, and a newer run that did not publish.

    Published tables are replaced only by a run that succeeded (or published without a
    late source), so a failed run after it leaves them as that run left them.
    """
    if runs.empty:
        raise NothingPublishedError("pipeline_run is empty: nothing has been published yet (run `journeys run`)")
    ordered = runs.sort_values(["started_at", "run_id"], ascending=False)
    publishing = ordered[ordered["status"].isin(PUBLISHING_STATUSES)]
    if publishing.empty:
        raise NothingPublishedError(
            f"no run in pipeline_run has published (statuses seen: {sorted(ordered['status'].unique())})")
    run = publishing.iloc[0].to_dict()
    newest = ordered.iloc[0].to_dict()
    return run, (newest if newest["run_id"] != run["run_id"] else None)


def read_published(warehouse_url: str, tables: list[str]) -> Published:
    """The named published tables (and ``pipeline_run``) of the warehouse at ``warehouse_url``."""
    unknown = [t for t in tables if t not in PUBLISHED_TABLES]
    if unknown:
        raise ValueError(f"not published tables: {unknown}; published: {sorted(PUBLISHED_TABLES)}")
    wanted = list(dict.fromkeys([pipeline_run.name, *tables]))
    engine = create_engine(warehouse_url)
    try:
        with snapshot(engine) as conn:  # the run row and its tables of one moment, even mid-publish
            missing = _missing_tables(conn, wanted)
            if missing:
                raise NothingPublishedError(
                    f"{engine.url.render_as_string(hide_password=True)}: published tables {missing} do not exist "
                    "(create the warehouse with `journeys db init` and run `journeys run` first)")
            frames = read_frames(conn, {name: PUBLISHED_TABLES[name] for name in wanted})
    finally:
        engine.dispose()
    run, later = latest_runs(frames[pipeline_run.name])
    return Published(run=run, frames=frames, later_run=later)
