"""Shared set-up for the DAG tests: a throw-away AIRFLOW_HOME and the parsed DagBag."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO / "dags"
PYTHON = sys.executable

# Before anything imports Airflow: never touch a developer's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(Path(tempfile.gettempdir()) / "journeys-test-airflow-home"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def _airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for an Airflow subprocess on its own AIRFLOW_HOME (SQLite unless told)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    })
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def airflow_env():
    """``airflow_env(home, **extra)``: the environment for an Airflow subprocess."""
    return _airflow_env


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))
