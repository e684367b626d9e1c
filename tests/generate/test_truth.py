"""The truth files are complete, consistent, and agree with journeys.md's rules when
those are re-applied here to the landing files (an independent reading)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import FAILURE_TYPES
from pipeline.generate.truth import JOURNEY_COLUMNS, RECORD_COLUMNS, STATUSES
from tests.generate.conftest import utc


@pytest.fixture(scope="module")
def keyed(council):
    """records.csv by (system, source_ref)."""
    return council.records.set_index(["system", "source_ref"])


def _journey(keyed, system, refs):
    return keyed.loc[[(system, r) for r in refs], "journey_id"].to_numpy()


def test_file_columns(council):
    assert list(council.records.columns) == RECORD_COLUMNS
    assert list(council.journeys.columns) == JOURNEY_COLUMNS


def test_every_record_is_in_exactly_one_journey_or_proactive(council):
    expected = set()
    for system, source, key in (("crm", "crm_cases", "case_id"), ("telephony", "call_logs", "call_id"),
                                ("works", "works_orders", "work_order_id")):
        expected |= {(system, ref) for ref in council.extracts[source][key].unique()}
    got = list(zip(council.records["system"], council.records["source_ref"]))
    assert len(got) == len(set(got)) and set(got) == expected
    assert (council.records.query("system != 'works'")["journey_id"] != "").all()
    journeys = set(council.journeys["journey_id"])
    used = set(council.records["journey_id"]) - {""}
    assert used == journeys  # no journey without records, no record in an unknown journey


def test_crm_records_carry_the_customer_id_the_extract_shows(council):
    """So the people scores can tell callers the CRM knows from those it never saw."""
    crm = council.records[council.records["system"] == "crm"].set_index("source_ref")["customer_id"]
    cases = council.latest("crm_cases").set_index("case_id")["customer_id"]
    assert crm.sort_index().equals(cases.reindex(crm.index).sort_index())
    assert (crm == "").any() and (crm != "").any()
    assert (council.records.loc[council.records["system"] != "crm", "customer_id"] == "").all()


def test_journey_measures_add_up(council):
    j = council.journeys
    assert set(j["status"]) <= set(STATUSES) and set(j["status"]) == set(STATUSES)
    assert not j["journey_id"].duplicated().any()
    assert (j["value_contacts"] == 1).all()
    assert (j["contacts"] == j["value_contacts"] + j["failure_contacts"]).all()
    assert (j["failure_contacts"] == j[[f"failure_{t}" for t in FAILURE_TYPES]].sum(axis=1)).all()
    met = j[j["status"] == "met"]
    assert (met["ended_at"] >= met["started_at"]).all() and (met["ended_at"] != "").all()
    assert (j.loc[j["status"] != "met", "ended_at"] == "").all()
    assert (j["handoffs"] >= 0).all()


def test_references_decide_membership(council, keyed):
    """Rule 4 (a resolving case_ref), rule 2 (duplicate_of), rule 5 (case_ref, parent)."""
    cases = council.latest("crm_cases")
    case_ids = set(cases["case_id"])
    calls = council.extracts["call_logs"]
    quoted = calls[calls["case_ref"].isin(case_ids)]
    assert (_journey(keyed, "telephony", quoted["call_id"]) == _journey(keyed, "crm", quoted["case_ref"])).all()
    dups = cases[cases["duplicate_of"] != ""]
    assert len(dups) > 0
    assert (_journey(keyed, "crm", dups["case_id"]) == _journey(keyed, "crm", dups["duplicate_of"])).all()
    wos = council.latest("works_orders")
    with_ref = wos[wos["case_ref"] != ""]
    assert (_journey(keyed, "works", with_ref["work_order_id"]) == _journey(keyed, "crm", with_ref["case_ref"])).all()
    follow_ons = wos[(wos["case_ref"] == "") & (wos["parent_work_order_id"] != "")]
    assert (_journey(keyed, "works", follow_ons["work_order_id"])
            == _journey(keyed, "works", follow_ons["parent_work_order_id"])).all()
    proactive = wos[(wos["case_ref"] == "") & (wos["parent_work_order_id"] == "")]
    assert len(proactive) > 0 and (_journey(keyed, "works", proactive["work_order_id"]) == "").all()


def test_status_follows_the_records(council, keyed):
    cases = council.latest("crm_cases").set_index("case_id")
    wos = council.latest("works_orders").set_index("work_order_id")
    calls = council.extracts["call_logs"].set_index("call_id")
    members = council.records[council.records["journey_id"] != ""].groupby("journey_id")
    for row in council.journeys.itertuples():
        recs = members.get_group(row.journey_id)
        my_cases = cases.loc[recs.loc[recs["system"] == "crm", "source_ref"]]
        my_wos = wos.loc[recs.loc[recs["system"] == "works", "source_ref"]]
        my_calls = calls.loc[recs.loc[recs["system"] == "telephony", "source_ref"]]
        if row.status == "met" and len(my_cases):
            assert (my_cases["status"] == "closed").all(), row.journey_id
            assert my_cases["closure_reason"].isin(
                ["resolved", "no_fault_found", "referred_elsewhere", "duplicate"]).all(), row.journey_id
            assert my_wos["status"].isin(["completed", "cancelled"]).all(), row.journey_id
            ends = pd.concat([my_cases["closed_at"], my_wos["completed_at"]])
            assert str(utc(ends[ends != ""]).max()) == row.ended_at, row.journey_id
        elif row.status == "met":
            assert len(my_calls) == 1 and my_calls["wrap_code"].iloc[0] == "information_given"
            assert str(utc(my_calls["ended_at"]).iloc[0]) == row.ended_at
        elif row.status == "withdrawn":
            assert ((my_cases["status"] == "cancelled") | (my_cases["closure_reason"] == "withdrawn")).all()
        elif row.status in ("abandoned", "unlinked"):
            assert len(my_cases) == 0 and len(my_wos) == 0
            assert (my_calls["answered_at"] == "").all() == (row.status == "abandoned")


def test_no_two_needs_that_rule_3_would_join(council, keyed):
    """Journeys of one person, service and category: each starts more than the
    reopen window after the previous one was met."""
    cases = council.latest("crm_cases")
    cases = cases.assign(journey_id=_journey(keyed, "crm", cases["case_id"]),
                         person_id=keyed.loc[[("crm", c) for c in cases["case_id"]], "person_id"].to_numpy(),
                         opened=utc(cases["opened_at"]))
    firsts = cases.sort_values("opened").drop_duplicates("journey_id")
    firsts = firsts.merge(council.journeys[["journey_id", "status", "ended_at"]], on="journey_id",
                          suffixes=("_case", ""))
    checked = 0
    for _, group in firsts.groupby(["person_id", "service", "category"]):
        rows = group.sort_values("opened").to_dict("records")
        for earlier, later in zip(rows, rows[1:]):
            assert earlier["status"] == "met", earlier["journey_id"]
            assert later["opened"] > pd.Timestamp(earlier["ended_at"]) + pd.Timedelta(days=28)
            checked += 1
    assert checked > 0


def _events(council, keyed) -> pd.DataFrame:
    """journeys.md's event list, read from the landing files."""
    calls = council.extracts["call_logs"]
    legs = pd.DataFrame({"system": "telephony", "ref": calls["call_id"], "seq": 0, "at": utc(calls["started_at"]),
                         "team": calls["agent_team"].where(calls["answered_at"] != "", "")})
    ev = council.extracts["crm_case_events"]
    ev = ev.assign(at=utc(ev["event_at"])).sort_values(["case_id", "at"])
    case_events = pd.DataFrame({"system": "crm", "ref": ev["case_id"], "seq": ev.groupby("case_id").cumcount(),
                                "at": ev["at"], "team": ev["team"]})
    wos = council.latest("works_orders")
    done = wos[wos["completed_at"] != ""]
    works = pd.concat([
        pd.DataFrame({"system": "works", "ref": wos["work_order_id"], "seq": 0, "at": utc(wos["raised_at"]),
                      "team": wos["team"]}),
        pd.DataFrame({"system": "works", "ref": done["work_order_id"], "seq": 1, "at": utc(done["completed_at"]),
                      "team": done["team"]})])
    events = pd.concat([legs, case_events, works], ignore_index=True)
    journey_of = council.records.set_index(["system", "source_ref"])["journey_id"]
    events["journey_id"] = journey_of.reindex(list(zip(events["system"], events["ref"]))).to_numpy()
    return events[events["journey_id"] != ""].sort_values(["journey_id", "at", "system", "ref", "seq"])


