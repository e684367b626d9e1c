"""``journeys db init``: schemas, tables, comments and least-privilege roles.

Areas (``pipeline.warehouse.tables``): ``published`` is what analysts read;
``staging``, ``identity`` and ``quarantine`` hold raw and personal data and the
identity maps, readable by the pipeline only.

On PostgreSQL two group roles (NOLOGIN; grant them to real logins):

- the **writer** role owns every schema and table, so the pipeline's login (a member)
  can write, publish and create its ``wap_*`` schemas (CREATE on the database);
- the **analyst** role gets USAGE on ``published`` and SELECT on its tables, now and
  in future (``ALTER DEFAULT PRIVILEGES FOR ROLE writer``), and nothing on the
  restricted schemas, from which PUBLIC is revoked too.

Every statement is idempotent, so init can run on every deploy. DuckDB has no roles:
init creates schemas, tables and comments there, and access is controlled by the
file's permissions (docs/security.md).
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from pipeline.redact import redact_url
from pipeline.warehouse.io import create_engine, create_tables, is_duckdb
from pipeline.warehouse.tables import ALL_SCHEMAS, PUBLISHED, RESTRICTED_SCHEMAS, metadata

log = logging.getLogger(__name__)

ANALYST_ROLE = "journeys_analyst"
WRITER_ROLE = "journeys_writer"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment_statements(conn: Connection) -> list[str]:
    """COMMENT ON every declared table and column, from the declarations (re-applied
    each init so an edited description reaches the database)."""
    prep = conn.dialect.identifier_preparer
    out = []
    for table in metadata.sorted_tables:
        name = f"{prep.quote_schema(table.schema)}.{prep.quote(table.name)}"
        if table.comment:
            out.append(f"COMMENT ON TABLE {name} IS {_literal(table.comment)}")
        for col in table.columns:
            if col.comment:
                out.append(f"COMMENT ON COLUMN {name}.{prep.quote(col.name)} IS {_literal(col.comment)}")
    return out


def _role_statements(conn: Connection, analyst: str, writer: str) -> list[str]:
    prep = conn.dialect.identifier_preparer
    a, w = prep.quote(analyst), prep.quote(writer)
    database = prep.quote(conn.exec_driver_sql("SELECT current_database()").scalar_one())
    out = [
        # CREATE ROLE has no IF NOT EXISTS; roles are cluster-wide, so tolerate a race too.
        *(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(r)}) THEN "
          f"CREATE ROLE {prep.quote(r)} NOLOGIN; END IF; "
          f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
          for r in (writer, analyst)),
        f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {w}",
        f"GRANT CONNECT ON DATABASE {database} TO {a}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    for schema in ALL_SCHEMAS:
        s = prep.quote_schema(schema)
        out += [f"ALTER SCHEMA {s} OWNER TO {w}", f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC"]
    for table in metadata.sorted_tables:
        out.append(f"ALTER TABLE {prep.quote_schema(table.schema)}.{prep.quote(table.name)} OWNER TO {w}")
    p = prep.quote_schema(PUBLISHED)
    out += [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {p} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {p} TO {a}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {p} TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {w} IN SCHEMA {p} GRANT SELECT ON TABLES TO {a}",
    ]
    for schema in RESTRICTED_SCHEMAS:
        s = prep.quote_schema(schema)
        out += [
            f"REVOKE ALL ON SCHEMA {s} FROM {a}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC, {a}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {w} IN SCHEMA {s} REVOKE ALL ON TABLES FROM PUBLIC",
        ]
    return out


def init_database(url: str, analyst_role: str = ANALYST_ROLE, writer_role: str = WRITER_ROLE) -> list[str]:
    """Create (or bring up to date) the warehouse at ``url``; returns the statements run
    after table creation (roles, grants, comments), for the CLI to show.

    Run it as a database owner or superuser: it creates roles and hands ownership to
    the writer role.
    """
    engine = create_engine(url)
    log.info("initialising warehouse %s", redact_url(url))
    try:
        with engine.begin() as conn:
            create_tables(conn)  # schemas and every declared table
            # DuckDB has no roles or grants: comments only (restrict the file instead).
            statements = [] if is_duckdb(conn) else _role_statements(conn, analyst_role, writer_role)
            statements += _comment_statements(conn)
            percent = "%%" if conn.dialect.paramstyle in ("format", "pyformat") else "%"
            for statement in statements:
                conn.exec_driver_sql(statement.replace("%", percent))  # a literal % in a comment
    finally:
        engine.dispose()
    return statements
