"""Building on the last publication: when it is allowed, and that the splice equals a
full build (a hand-made two-night scenario; tests/e2e/test_incremental.py runs whole
nights through the warehouse)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline import incremental
from pipeline.config import load_config
from pipeline.transforms.increments import in_key_order
from pipeline.transforms.journeys import assemble_journeys, journey_id_for
from pipeline.transforms.measures import build_measures
from pipeline.warehouse import io
from pipeline.warehouse import tables as t
from pipeline.warehouse.delta import TableDelta
from tests.transforms.conftest import Council

FIRST, SECOND = pd.Timestamp("2026-03-06 23:59:59"), pd.Timestamp("2026-03-20 23:59:59")
CFG = load_config(environ={})
VERSION = "0.1.0+abc"


def _files(*names: str) -> pd.DataFrame:
    return pd.DataFrame({"source": "crm_cases", "file": list(names), "sha256": [n + "-sha" for n in names]})


def _last(as_of: pd.Timestamp = FIRST, inputs: pd.DataFrame | None = None) -> incremental.LastPublication:
    return incremental.LastPublication("R1", as_of, VERSION, _files("a.csv") if inputs is None else inputs)


# --------------------------------------------------------------------------- when


def test_an_increment_builds_on_a_traceable_publication():
    assert incremental.full_build_reason(_last(), SECOND, VERSION, _files("a.csv", "b.csv"), False) is None


@pytest.mark.parametrize(("last", "version", "current", "requested", "reason"), [
    (None, VERSION, _files("a.csv"), False, "nothing has been published"),
    (_last(), VERSION, _files("a.csv"), True, "requested"),
    (_last(as_of=SECOND), VERSION, _files("a.csv"), False, "before that of the last publication"),
    (_last(), "0.2.0", _files("a.csv"), False, "code changed"),
    (_last(), VERSION, _files("b.csv"), False, "corrected or removed since the last publication: a.csv"),
    (_last(), VERSION, _files("a.csv").assign(sha256="new"), False, "a.csv"),
])
def test_a_full_build_says_why(last, version, current, requested, reason):
    assert reason in incremental.full_build_reason(last, FIRST, version, current, requested)


def test_a_changed_secret_makes_the_build_full():
    reason = incremental.full_build_reason(_last(), SECOND, VERSION, _files("a.csv"), False, secret_changed=True)
    assert "secret changed" in reason


def test_last_publication_ignores_failed_runs(warehouse_url):
    engine = io.create_engine(warehouse_url)
    run = {c.name: None for c in t.pipeline_run.columns}
    runs = pd.DataFrame([
        {**run, "run_id": "R1", "as_of": FIRST, "started_at": pd.Timestamp("2026-03-07 02:00"),
         "status": "succeeded", "code_version": VERSION},
        {**run, "run_id": "R2", "as_of": SECOND, "started_at": pd.Timestamp("2026-03-21 02:00"), "status": "failed"},
    ])
    inputs = pd.DataFrame([{"run_id": "R1", "source": "crm_cases", "file": "crm_cases/a.csv", "sha256": "s",
                            "delivery": "new", "rows_read": 1, "rows_staged": 1, "rows_quarantined": 0}])
    with engine.begin() as conn:
        io.create_tables(conn)
        assert incremental.last_publication(conn) is None
        io.write_frame(conn, t.pipeline_run, runs)
        io.write_frame(conn, t.pipeline_run_input, inputs)
    with engine.connect() as conn:
        last = incremental.last_publication(conn)
    assert (last.run_id, last.as_of, last.code_version) == ("R1", FIRST, VERSION)
    assert last.inputs.to_dict("records") == [{"source": "crm_cases", "file": "crm_cases/a.csv", "sha256": "s"}]


# --------------------------------------------------------------------------- what


def _nights() -> tuple[Council, Council, set[str]]:
    """Night one's records, both nights' records, and the refs that arrived (or changed) on night two."""
    def first(c: Council) -> Council:
        c.case("C1", "2026-03-02 09:00", closed="2026-03-05 09:00")                      # P1: met
        c.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00")
        c.case("C5", "2026-03-02 10:00", person="P5", closed="2026-03-03 10:00")         # P5: untouched
        c.case("C6", "2026-03-01 10:00", person="P6", closed="2026-03-08 10:00")         # closes after as-of
        c.call("K3", "2026-03-02 11:00", person=None, wrap="information_given")           # unattributed
        return c

    one = first(Council())
    one.case("C2", "2026-03-03 09:00", person="P2", category="Streetlight out")           # open
    two = first(Council())
    two.case("C2", "2026-03-03 09:00", person="P2", category="Streetlight out", closed="2026-03-09 09:00")
    two.call("K1", "2026-03-10 09:00", case_ref="C1", wrap="progress_chase")              # met -> open
    two.case("C4", "2026-03-11 09:00", person="P4", category="Streetlight out", duplicate_of="C2")
    two.call("K9", "2026-03-12 09:00", person=None, wrap=None, answered=False)            # new, abandoned
    return one, two, {"C2", "K1", "C4", "K9"}


def _staged(council: Council, fresh: set[str]) -> dict[str, pd.DataFrame]:
    frames = council.frames()
    out = {}
    for source, name, key in (("crm_cases", "cases", "case_id"), ("crm_case_events", "case_events", "case_id"),
                              ("call_logs", "calls", "call_id"), ("works_orders", "works_orders", "work_order_id")):
        frame = frames[name]
        new = frame[key].isin(fresh)
        out[source] = frame.assign(source_file=new.map({True: "b.csv", False: "a.csv"}).astype(object),
                                   source_line=range(1, len(frame) + 1), time_flags=None)
    return out


def _identity(council: Council) -> SimpleNamespace:
    frames = council.frames()
    record = frames["person_record"].dropna()
    person = pd.DataFrame({"person_id": sorted(record["person_id"].unique())})
    return SimpleNamespace(person_record=record, call_attribution=frames["call_attribution"],
                           person=person.assign(person_key="key-" + person["person_id"]))


def _build(staged: dict[str, pd.DataFrame], ident: SimpleNamespace, as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    jr = assemble_journeys(staged["crm_cases"], staged["crm_case_events"], staged["call_logs"],
                           staged["works_orders"], ident.person_record, ident.call_attribution, CFG.journeys, as_of)
    journey = in_key_order(jr.journey.merge(ident.person, how="left", on="person_id"))
    measures = build_measures(journey, jr.journey_event, CFG.measures, as_of, CFG.timezone)
    return {"journey": journey, "journey_event": jr.journey_event, **measures}


def _sorted(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    table = t.PUBLISHED_TABLES[name]
    keys = [c.name for c in table.primary_key.columns]
    return frame[[c.name for c in table.columns]].sort_values(keys, ignore_index=True)


def _applied(name: str, published: pd.DataFrame, delta: TableDelta) -> pd.DataFrame:
    """``published`` after the delta's swap: the deleted keys out, the inserted rows in."""
    if delta.whole:
        return delta.inserted
    keys = [c.name for c in t.PUBLISHED_TABLES[name].primary_key.columns]
    gone = published.merge(delta.deleted, on=keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    assert gone.sum() == len(delta.deleted), f"{name}: every deleted key is published"
    return pd.concat([published[~gone], delta.inserted], ignore_index=True)


def test_the_splice_equals_a_full_build():
    one, two, fresh = _nights()
    staged_one, staged_two = _staged(one, set()), _staged(two, fresh)
    ident_one, ident_two = _identity(one), _identity(two)
    published = _build(staged_one, ident_one, FIRST)
    last = incremental.LastPublication("R1", FIRST, VERSION, _files("a.csv"))

    update = incremental.update_journeys(staged_two, published, last, _files("a.csv", "b.csv"),
                                         ident_one.person_record, ident_one.call_attribution, ident_two, CFG, SECOND)
    measures = incremental.update_measures(update, published, CFG, SECOND)
    expected = _build(staged_two, ident_two, SECOND)

    ours = {"journey": update.journey, "journey_event": update.journey_event, **measures.tables}
    deltas = {**update.deltas, **measures.deltas}
    for name in t.BUILD_OUTPUTS:
        pd.testing.assert_frame_equal(_sorted(name, ours[name]), _sorted(name, expected[name]), obj=name,
                                      check_dtype=False)
        pd.testing.assert_frame_equal(_sorted(name, _applied(name, published[name], deltas[name])),
                                      _sorted(name, expected[name]), obj=f"{name} (published + delta)",
                                      check_dtype=False)
    assert update.report["records_reassembled"]["crm_cases"] == 4  # C1, C2, C4 and C6, not C5
    assert measures.groups > 0
    assert len(deltas["journey"].inserted) < len(update.journey), "a delta is not the whole table"
    c1, c6 = journey_id_for("crm:C1"), journey_id_for("crm:C6")
    before, after = (f.set_index("journey_id")["status"] for f in (published["journey"], update.journey))
    assert (before[c1], after[c1]) == ("met", "open"), "the chase pulls a met journey back open"
    assert (before[c6], after[c6]) == ("open", "met"), "a closure dated after the last as-of now counts"
