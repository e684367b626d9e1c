"""Partitions of a full build: whole components, binned by service, exact journeys."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.transforms import partitions as part
from pipeline.transforms.increments import Reach, records_in
from pipeline.transforms.journeys import assemble_journeys

AS_OF = pd.Timestamp("2026-06-30 23:00")


def _plan(council, partitions: int) -> part.PartitionPlan:
    f = council.frames()
    return part.plan_partitions(f["cases"], f["calls"], f["works_orders"], f["person_record"],
                                f["call_attribution"], partitions)


def _partition_of(plan: part.PartitionPlan) -> dict[tuple[str, str], int]:
    return {(k, i): p for k, i, p in plan.assignment[["kind", "id", "partition"]].itertuples(index=False)}


def _cross_service(council):
    """P1 reports a pothole and, as a duplicate of it, a bin problem; P2 chases their
    housing repair on the Waste line quoting its ref; a works order hangs off P2's case;
    an unknown caller rings Council Tax; a works order has no case at all."""
    return (council
            .case("C1", "2026-03-01 09:00", person="P1", service="Highways", closed="2026-03-05 09:00")
            .case("C2", "2026-03-02 09:00", person="P1", service="Waste", category="Missed bin", duplicate_of="C1")
            .case("C3", "2026-03-01 10:00", person="P2", service="Housing Repairs", category="Leak")
            .call("K1", "2026-03-03 09:00", person="P2", queue="Waste", wrap="progress_chase", case_ref="C3")
            .works_order("W1", "2026-03-04 09:00", case_ref="C3", team="Repairs Gang")
            .call("K2", "2026-03-03 11:00", person=None, queue="Council Tax")
            .case("C4", "2026-03-06 09:00", person="P3", service="Waste", category="Missed bin")
            .call("K3", "2026-03-06 08:50", person="P3", queue="Waste")
            .works_order("W9", "2026-03-04 09:00"))


def test_people_and_references_tie_records_into_components(council):
    f = _cross_service(council).frames()
    nodes = part.components(f["cases"], f["calls"], f["works_orders"], f["person_record"], f["call_attribution"])
    component = nodes.set_index("node")["component"]
    assert component["c:C1"] == component["c:C2"] == component["p:P1"]  # a person and a duplicate
    assert component["c:C3"] == component["k:K1"] == component["w:W1"] == component["p:P2"]
    assert component["c:C4"] == component["k:K3"]
    assert len({component["c:C1"], component["c:C3"], component["k:K2"], component["c:C4"], component["w:W9"]}) == 5


def test_a_component_takes_the_service_of_its_smallest_record(council):
    f = _cross_service(council).frames()
    nodes = part.components(f["cases"], f["calls"], f["works_orders"], f["person_record"], f["call_attribution"])
    service = dict(zip(nodes["node"], part.component_services(nodes, f["cases"], f["calls"])))
    assert service["c:C2"] == service["c:C1"] == "Highways"  # not Waste: C1 < C2
    assert service["k:K1"] == service["w:W1"] == "Housing Repairs"  # the case, not the call's queue
    assert service["k:K2"] == "Council Tax"  # a call alone: its queue's service
    assert service["w:W9"] == part.NO_SERVICE


def test_services_are_binned_largest_first_into_the_lightest_bin():
    load = pd.Series({"Waste": 6, "Highways": 10, "Council Tax": 5, "General": 1})
    assert part.bin_services(load, 2).to_dict() == {"Highways": 0, "Waste": 1, "Council Tax": 1, "General": 0}
    assert part.bin_services(load, 1).to_dict() == dict.fromkeys(load.index, 0)
    assert sorted(set(part.bin_services(load, 9))) == [0, 1, 2, 3]  # never more bins than services
    with pytest.raises(ValueError, match="at least 1"):
        part.bin_services(load, 0)


def test_every_record_and_person_is_in_exactly_one_partition_with_its_component(council):
    plan = _plan(_cross_service(council), 3)
    assert not plan.assignment.duplicated(["kind", "id"]).any()
    where = _partition_of(plan)
    assert where[("c", "C1")] == where[("c", "C2")] == where[("p", "P1")]
    assert where[("c", "C3")] == where[("k", "K1")] == where[("w", "W1")] == where[("p", "P2")]
    assert len(where) == 4 + 3 + 2 + 3  # cases, calls, works orders, people
    assert plan.partitions == 3 and sorted(plan.services["partition"].unique()) == [0, 1, 2]
    assert plan.services["records"].sum() == 4 + 3 + 2


def test_partitions_assemble_exactly_the_journeys_of_a_whole_assembly(council):
    council = _cross_service(council)
    whole = council.assemble(str(AS_OF)).result
    f = council.frames()
    staged = {"crm_cases": f["cases"], "crm_case_events": f["case_events"], "call_logs": f["calls"],
              "works_orders": f["works_orders"]}
    plan = _plan(council, 3)
    journeys, events = [], []
    for p in range(plan.partitions):
        mine = plan.assignment[plan.assignment["partition"] == p]
        ids = {k: pd.Index(mine.loc[mine["kind"] == k, "id"]) for k in ("c", "k", "w")}
        records = records_in(Reach(cases=ids["c"], calls=ids["k"], works_orders=ids["w"], journeys=pd.Index([]),
                                   people=0), staged, f["person_record"], f["call_attribution"])
        jr = assemble_journeys(records["crm_cases"], records["crm_case_events"], records["call_logs"],
                               records["works_orders"], records["person_record"], records["call_attribution"],
                               council.rules, AS_OF)
        journeys.append(jr.journey)
        events.append(jr.journey_event)
    key = ["journey_id"]
    pd.testing.assert_frame_equal(pd.concat(journeys).sort_values(key, ignore_index=True),
                                  whole.journey.sort_values(key, ignore_index=True), check_dtype=False)
    pd.testing.assert_frame_equal(pd.concat(events).sort_values([*key, "seq"], ignore_index=True),
                                  whole.journey_event.sort_values([*key, "seq"], ignore_index=True),
                                  check_dtype=False)


def test_the_same_records_in_another_order_give_the_same_partitions(council):
    f = _cross_service(council).frames()
    plan = part.plan_partitions(f["cases"], f["calls"], f["works_orders"], f["person_record"],
                                f["call_attribution"], 2)
    shuffled = part.plan_partitions(*(f[k].iloc[::-1].reset_index(drop=True) for k in
                                      ("cases", "calls", "works_orders", "person_record", "call_attribution")), 2)
    assert _partition_of(plan) == _partition_of(shuffled)


def test_an_empty_council_is_one_empty_partition(council):
    plan = _plan(council, 4)
    assert plan.assignment.empty and plan.partitions == 1