def test_handoffs_are_team_changes_between_consecutive_events(council, keyed):
    events = _events(council, keyed)
    teamed = events[events["team"] != ""]
    changed = teamed["team"] != teamed.groupby("journey_id")["team"].shift()
    first = ~teamed["journey_id"].duplicated()
    handoffs = (changed & ~first).groupby(teamed["journey_id"]).sum()
    truth = council.journeys.set_index("journey_id")["handoffs"]
    assert handoffs.reindex(truth.index, fill_value=0).equals(truth)
    assert truth.max() >= 4


def test_contacts_follow_the_phone_channel_case_rule(council, keyed):
    """Calls (legs chained as one) plus non-phone cases plus phone cases no call of
    the journey preceded by up to 60 minutes."""
    calls = council.extracts["call_logs"]
    roots = calls[calls["parent_call_id"] == ""]
    jid = council.records.set_index(["system", "source_ref"])["journey_id"]
    roots = roots.assign(journey_id=jid.reindex(list(zip(["telephony"] * len(roots), roots["call_id"]))).to_numpy(),
                         at=utc(roots["started_at"]))
    cases = council.latest("crm_cases")
    cases = cases.assign(journey_id=jid.reindex(list(zip(["crm"] * len(cases), cases["case_id"]))).to_numpy(),
                         at=utc(cases["opened_at"]))
    starts = roots.groupby("journey_id")["at"].apply(list)
    counted = 0
    for case in cases.itertuples():
        before = [s for s in starts.get(case.journey_id, []) if case.at - pd.Timedelta(minutes=60) <= s <= case.at]
        counted += case.channel != "phone" or not before
    contacts = council.journeys["contacts"].sum()
    assert contacts == len(roots) + counted
