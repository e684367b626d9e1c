"""Incremental nights publish exactly what one full rebuild over the same files does.

The small council's landing files are delivered night by night into a fresh landing
folder (a first run, then a handful of nightly runs), with the awkward deliveries of a
real council: a file that arrives days late, an old file re-delivered corrected, a call
that pulls a met journey back open, and a newer version of a case that the source
suite quarantines (the record must then vanish, as it does in a full run). A full
rebuild of the final landing folder into another warehouse must publish identical
build outputs.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.stages import run_pipeline
from pipeline.warehouse import io
from pipeline.warehouse import tables as t

from .conftest import END

pytestmark = pytest.mark.slow

NIGHTS = 4
CSV = {"dtype": str, "keep_default_na": False}


@pytest.fixture(autouse=True)
def _signal_counts_pass_validation(monkeypatch):
    """The published suite rejects a capability chart with 1-4 points above UNPL as an
    unsuppressed small count, while the measures publish signal counts unsuppressed by
    design (docs/measures.md), so some as-of dates of this council fail validation in
    any mode. Until the two agree, these tests switch suppression off (threshold 1): the
    equivalence under test does not depend on it."""
    monkeypatch.setenv("JOURNEYS_MEASURES__SMALL_NUMBER_THRESHOLD", "1")


@pytest.fixture(autouse=True)
def _one_code_version(monkeypatch):
    """A commit landing in the working tree between two nights would make the second a
    full build ("the code changed"), as it should; these tests are about the data."""
    monkeypatch.setattr("pipeline.runs.code_version", lambda: "test-version")


def _day(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.name[:10])


def _deliver(council: Path, landing: Path, day: dt.date, withheld: set[str] = frozenset()) -> None:
    """Copy the council's files dated up to ``day`` that have not landed yet."""
    for f in sorted(council.glob("*/*.csv")):
        name = f"{f.parent.name}/{f.name}"
        dest = landing / name
        if _day(f) <= day and name not in withheld and not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)


def _published(url: str) -> dict[str, pd.DataFrame]:
    with io.create_engine(url).connect() as conn:
        frames = {name: io.read_frame(conn, t.PUBLISHED_TABLES[name]) for name in t.BUILD_OUTPUTS}
    keys = {name: [c.name for c in t.PUBLISHED_TABLES[name].primary_key.columns] for name in frames}
    return {name: f.sort_values(keys[name], ignore_index=True) for name, f in frames.items()}


def _query(url: str, sql: str) -> pd.DataFrame:
    with io.create_engine(url).connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn)


def _late_file(council: Path, first: dt.date) -> str:
    """A call file with rows, dated a few days before the first run: it will land late."""
    for f in sorted(council.glob("call_logs/*.csv"), reverse=True):
        if _day(f) <= first - dt.timedelta(days=2) and len(pd.read_csv(f, **CSV)):
            return f"call_logs/{f.name}"
    raise AssertionError("no call file with rows to deliver late")


def _correct_old_file(landing: Path, before: dt.date) -> str:
    """Re-deliver, corrected, an old case file: a case whose last version it holds gets
    another category. Returns the case id."""
    files = sorted(landing.glob("crm_cases/*.csv"))
    versions = pd.concat([pd.read_csv(f, **CSV).assign(_file=f.name) for f in files], ignore_index=True)
    last = versions.drop_duplicates("case_id", keep="last")
    candidates = last[last["_file"].map(lambda n: dt.date.fromisoformat(n[:10]) <= before)]
    case = candidates.iloc[-1]
    path = landing / "crm_cases" / case["_file"]
    frame = pd.read_csv(path, **CSV)
    frame.loc[frame["case_id"] == case["case_id"], "category"] = "Corrected category"
    frame.to_csv(path, index=False)
    return case["case_id"]


def _reopen_call(url: str, landing: Path, day: dt.date) -> str:
    """A chase quoting the seeding case of a met journey, on ``day``: the journey is
    pulled back open. Returns that journey's id."""
    met = _query(url, "SELECT j.journey_id, j.service, e.source_ref FROM published.journey j "
                      "JOIN published.journey_event e ON e.journey_id = j.journey_id "
                      "WHERE j.status = 'met' AND e.system = 'crm' AND e.seq = 1 ORDER BY j.journey_id")
    pick = met.iloc[0]
    call = {"call_id": "CALL-REOPEN-1", "parent_call_id": "", "caller_number": "",
            "started_at": f"{day} 10:00:00", "answered_at": f"{day} 10:00:40", "ended_at": f"{day} 10:06:00",
            "queue": pick["service"], "agent_id": "A999", "agent_team": "Contact Centre",
            "wrap_code": "progress_chase", "case_ref": pick["source_ref"]}
    pd.DataFrame([call]).to_csv(landing / "call_logs" / f"{day}-reopen.csv", index=False)
    return pick["journey_id"]


