"""Every DAG file imports cleanly, quickly, and without the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

DAG_FILES = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))
HEAVY = ("pandas", "great_expectations", "splink", "duckdb", "pipeline.stages", "pipeline.warehouse.io")

# Parse one file the way the DAG processor does (Airflow itself already imported), and
# report how long the file took and which heavy modules it pulled in.
PROBE = """
import json, sys, time
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "errors": bag.import_errors,
                  "dags": sorted(bag.dags), "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_there_are_dag_files():
    assert [f.name for f in DAG_FILES] == ["journeys_build.py", "journeys_ingest.py"]


def test_dagbag_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == ["journeys_build", "journeys_build_partitioned", "journeys_ingest_crm",
                                   "journeys_ingest_telephony", "journeys_ingest_works"]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_and_light(dag_file, tmp_path, airflow_env):
    out = subprocess.run([sys.executable, "-c", PROBE, str(dag_file), *HEAVY], env=airflow_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["errors"] == {} and report["dags"]
    assert report["heavy"] == [], f"{dag_file.name} imports {report['heavy']} at parse time"
    assert report["seconds"] < 2.0, f"{dag_file.name} took {report['seconds']:.2f} s to parse"
