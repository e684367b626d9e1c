"""Reading back what a publication left in the warehouse, for the publishing tests."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from pipeline.warehouse import publish as wap
from pipeline.warehouse.hashing import table_hashes
from pipeline.warehouse.io import read_frame
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES


def published(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {name: read_frame(conn, PUBLISHED_TABLES[name]) for name in BUILD_OUTPUTS}


def published_hashes(engine: sa.Engine) -> dict[str, str]:
    return table_hashes(published(engine), PUBLISHED_TABLES)


def wap_schemas(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [s for s in wap._schemas(conn) if s.startswith(wap.WAP_PREFIX)]
