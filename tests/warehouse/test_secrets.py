"""The HMAC secret and the warehouse password never leave the process in clear text:
not in logs, not in pipeline_run rows, not in error messages, not in Data Docs."""

from __future__ import annotations

import logging
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import load_config, read_secret
from pipeline.errors import PublishError, ValidationFailed
from pipeline.validation.data_docs import render_data_docs
from pipeline.validation.validate import validate_outputs, validate_source
from pipeline.warehouse.publish import publish, record_run
from pipeline.warehouse.roles import init_database


@pytest.fixture()
def secret_login(pg_url):
    """A login with a password, member of the writer role; dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"analyst": f"ja_{suffix}", "writer": f"jw_{suffix}", "login": f"jl_{suffix}"}
    password = f"pw-{uuid.uuid4().hex}"
    yield names, password
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {', '.join(names.values())}")
        conn.exec_driver_sql(f"DROP ROLE {', '.join(names.values())}")
    engine.dispose()


@pytest.mark.postgres
def test_secrets_never_appear_in_logs_rows_errors_or_data_docs(pg_url, secret_login, outputs, run_row,
                                                               tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    names, password = secret_login
    hmac_secret = read_secret(load_config(environ={}).identity.hmac_secret_env)
    admin_url = sa.engine.make_url(pg_url).set(password=password)  # trust auth ignores it; it is still in the URL
    init_database(admin_url.render_as_string(hide_password=False), names["analyst"], names["writer"])
    with sa.create_engine(pg_url).begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {names['login']} LOGIN PASSWORD '{password}' IN ROLE {names['writer']}")
    url = sa.engine.make_url(pg_url).set(username=names["login"], password=password)
    engine = sa.create_engine(url)
    leaky = f"failed on {url.render_as_string(hide_password=False)} with key {hmac_secret}"

    def bad_audit(frames):
        raise RuntimeError(leaky)

    with pytest.raises(PublishError) as err:
        publish(engine, outputs, bad_audit, run_row("run-1"), secrets=[hmac_secret])
    record_run(engine, run_row("run-1", status="failed", error=leaky), secrets=[hmac_secret])

    rules = load_config(environ={}).validation
    staged = pd.DataFrame({"case_id": ["C1"], "email": [f"{hmac_secret}@example.org"]})  # fails: columns missing
    with pytest.raises(ValidationFailed) as failed:
        validate_source("crm_cases", staged, rules, pd.Timestamp("2026-11-26 23:59:59"), "run-2")
    source_rows = failed.value.results
    audit = lambda frames: validate_outputs(frames, rules, 5, "run-2")  # noqa: E731
    publish(engine, {**outputs, "validation_result": pd.DataFrame(source_rows)}, audit,
            run_row("run-2", error=leaky), secrets=[hmac_secret])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM published.pipeline_run").fetchall()
        results = conn.exec_driver_sql("SELECT * FROM published.validation_result").fetchall()
    engine.dispose()
    docs = render_data_docs(source_rows, tmp_path / "docs").parent

    recorded = " ".join(str(v) for row in [*rows, *results] for v in row)
    html = " ".join(p.read_text(errors="replace") for p in docs.rglob("*.html"))
    assert "***" in str(err.value) and "***" in recorded
    assert f"{names['login']}:***@" in caplog.text  # the URL was logged, masked
    for secret in (password, hmac_secret):
        assert secret not in caplog.text
        assert secret not in str(err.value) and secret not in str(failed.value)
        assert secret not in recorded
        assert secret not in html
