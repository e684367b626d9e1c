"""Reading back what a publication left in the warehouse, and killing a publish half way,
for the publishing tests."""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipeline.warehouse import publish as wap
from pipeline.warehouse.hashing import table_hashes
from pipeline.warehouse.io import read_frame
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES

REPO = Path(__file__).resolve().parents[2]


def published(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {name: read_frame(conn, PUBLISHED_TABLES[name]) for name in BUILD_OUTPUTS}


def published_hashes(engine: sa.Engine) -> dict[str, str]:
    return table_hashes(published(engine), PUBLISHED_TABLES)


def wap_schemas(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [s for s in wap._schemas(conn) if s.startswith(wap.WAP_PREFIX)]


KILLED_CHILD = """
import pickle, sys, time
from pipeline.warehouse import publish as wap
from pipeline.warehouse.io import create_engine

url, payload_file = sys.argv[1], sys.argv[2]
payload, run = pickle.loads(open(payload_file, "rb").read())

def hold(conn):
    print("in-transaction", flush=True)
    time.sleep(300)

{call}
"""


def kill_inside_publish(url: str, payload: object, run: dict, call: str, tmp_path: Path) -> None:
    """Run ``call`` (a publish of ``payload`` as run ``run``, with ``before_commit=hold``)
    in a subprocess and SIGKILL it inside the publishing transaction."""
    script, payload_file = tmp_path / "child.py", tmp_path / "payload.pkl"
    script.write_text(KILLED_CHILD.format(call=call))
    payload_file.write_bytes(pickle.dumps((payload, run)))
    child = subprocess.Popen([sys.executable, str(script), url, str(payload_file)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        line = child.stdout.readline() if selector.select(timeout=90) else ""
        assert line.strip() == "in-transaction", child.stderr.read() if child.poll() is not None else "timed out"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
