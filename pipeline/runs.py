"""A build's bookkeeping, shared by ``pipeline.stages`` and ``pipeline.partitions``.

The run row of ``pipeline_run`` (opened, summarised, closed or logged as failed),
stage timings, the audit step of Write-Audit-Publish, and saving the identity map
inside the publishing transaction: every way of building a night records its run
the same way.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.engine import Connection

from pipeline import __version__
from pipeline.config import Config
from pipeline.validation.results import validation_outcome
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

if TYPE_CHECKING:
    from pipeline.identity.resolve import IdentityResult
    from pipeline.stages import RunContext

log = logging.getLogger("pipeline")

Progress = Callable[[str], None]


def code_version() -> str:
    """Package version and, when run from a checkout, the git commit."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


@contextmanager
def timed(timings: dict[str, float], stage: str, progress: Progress | None) -> Iterator[None]:
    if progress:
        progress(stage)
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - start, 3)


IDENTITY_TABLES = ("person_record", "person", "call_attribution", "link_record", "link_pair")


def identity_saver(ident: IdentityResult,
                   previous: Mapping[str, pd.DataFrame | None] | None = None) -> Callable[[Connection], None]:
    """Writes the identity map and the pair cache inside the publishing transaction: the
    next night's increment compares against the map its publication was built with, so
    the two must never part (a run killed between them would leave them out of step).

    ``previous`` holds what each table holds now (as read at the start of the build):
    then only the rows that changed are deleted and inserted. A table not given, or
    mostly changed, is replaced whole (deleting most keys of a big table is slow)."""
    from pipeline.transforms.row_changes import keyed_changes

    def save(conn: Connection) -> None:
        for name in IDENTITY_TABLES:
            table, new = t.metadata.tables[f"identity.{name}"], getattr(ident, name)
            old = (previous or {}).get(name)
            if old is not None:
                gone, added = keyed_changes(old, new, table)
                if len(gone) <= len(old) // 2:
                    io.replace_rows(conn, table, gone, added)
                    continue
            io.write_frame(conn, table, new, replace=True)
        io.write_frame(conn, t.identity_audit, ident.identity_audit)

    return save


def auditor(cfg: Config, run_id: str, run_row: dict, source_rows: list[dict], timings: dict[str, float],
             progress: Progress | None) -> Callable:
    """The 'audit' of Write-Audit-Publish: the output suites on the frames as read back
    from the run's WAP schema -- whole tables, or an incremental night's inserted rows
    with each table's counts after the swap (``after``). It fills in the run row's
    outcome, Data Docs path and timings (the validation's share of validate-and-publish
    is timed here)."""
    from pipeline.validation.data_docs import render_data_docs
    from pipeline.validation.validate import validate_delta, validate_outputs

    def audit(staged: dict[str, pd.DataFrame], after: dict | None = None) -> list[dict]:
        with timed(timings, "validation", progress):
            threshold = cfg.measures.small_number_threshold
            rows = (validate_outputs(staged, cfg.validation, threshold, run_id) if after is None
                    else validate_delta(staged, after, cfg.validation, threshold, run_id))
            run_row["validation_outcome"] = validation_outcome(source_rows + rows)
            run_row["data_docs_path"] = str(render_data_docs(source_rows + rows, _docs_dir(cfg, run_id),
                                                             expectations_dir=cfg.validation.expectations_dir))
        if progress:
            progress("publish")
        run_row["timings"] = json.dumps(timings)
        run_row["ended_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
        return rows

    return audit


def source_validation_rows(frame: pd.DataFrame, run_id: str) -> list[dict]:
    """The source suites' results of the staging this build reads, under this run."""
    frame = frame.drop(columns="source").assign(run_id=run_id).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")  # NULL counts stay None, never NaN


def new_run_row(ctx: RunContext, missing_sources: Sequence[str] = ()) -> dict:
    return {
        "run_id": ctx.run_id, "as_of": ctx.as_of, "started_at": ctx.started_at, "ended_at": None,
        "status": "running", "mode": None, "code_version": code_version(),
        "missing_sources": ",".join(missing_sources),
    }


def _docs_dir(cfg: Config, run_id: str) -> Path:
    base = cfg.validation.data_docs_dir
    if base is None:
        url = cfg.warehouse_url
        base = (Path(url[len("duckdb:///"):]).parent if url.startswith("duckdb:///") else Path("gx_docs"))
        base = base / "data_docs"
    return Path(base) / run_id


def run_inputs(inputs: pd.DataFrame, run_id: str) -> pd.DataFrame:
    return inputs.assign(run_id=run_id)[[c.name for c in t.pipeline_run_input.columns]]


def input_summary(inputs: pd.DataFrame) -> dict:
    cols = ["source", "file", "sha256", "delivery", "rows_read", "rows_staged", "rows_quarantined"]
    records = inputs[cols].sort_values(["source", "file"]).to_dict("records")
    return {
        "inputs": json.dumps(records, default=int),
        "rows_read": int(inputs["rows_read"].sum()) if len(inputs) else 0,
        "rows_quarantined": int(inputs["rows_quarantined"].sum()) if len(inputs) else 0,
    }


def record_failure(ctx: RunContext, run_row: dict, exc: BaseException, validation_rows: list[dict],
                    timings: dict[str, float], secret_values: list[str]) -> None:
    """A failed run is logged in pipeline_run; nothing else published changes."""
    from pipeline.warehouse.publish import record_run

    run_row.update(status="failed", ended_at=pd.Timestamp.now(tz="UTC").tz_localize(None),
                   timings=json.dumps(timings), error=f"{type(exc).__name__}: {exc}"[:2000])
    run_row.setdefault("validation_outcome", validation_outcome(validation_rows) if validation_rows else None)
    try:
        record_run(ctx.engine, run_row, validation_rows=validation_rows, secrets=secret_values)
    except Exception:  # the original error matters more than the log row
        log.exception("could not record the failed run %s", ctx.run_id)
