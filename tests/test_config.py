"""Config loads with documented defaults and fails loudly, naming the key."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, load_config, read_secret


def test_defaults_match_journeys_md():
    cfg = load_config(environ={})
    assert cfg.journeys.reopen_window_days == 28
    assert cfg.journeys.call_case_link_minutes == 60
    assert cfg.measures.capability_window_weeks == 13
    assert cfg.measures.small_number_threshold == 5
    assert cfg.timezone == "Europe/London"
    assert all(p.exists() for p in cfg.mappings.values())


def test_council_file_overrides_a_subset(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("journeys:\n  reopen_window_days: 14\n")
    cfg = load_config(f, environ={})
    assert cfg.journeys.reopen_window_days == 14
    assert cfg.journeys.call_case_link_minutes == 60


def test_environment_overrides_file(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("journeys:\n  reopen_window_days: 14\n")
    cfg = load_config(f, environ={"JOURNEYS_JOURNEYS__REOPEN_WINDOW_DAYS": "7",
                                  "JOURNEYS_WAREHOUSE_URL": "duckdb:///x.duckdb"})
    assert cfg.journeys.reopen_window_days == 7


def test_unknown_key_is_named(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("journeys:\n  reopen_window_dayz: 14\n")
    with pytest.raises(ConfigError, match="journeys.reopen_window_dayz"):
        load_config(f, environ={})


def test_wrong_type_is_named(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("measures:\n  small_number_threshold: lots\n")
    with pytest.raises(ConfigError, match="measures.small_number_threshold"):
        load_config(f, environ={})


def test_unknown_demand_type_rejected(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("journeys:\n  wrap_code_demand:\n    chase: chasing\n")
    with pytest.raises(ConfigError, match="unknown demand types"):
        load_config(f, environ={})


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_missing_secret_is_an_error_naming_the_variable():
    with pytest.raises(ConfigError, match="JOURNEYS_HMAC_SECRET"):
        read_secret("JOURNEYS_HMAC_SECRET", "journeys_hmac", environ={})


def test_secret_from_airflow_connection():
    env = {"AIRFLOW_CONN_JOURNEYS_HMAC": "generic://:s3cr%2Ft@"}
    assert read_secret("JOURNEYS_HMAC_SECRET", "journeys_hmac", environ=env) == "s3cr/t"


def test_top_level_keys_from_environment_and_config_file_variable(tmp_path):
    f = tmp_path / "council.yaml"
    f.write_text("journeys:\n  reopen_window_days: 21\n")
    cfg = load_config(environ={"JOURNEYS_WAREHOUSE_URL": "postgresql+psycopg://w@db/wh",
                               "JOURNEYS_LANDING_DIR": "/data/landing",
                               "JOURNEYS_CONFIG_FILE": str(f),
                               "JOURNEYS_HMAC_SECRET": "not-config"})
    assert cfg.warehouse_url == "postgresql+psycopg://w@db/wh"
    assert str(cfg.landing_dir) == "/data/landing"
    assert cfg.journeys.reopen_window_days == 21
