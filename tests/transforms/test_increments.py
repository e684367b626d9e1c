"""The pure parts of incremental nights: what changed, how far it reaches, splicing."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.sources import SOURCES
from pipeline.transforms import increments as inc
from pipeline.transforms.staging import staged_columns
from pipeline.warehouse.tables import journey_event as journey_event_table


def _staged(source: str, rows: list[dict]) -> pd.DataFrame:
    """A staged frame: every column of ``staging.<source>``, times as naive UTC."""
    frame = pd.DataFrame(rows, columns=staged_columns(source)).astype(object)
    for col in SOURCES[source].timestamp_columns:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    frame["source_line"] = frame["source_line"].astype("int64")
    return frame.where(frame.notna(), None) if frame.empty else frame


def _case(case_id: str, file: str, line: int, *, updated: str = "2026-03-01 10:00", closed: str | None = None,
          duplicate_of: str | None = None) -> dict:
    return dict(case_id=case_id, service="Highways", category="Pothole", channel="web", opened_at="2026-03-01 09:00",
                closed_at=closed, status="closed" if closed else "open", team="Highways", duplicate_of=duplicate_of,
                updated_at=updated, source_file=file, source_line=line)


def _call(call_id: str, file: str, line: int, *, started: str = "2026-03-02 09:00", parent: str | None = None,
          case_ref: str | None = None) -> dict:
    return dict(call_id=call_id, parent_call_id=parent, started_at=started, ended_at=started, queue="Highways",
                case_ref=case_ref, service="Highways", source_file=file, source_line=line)


def _works(work_order_id: str, file: str, line: int, *, case_ref: str | None = None,
           parent: str | None = None) -> dict:
    return dict(work_order_id=work_order_id, case_ref=case_ref, parent_work_order_id=parent, job_type="Repair",
                priority="P3", raised_at="2026-03-03 09:00", status="raised", team="Gang",
                updated_at="2026-03-03 09:00", source_file=file, source_line=line)


def _records(cases=(), events=(), calls=(), works=()) -> dict[str, pd.DataFrame]:
    return {"crm_cases": _staged("crm_cases", list(cases)),
            "crm_case_events": _staged("crm_case_events", list(events)),
            "call_logs": _staged("call_logs", list(calls)),
            "works_orders": _staged("works_orders", list(works))}


def _identity(cases: dict[str, str], calls: dict[str, tuple[str | None, str | None]] | None = None):
    record = pd.DataFrame({"case_id": list(cases), "person_id": list(cases.values())}, dtype=object)
    calls = calls or {}
    attribution = pd.DataFrame({"call_id": list(calls), "person_id": [p for p, _ in calls.values()],
                                "method": "test", "resolved_case_id": [c for _, c in calls.values()]}, dtype=object)
    return record, attribution.reindex(columns=["call_id", "person_id", "method", "resolved_case_id"])


NO_MEMBERSHIP = pd.DataFrame({"system": [], "source_ref": [], "journey_id": []}, dtype=object)


def _links(staged: dict[str, pd.DataFrame], identities, membership: pd.DataFrame = NO_MEMBERSHIP) -> inc.Links:
    return inc.link_graph(staged["crm_cases"], staged["call_logs"], staged["works_orders"], identities, membership)


def _seeds(cases=(), calls=(), works=()) -> inc.Seeds:
    return inc.Seeds(pd.Index(list(cases), dtype=object), pd.Index(list(calls), dtype=object),
                     pd.Index(list(works), dtype=object))


def _ids(seeds: inc.Seeds) -> dict[str, list[str]]:
    return {"cases": sorted(seeds.cases), "calls": sorted(seeds.calls), "works_orders": sorted(seeds.works_orders)}


# --------------------------------------------------------------------------- staging


def test_fold_night_takes_the_latest_version_across_nights():
    before = _staged("crm_cases", [_case("C1", "2026-03-01.csv", 1), _case("C2", "2026-03-01.csv", 2)])
    night = _staged("crm_cases", [_case("C1", "2026-03-02.csv", 1, updated="2026-03-02 10:00",
                                        closed="2026-03-02 09:30")])
    out = inc.fold_night(before, night, night, "crm_cases")
    assert sorted(out["case_id"]) == ["C1", "C2"]
    assert out.set_index("case_id").at["C1", "source_file"] == "2026-03-02.csv"


def test_fold_night_drops_a_record_whose_newest_version_was_quarantined():
    """As in a full run: the quarantined version wins latest-wins, so the older one is gone too."""
    before = _staged("crm_cases", [_case("C1", "2026-03-01.csv", 1)])
    night = _staged("crm_cases", [_case("C1", "2026-03-02.csv", 1, updated="2026-03-02 10:00")])
    out = inc.fold_night(before, night, night.iloc[0:0], "crm_cases")
    assert out.empty


def test_fold_night_keeps_a_record_when_a_quarantined_older_version_arrives_late():
    before = _staged("crm_cases", [_case("C1", "2026-03-02.csv", 1, updated="2026-03-02 10:00")])
    late = _staged("crm_cases", [_case("C1", "2026-02-20.csv", 7, updated="2026-02-20 10:00")])
    out = inc.fold_night(before, late, late.iloc[0:0], "crm_cases")
    assert out["source_file"].tolist() == ["2026-03-02.csv"]


def test_staging_changes_are_the_superseded_rows_and_the_new_ones():
    before = _staged("crm_cases", [_case("C1", "a.csv", 1), _case("C2", "a.csv", 2)])
    night = _staged("crm_cases", [_case("C1", "b.csv", 1, updated="2026-03-02 10:00"), _case("C3", "b.csv", 2)])
    after = inc.fold_night(before, night, night, "crm_cases")
    gone, added = inc.staging_changes(before, after)
    assert gone.to_dict("records") == [{"source_file": "a.csv", "source_line": 1}]
    assert sorted(added["case_id"]) == ["C1", "C3"]


# --------------------------------------------------------------------------- what changed


def test_fresh_and_replaced_files():
    consumed = pd.DataFrame({"source": ["crm_cases"] * 3, "file": ["a.csv", "b.csv", "c.csv"],
                             "sha256": ["1", "2", "3"]})
    current = pd.DataFrame({"source": ["crm_cases"] * 3, "file": ["a.csv", "b.csv", "d.csv"],
                            "sha256": ["1", "22", "4"]})
    assert inc.fresh_files(current, consumed).to_dict("records") == [
        {"source": "crm_cases", "file": "b.csv"}, {"source": "crm_cases", "file": "d.csv"}]
    assert inc.replaced_files(current, consumed) == ["b.csv", "c.csv"]


def test_changed_records_are_those_from_new_files_or_dated_after_the_last_as_of():
    staged = _records(
        cases=[_case("C1", "old.csv", 1), _case("C2", "new.csv", 1),
               _case("C3", "old.csv", 2, closed="2026-04-02 09:00", updated="2026-04-02 09:00")],
        events=[dict(case_id="C4", event_at="2026-04-02 08:00", event_type="note", source_file="old.csv",
                     source_line=1)],
        calls=[_call("K1", "old.csv", 1), _call("K2", "new.csv", 2)],
        works=[_works("W1", "new.csv", 3)])
    files = pd.DataFrame({"source": ["crm_cases", "call_logs", "works_orders"], "file": ["new.csv"] * 3})
    changed = inc.changed_records(staged, files, pd.Timestamp("2026-04-01 23:00"))
    assert _ids(changed) == {"cases": ["C2", "C3", "C4"], "calls": ["K2"], "works_orders": ["W1"]}


def test_changed_identity_lists_moves_arrivals_and_departures():
    old_record, old_calls = _identity({"C1": "P1", "C2": "P1", "C3": "P3"}, {"K1": ("P1", None), "K2": (None, None)})
    new_record, new_calls = _identity({"C1": "P1", "C2": "P2", "C4": "P4"}, {"K1": ("P1", "C1"), "K2": (None, None)})
    changed = inc.changed_identity(old_record, new_record, old_calls, new_calls)
    assert _ids(changed) == {"cases": ["C2", "C3", "C4"], "calls": ["K1"], "works_orders": []}


def test_an_identity_move_between_no_one_and_someone_is_a_change():
    old_record, old_calls = _identity({}, {"K1": (None, "C1"), "K2": ("P1", None), "K3": (None, None)})
    new_record, new_calls = _identity({}, {"K1": (None, None), "K2": (None, None), "K3": (None, None)})
    assert list(inc.changed_identity(old_record, new_record, old_calls, new_calls).calls) == ["K1", "K2"]


def test_seeds_union_counts_each_record_once():
    both = _seeds(cases=["C1", "C2"]).union(_seeds(cases=["C2"], calls=["K1"]))
    assert len(both) == 3 and _ids(both) == {"cases": ["C1", "C2"], "calls": ["K1"], "works_orders": []}


def test_vanished_records_are_journey_records_no_longer_staged():
    membership = pd.DataFrame({"system": ["crm", "telephony", "works", "crm"], "source_ref": ["C1", "K9", "W9", "C1"],
                               "journey_id": ["J1", "J1", "J1", "J1"]})
    staged = _records(cases=[_case("C1", "a.csv", 1)], calls=[_call("K1", "a.csv", 1)])
    record, calls = _identity({"C1": "P1", "C7": "P1"})  # C7: only in an identity map, in no journey
    vanished = inc.vanished_records(_links(staged, [(record, calls)], membership))
    assert _ids(vanished) == {"cases": [], "calls": ["K9"], "works_orders": ["W9"]}


# --------------------------------------------------------------------------- reach


def test_reach_spreads_through_people_references_and_old_journeys():
    staged = _records(
        cases=[_case("C1", "a.csv", 1), _case("C2", "a.csv", 2), _case("C3", "a.csv", 3, duplicate_of="c1 "),
               _case("C5", "a.csv", 5), _case("C6", "a.csv", 6)],
        calls=[_call("K1", "a.csv", 1), _call("K2", "a.csv", 2, parent="K1")],
        works=[_works("W1", "a.csv", 1, case_ref="C5"), _works("W2", "a.csv", 2, parent="W1")])
    record, calls = _identity({"C1": "P1", "C2": "P1", "C3": "P2", "C5": "P5", "C6": "P6"},
                              {"K1": ("P6", None), "K2": ("P6", None)})
    membership = pd.DataFrame({"system": ["crm", "crm"], "source_ref": ["C5", "C6"], "journey_id": ["J5", "J5"]})
    links = _links(staged, [(record, calls)], membership)

    one = inc.reach(links, _seeds(cases=["C3"]))
    assert sorted(one.cases) == ["C1", "C2", "C3"] and one.people == 2 and one.calls.empty

    two = inc.reach(links, _seeds(works=["W2"]))  # works order -> parent -> case -> old journey -> C6 -> P6's calls
    assert sorted(two.cases) == ["C5", "C6"] and sorted(two.calls) == ["K1", "K2"]
    assert sorted(two.works_orders) == ["W1", "W2"] and list(two.journeys) == ["J5"]


def test_an_ambiguous_reference_reaches_every_record_it_could_mean():
    """Reassembling only one of two look-alike cases would resolve a reference the full
    build leaves ambiguous."""
    staged = _records(cases=[_case("AB1", "a.csv", 1), _case("ab1", "a.csv", 2)],
                      works=[_works("W1", "a.csv", 1, case_ref="Ab 1")])
    record, calls = _identity({"AB1": "P1", "ab1": "P2"})
    assert sorted(inc.reach(_links(staged, [(record, calls)]), _seeds(works=["W1"])).cases) == ["AB1", "ab1"]


def test_a_reference_reaches_an_odd_id_by_its_key_and_an_exact_one_by_name():
    staged = _records(cases=[_case("C1", "a.csv", 1), _case("c 1", "a.csv", 2), _case("C2", "a.csv", 3),
                             _case("c2", "a.csv", 4), _case("C3", "a.csv", 5)],
                      works=[_works("W1", "a.csv", 1, case_ref="C1"), _works("W2", "a.csv", 2, case_ref="c2")])
    record, calls = _identity({})
    links = _links(staged, [(record, calls)])
    assert sorted(inc.reach(links, _seeds(works=["W1"])).cases) == ["C1", "c 1"]
    assert sorted(inc.reach(links, _seeds(works=["W2"])).cases) == ["C2", "c2"]


def test_record_links_label_each_link_by_kind_and_id():
    staged = _records(cases=[_case("C1", "a.csv", 1), _case("C2", "a.csv", 2, duplicate_of="c1")],
                      calls=[_call("K1", "a.csv", 1)])
    record, calls = _identity({"C1": "P1"}, {"K1": ("P1", "C2")})
    membership = pd.DataFrame({"system": ["telephony"], "source_ref": ["K1"], "journey_id": ["J1"]})
    edges = inc.record_links(staged["crm_cases"], staged["call_logs"], staged["works_orders"], [(record, calls)],
                             membership)
    assert edges.to_dict("records") == [{"a": "c:C2", "b": "c:C1"}, {"a": "k:K1", "b": "j:J1"},
                                        {"a": "c:C1", "b": "p:P1"}, {"a": "k:K1", "b": "p:P1"},
                                        {"a": "k:K1", "b": "c:C2"}]


def test_a_seed_with_no_links_reaches_only_itself():
    staged = _records(calls=[_call("K1", "a.csv", 1)])
    record, calls = _identity({}, {"K1": (None, None)})
    found = inc.reach(_links(staged, [(record, calls)]), _seeds(calls=["K9"]))
    assert list(found.calls) == ["K9"] and found.cases.empty and found.people == 0


def test_records_in_keeps_staging_order_and_identity_rows():
    staged = _records(cases=[_case("C2", "a.csv", 1), _case("C1", "a.csv", 2)],
                      events=[dict(case_id="C1", event_at="2026-03-01 09:00", event_type="created",
                                   source_file="a.csv", source_line=1)])
    record, calls = _identity({"C1": "P1", "C2": "P2"})
    reach = inc.Reach(cases=pd.Index(["C1", "C2"]), calls=pd.Index([]), works_orders=pd.Index([]),
                      journeys=pd.Index([]), people=2)
    out = inc.records_in(reach, staged, record, calls)
    assert out["crm_cases"]["case_id"].tolist() == ["C2", "C1"]
    assert len(out["crm_case_events"]) == 1 and len(out["person_record"]) == 2


# --------------------------------------------------------------------------- journeys


def _journey(journey_id: str, *, status: str = "met", started: str = "2026-03-01 09:00",
             ended: str | None = "2026-03-03 09:00", service: str = "Highways", category: str | None = "Pothole",
             e2e_hours: float | None = 48.0) -> dict:
    return dict(journey_id=journey_id, person_key="k", service=service, category=category, first_channel="web",
                postcode_district=None, status=status, started_at=pd.Timestamp(started),
                ended_at=pd.Timestamp(ended) if ended else pd.NaT, e2e_hours=e2e_hours,
                e2e_days=None if e2e_hours is None else e2e_hours / 24, contacts=1, value_contacts=1,
                failure_contacts=0, failure_progress_chase=0, failure_repeat=0, failure_complaint=0,
                failure_not_done_right=0, handoffs=0, teams=1, systems=1, works_orders=0, follow_on_works_orders=0,
                first_contact_resolution=False, clean=True)


def _event(journey_id: str, seq: int, at: str, *, demand: str | None = "value", failure: str | None = None) -> dict:
    return dict(journey_id=journey_id, seq=seq, event_at=pd.Timestamp(at), system="crm", source_ref="C" + journey_id,
                event_type="created", team="Highways", channel="web" if demand else None, demand_type=demand,
                failure_type=failure)


def test_splice_replaces_reached_journeys_and_keeps_the_rest():
    old = pd.DataFrame([_journey("J1"), _journey("J2")])
    new = pd.DataFrame([_journey("J2", status="open", ended=None), _journey("J3")])
    out = inc.splice(old, pd.Index(["J2"]), new)
    assert out["journey_id"].tolist() == ["J1", "J2", "J3"]
    assert out.set_index("journey_id").at["J2", "status"] == "open"


def test_changed_journeys_ignores_an_open_journeys_age():
    old_j = pd.DataFrame([_journey("J1", status="open", ended=None, e2e_hours=10.0), _journey("J2"), _journey("J3")])
    new_j = pd.DataFrame([_journey("J1", status="open", ended=None, e2e_hours=34.0), _journey("J2"),
                          _journey("J4")])
    old_e = pd.DataFrame([_event("J1", 1, "2026-03-01 09:00"), _event("J2", 1, "2026-03-01 09:00")])
    new_e = pd.DataFrame([_event("J1", 1, "2026-03-01 09:00"),
                          _event("J2", 1, "2026-03-01 09:00", demand="failure", failure="complaint")])
    assert sorted(inc.changed_journeys(old_j, old_e, new_j, new_e)) == ["J2", "J3", "J4"]


def test_exact_durations_age_open_journeys_and_restore_full_precision():
    journeys = pd.DataFrame([_journey("J1", status="open", ended=None, e2e_hours=1.0),
                             _journey("J2", ended="2026-03-01 09:00:01", e2e_hours=0.0002777),
                             _journey("J3", status="withdrawn", ended=None, e2e_hours=None)])
    out = inc.exact_durations(journeys, pd.Timestamp("2026-03-02 09:00"))
    assert out["e2e_hours"].iloc[0] == 24.0
    assert out["e2e_hours"].iloc[1] == 1 / 3600 and out["e2e_days"].iloc[1] == 1 / 3600 / 24
    assert pd.isna(out["e2e_hours"].iloc[2])


def test_retimed_journeys_are_kept_ones_whose_durations_moved():
    old = pd.DataFrame([_journey("J1", status="open", ended=None, e2e_hours=10.0), _journey("J2", e2e_hours=5.0),
                        _journey("J3", status="withdrawn", ended=None, e2e_hours=None), _journey("J4")])
    new = old.assign(e2e_hours=[34.0, 5.0, None, old["e2e_hours"].iloc[3]])[old["journey_id"] != "J4"]
    assert inc.retimed(old, new).tolist() == ["J1"]  # NULL equals NULL; J4 is not in both


def test_journey_delta_deletes_the_gone_journeys_rows_by_key():
    old = pd.DataFrame([_event("J1", 1, "2026-03-01 09:00"), _event("J1", 2, "2026-03-01 10:00"),
                        _event("J2", 1, "2026-03-01 09:00")])
    new = pd.DataFrame([_event("J1", 1, "2026-03-01 09:30")])
    delta = inc.journey_delta(old, pd.Index(["J1"]), new, journey_event_table)
    assert delta.deleted.to_dict("records") == [{"journey_id": "J1", "seq": 1}, {"journey_id": "J1", "seq": 2}]
    assert delta.inserted.equals(new) and not delta.whole


def test_count_proactive_works_orders():
    cases = _staged("crm_cases", [_case("C1", "a.csv", 1)])
    works = _staged("works_orders", [_works("W1", "a.csv", 1, case_ref="C1"), _works("W2", "a.csv", 2, parent="W1"),
                                     _works("W3", "a.csv", 3), _works("W4", "a.csv", 4, case_ref="C404")])
    assert inc.count_proactive(cases, works, pd.Timestamp("2026-06-30")) == 2


# --------------------------------------------------------------------------- aggregates

AS_OF = pd.Timestamp("2026-03-31 22:59:59")


def test_touched_groups_are_the_periods_of_contacts_and_of_the_end():
    journeys = pd.DataFrame([_journey("J1", started="2026-03-02 09:00", ended="2026-03-20 09:00"),
                             _journey("J2", started="2026-03-02 09:00", category=None)])
    events = pd.DataFrame([_event("J1", 1, "2026-03-02 09:00"), _event("J2", 1, "2026-03-02 09:00")])
    groups = inc.touched_groups(journeys, events, pd.Index(["J1"]), AS_OF, "Europe/London")
    keys = set(map(tuple, groups[["category", "period_type", "period"]].to_numpy()))
    assert keys == {("Pothole", "week", "2026-W10"), ("Pothole", "month", "2026-03"), ("Pothole", "week", "2026-W12")}
    none = inc.touched_groups(journeys, events, pd.Index(["J2"]), AS_OF, "Europe/London")
    assert set(none["category"]) == {"(none)"}


def test_measure_scope_holds_every_member_of_a_touched_group():
    journeys = pd.DataFrame([
        _journey("J1", started="2026-03-02 09:00", ended="2026-03-03 09:00"),   # contact and end in W10
        _journey("J2", started="2026-03-16 09:00", ended="2026-03-17 09:00"),   # W12 only
        _journey("J3", status="open", started="2026-03-16 09:00", ended=None),  # open: work in progress
        _journey("J4", started="2025-01-06 09:00", ended="2025-01-07 09:00"),   # long ago
    ])
    events = pd.DataFrame([_event(j, 1, t) for j, t in (("J1", "2026-03-02 09:00"), ("J2", "2026-03-16 09:00"),
                                                        ("J3", "2026-03-16 09:00"), ("J4", "2025-01-06 09:00"))])
    groups = inc.touched_groups(journeys, events, pd.Index(["J1"]), AS_OF, "Europe/London")
    groups = groups[groups["period_type"] == "week"]
    scoped, scoped_events = inc.measure_scope(journeys, events, groups, AS_OF, pd.Timestamp("2026-01-01"),
                                              "Europe/London")
    assert sorted(scoped["journey_id"]) == ["J1", "J2", "J3"]  # J2 by the capability window, J3 open
    assert scoped_events["journey_id"].tolist() == ["J1"]


def test_splice_measures_replaces_only_touched_groups():
    def rows(*values):
        return pd.DataFrame([{"service": "Highways", "category": "Pothole", "period_type": "week", "period": p,
                              "contacts": n} for p, n in values])

    previous = {name: rows(("2026-W10", 5), ("2026-W11", 6)) for name in inc.PERIODIC_MEASURES}
    rebuilt = {name: rows(("2026-W10", 99), ("2026-W11", 7), ("2026-W12", 8)) for name in inc.PERIODIC_MEASURES}
    previous["measure_wip"], rebuilt["measure_wip"] = rows(("old", 1)), rows(("new", 2))
    groups = pd.DataFrame({"service": ["Highways"] * 2, "category": ["Pothole"] * 2, "period_type": ["week"] * 2,
                           "period": ["2026-W11", "2026-W12"]})
    out = inc.splice_measures(previous, rebuilt, groups)
    assert dict(zip(out["measure_demand"]["period"], out["measure_demand"]["contacts"])) == {
        "2026-W10": 5, "2026-W11": 7, "2026-W12": 8}
    assert out["measure_wip"]["period"].tolist() == ["new"]


def test_measure_deltas_list_the_touched_groups_rows_and_replace_as_of_tables_whole():
    def rows(*values, channel=False):
        return pd.DataFrame([{"service": "Highways", "category": "Pothole", "period_type": "week", "period": p,
                              "contacts": n, **({"channel": "web"} if channel else {})} for p, n in values])

    previous = {name: rows(("2026-W10", 5), ("2026-W11", 6), channel=name == "measure_demand_channel")
                for name in inc.PERIODIC_MEASURES}
    rebuilt = {name: rows(("2026-W10", 99), ("2026-W12", 8), channel=name == "measure_demand_channel")
               for name in inc.PERIODIC_MEASURES}
    rebuilt["measure_wip"] = rows(("new", 2))
    groups = pd.DataFrame({"service": ["Highways"] * 2, "category": ["Pothole"] * 2, "period_type": ["week"] * 2,
                           "period": ["2026-W11", "2026-W12"]})
    deltas = inc.measure_deltas(previous, rebuilt, groups)
    demand = deltas["measure_demand"]
    assert demand.deleted.to_dict("records") == [
        {"service": "Highways", "category": "Pothole", "period_type": "week", "period": "2026-W11"}]
    assert demand.inserted["period"].tolist() == ["2026-W12"]
    assert deltas["measure_demand_channel"].deleted.columns.tolist()[-1] == "channel"  # the whole key
    assert deltas["measure_wip"].whole and deltas["measure_wip"].inserted["period"].tolist() == ["new"]


@pytest.mark.parametrize("removed", ["2026-W11"])
def test_splice_measures_drops_a_group_that_no_longer_exists(removed):
    frame = pd.DataFrame([{"service": "S", "category": "C", "period_type": "week", "period": removed, "contacts": 5}])
    previous = {name: frame for name in inc.PERIODIC_MEASURES}
    rebuilt = {name: frame.iloc[0:0] for name in inc.PERIODIC_MEASURES}
    groups = frame[["service", "category", "period_type", "period"]]
    assert all(f.empty for f in inc.splice_measures(previous, rebuilt, groups).values())
