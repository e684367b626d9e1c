"""Run DAGs with ``dag.test()``, one after another, each for a given run date.

Run by tests/dags/test_chain.py in a subprocess on its own AIRFLOW_HOME (Airflow's
configuration is read once per process). Arguments: ``dag_id=YYYY-MM-DD`` steps.
Prints one JSON line: per step, the DAG run's state and its tasks' states.
"""

from __future__ import annotations

import json
import os
import sys

from airflow.dag_processing.dagbag import DagBag


def main(steps: list[str]) -> None:
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    report = []
    for step in steps:
        dag_id, run_date = step.split("=")
        run = bag.dags[dag_id].test(run_conf={"run_date": run_date})
        report.append({"dag_id": dag_id, "run_date": run_date, "state": str(run.state),
                       "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}})
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