def _quarantined_newest_version(landing: Path, day: dt.date) -> str:
    """A newer version of an old case whose closure lies far in the future: staging takes
    it, the source suite quarantines it, so in a full run the case is gone (its older
    version lost latest-wins). Returns the case id."""
    files = sorted(landing.glob("crm_cases/*.csv"))
    versions = pd.concat([pd.read_csv(f, **CSV) for f in files], ignore_index=True)
    last = versions.drop_duplicates("case_id", keep="last")
    row = last[last["status"] == "closed"].iloc[0].copy()
    row["closed_at"] = f"{day + dt.timedelta(days=30)} 12:00:00"
    row["updated_at"] = f"{day} 12:00:00"
    pd.DataFrame([row]).to_csv(landing / "crm_cases" / f"{day}-late-correction.csv", index=False)
    return row["case_id"]


def test_nightly_runs_publish_what_a_full_rebuild_does(small_council: Path, tmp_path: Path):
    council, landing = small_council / "landing", tmp_path / "landing"
    nightly, rebuilt = (f"duckdb:///{tmp_path / name}.duckdb" for name in ("nightly", "rebuilt"))
    first = END - dt.timedelta(days=NIGHTS)
    late = _late_file(council, first)

    _deliver(council, landing, first, withheld={late})
    assert run_pipeline(first, warehouse_url=nightly, landing_dir=landing)["mode"] == "full"

    night = first + dt.timedelta(days=1)  # a file days late
    _deliver(council, landing, night)
    summary = run_pipeline(night, warehouse_url=nightly, landing_dir=landing)
    assert summary["mode"] == "incremental"
    assert summary["sources"]["call_logs"]["mode"] == "incremental"
    assert summary["increment"]["records_reassembled"]["call_logs"] >= 1
    assert summary["identity_report"]["linkage_mode"] == "incremental"  # the pair cache was used

    night += dt.timedelta(days=1)  # an old file re-delivered corrected
    _deliver(council, landing, night)
    corrected = _correct_old_file(landing, first - dt.timedelta(days=5))
    summary = run_pipeline(night, warehouse_url=nightly, landing_dir=landing)
    assert summary["sources"]["crm_cases"]["mode"] == "full", "a corrected file restages its source"
    assert "corrected" in summary["full_reason"]
    assert summary["identity_report"]["linkage_mode"] == "incremental", "the pair cache outlives a data-driven full build"
    assert corrected in set(_query(nightly, "SELECT case_id FROM staging.crm_cases "
                                            "WHERE category = 'Corrected category'")["case_id"])

    night += dt.timedelta(days=1)  # a met journey pulled back open
    _deliver(council, landing, night)
    reopened = _reopen_call(nightly, landing, night)
    summary = run_pipeline(night, warehouse_url=nightly, landing_dir=landing)
    assert summary["mode"] == "incremental"
    status = _query(nightly, f"SELECT status FROM published.journey WHERE journey_id = '{reopened}'")
    assert status["status"].tolist() == ["open"]

    night += dt.timedelta(days=1)  # a newest version the source suite quarantines
    assert night == END
    _deliver(council, landing, night)
    gone = _quarantined_newest_version(landing, night)
    summary = run_pipeline(night, warehouse_url=nightly, landing_dir=landing)
    assert summary["mode"] == "incremental"
    assert gone not in set(_query(nightly, "SELECT case_id FROM staging.crm_cases")["case_id"])
    assert len(_query(nightly, "SELECT * FROM quarantine.quarantine WHERE file LIKE '%late-correction%' "
                               "AND expectation IS NOT NULL")) >= 1

    full = run_pipeline(END, warehouse_url=rebuilt, landing_dir=landing, full=True)
    assert full["mode"] == "full" and full["identity_report"]["linkage_mode"] == "full"
    assert summary["table_hashes"] == full["table_hashes"]
    ours, theirs = _published(nightly), _published(rebuilt)
    for name in t.BUILD_OUTPUTS:
        pd.testing.assert_frame_equal(ours[name], theirs[name], obj=name)
    runs = _query(nightly, "SELECT mode FROM published.pipeline_run ORDER BY started_at")["mode"].tolist()
    assert runs == ["full", "incremental", "full", "incremental", "incremental"]


@pytest.mark.postgres
def test_full_rerun_on_postgres_publishes_the_same_tables(small_council: Path, tmp_path: Path, pg_url: str):
    """On PostgreSQL: a night's increment, then `journeys run --full` of the same date in
    the same warehouse (which keeps the identity map), publish identical tables."""
    council, landing = small_council / "landing", tmp_path / "landing"
    first = END - dt.timedelta(days=2)
    late = _late_file(council, first)
    _deliver(council, landing, first, withheld={late})
    run_pipeline(first, warehouse_url=pg_url, landing_dir=landing)
    _deliver(council, landing, END)
    nightly = run_pipeline(END, warehouse_url=pg_url, landing_dir=landing)
    assert nightly["mode"] == "incremental" and nightly["identity_report"]["linkage_mode"] == "incremental"
    before = _published(pg_url)
    full = run_pipeline(END, warehouse_url=pg_url, landing_dir=landing, full=True)
    assert full["mode"] == "full" and full["table_hashes"] == nightly["table_hashes"]
    after = _published(pg_url)
    for name in t.BUILD_OUTPUTS:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)
