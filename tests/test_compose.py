"""docker-compose.yaml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the vendored Compose specification schema, and
every Airflow service must run a command the native stack test
(tests/stack/test_native_stack.py) runs, so that test stands for the real stack.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "tests" / "data" / "compose" / "compose_spec.json"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-worker", "airflow-triggerer"}
MOUNTS = {"/opt/airflow/dags", "/opt/airflow/logs", "/opt/airflow/config", "/opt/airflow/plugins",
          "/opt/airflow/landing"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def native_stack_commands() -> dict[str, list[str]]:
    """The commands the native stack test starts, read from that test module."""
    path = REPO / "tests" / "stack" / "test_native_stack.py"
    spec = importlib.util.spec_from_file_location("native_stack", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SERVICE_COMMANDS


def test_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_schema_validation_catches_a_broken_service(compose):
    schema = json.loads(SCHEMA.read_text())
    broken = {**compose, "services": {**compose["services"], "redis": {**compose["services"]["redis"],
                                                                       "restart_policy": "always"}}}
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(broken))


def test_services_follow_the_official_celery_layout_plus_the_warehouse(compose):
    assert set(compose["services"]) == {"postgres", "redis", "warehouse", *AIRFLOW_SERVICES}


def test_every_airflow_service_runs_the_project_image_with_the_mounts(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        assert service["build"] == ".", name
        mounted = {volume.rsplit(":", 1)[-1] for volume in service["volumes"]}
        assert MOUNTS <= mounted, f"{name} lacks {MOUNTS - mounted}"
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["JOURNEYS_LANDING_DIR"] == "/opt/airflow/landing"


def test_every_airflow_command_is_one_the_native_stack_test_runs(compose):
    native = native_stack_commands()
    assert set(native) == AIRFLOW_SERVICES
    for name in AIRFLOW_SERVICES:
        command = compose["services"][name]["command"]
        words = shlex.split(command) if isinstance(command, str) else command
        assert words == native[name], f"{name}: compose runs {words}, the native stack test {native[name]}"


def test_no_secret_is_written_into_the_compose_file(compose):
    secretish = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$")
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secretish.search(key) and value:
                assert str(value).startswith("${") and ":?" in str(value), f"{name}.{key} must come from .env"
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "JOURNEYS_WAREHOUSE_URL"):
            url = (service.get("environment") or {}).get(key)
            if url:
                assert re.search(r":\$\{[A-Z_]+:\?[^}]*\}@", url), f"{name}.{key} password must be substituted"


def test_dockerfile_builds_on_the_airflow_we_test_with_and_installs_the_project():
    text = (REPO / "Dockerfile").read_text()
    pinned = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", text, re.M).group(1)
    assert pinned == version("apache-airflow"), "Dockerfile and the tested Airflow have drifted"
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python3\.11$", text, re.M)
    assert "'.[postgres]'" in text and '"apache-airflow==${AIRFLOW_VERSION}"' in text
    for copied in ("pyproject.toml", "pipeline", "expectations"):
        assert re.search(rf"^COPY .*\b{copied}\b", text, re.M), copied


def test_dockerignore_keeps_the_build_context_small_and_secret_free():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "landing", "warehouse", "*.duckdb"} <= ignored
    assert not {"pipeline", "expectations", "pyproject.toml", "README.md"} & ignored
