"""Per-journey measures: the published journey columns."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.clock import as_of_for
from pipeline.transforms.journey_measures import JOURNEY_COLUMNS
from pipeline.warehouse.tables import journey as journey_table


def test_published_columns_less_person_key_plus_person_id(council):
    council.case("C1", "2026-03-02 09:00")
    journey = council.assemble().result.journey
    assert list(journey.columns) == JOURNEY_COLUMNS
    assert set(JOURNEY_COLUMNS) == {c.name for c in journey_table.columns} - {"person_key"} | {"person_id"}


def test_end_to_end_time_across_the_autumn_clock_change_is_utc_arithmetic(council):
    # Local clocks read 00:30 BST and 23:30 GMT on 25 Oct (23 h apart on the clock
    # face); the instants, in naive UTC, are exactly 24 h apart.
    council.case("C1", "2026-10-24 23:30", closed="2026-10-25 23:30")
    journey = council.assemble(as_of=str(as_of_for(dt.date(2026, 10, 31)))).of("C1")
    assert journey["e2e_hours"] == 24.0 and journey["e2e_days"] == 1.0


def test_age_of_an_open_journey_across_the_spring_clock_change(council):
    council.case("C1", "2026-03-28 12:00")
    as_of = as_of_for(dt.date(2026, 3, 29))  # 23:59:59.999999 BST = 22:59:59.999999 UTC
    journey = council.assemble(as_of=str(as_of)).of("C1")
    assert journey["status"] == "open"
    assert journey["e2e_hours"] == pytest.approx(35.0, abs=1e-6)


@pytest.mark.parametrize("build, expected", [
    (lambda c: c.call("K1", "2026-03-02 09:00", wrap="information_given"), True),
    (lambda c: c.case("C1", "2026-03-02 09:00", closed="2026-03-02 10:00"), True),
    (lambda c: c.case("C1", "2026-03-02 09:00", closed="2026-03-04 10:00")
                .works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00"), False),
    (lambda c: c.case("C1", "2026-03-02 09:00", closed="2026-03-04 10:00").call("K1", "2026-03-03 09:00"), False),
    (lambda c: c.case("C1", "2026-03-02 09:00"), False),
])
def test_first_contact_resolution(council, build, expected):
    build(council)
    assert bool(council.assemble().result.journey["first_contact_resolution"].iloc[0]) is expected


def test_clean_journey(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 10:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00")
    journey = council.assemble().of("C1")
    assert journey["clean"] and not journey["first_contact_resolution"]
    assert (journey["contacts"], journey["value_contacts"], journey["failure_contacts"]) == (1, 1, 0)


@pytest.mark.parametrize("spoil", [
    lambda c: c.call("K1", "2026-03-03 09:00", wrap="progress_chase"),  # failure demand
    lambda c: c.works_order("W2", "2026-03-03 12:00", parent="W1", completed="2026-03-04 09:00"),  # follow-on
    lambda c: c.event("C1", "2026-03-02 09:00", "created").event("C1", "2026-03-03 10:00", "reopened"),
])
def test_not_clean(council, spoil):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-04 10:00")
    council.works_order("W1", "2026-03-03 09:00", case_ref="C1", completed="2026-03-04 09:00")
    spoil(council)
    assert not council.assemble().of("C1")["clean"]


def test_end_to_end_is_empty_unless_met_or_open(council):
    council.case("C1", "2026-03-02 09:00", closed="2026-03-03 09:00", status="cancelled", reason=None)
    council.call("K1", "2026-03-02 09:00", person=None, answered=False)
    council.call("K2", "2026-03-02 09:00", person=None, wrap="progress_chase")
    journey = council.assemble().result.journey.set_index("status")
    assert journey.loc[["withdrawn", "abandoned", "unlinked"], "e2e_hours"].isna().all()


def test_postcode_district_of_the_problem_else_the_person(council):
    council.case("C1", "2026-03-02 09:00", location_postcode="LS6 1AA", postcode="BD1 1AA")
    council.case("C2", "2026-03-02 09:00", person="P2", postcode="bd11aa")
    council.case("C3", "2026-03-02 09:00", person="P3")
    out = council.assemble()
    assert [out.of(c)["postcode_district"] for c in ("C1", "C2", "C3")] == ["LS6", "BD1", None]


def test_first_channel_is_that_of_the_first_contact(council):
    council.call("K1", "2026-03-02 09:00")
    council.case("C1", "2026-03-02 09:30", channel="email")
    assert council.assemble().of("C1")["first_channel"] == "phone"


def test_service_and_category_of_the_seeding_record(council):
    council.case("C1", "2026-03-02 09:00", service="Waste", category="Missed bin")
    council.call("K1", "2026-03-02 09:00", person="P2", queue="General", wrap="information_given")
    out = council.assemble()
    assert tuple(out.of("C1")[["service", "category", "person_id"]]) == ("Waste", "Missed bin", "P1")
    assert tuple(out.of("K1")[["service", "category", "person_id"]]) == ("General Enquiries", None, "P2")


def test_started_at_is_the_first_event(council):
    council.call("K1", "2026-03-02 08:40")
    council.case("C1", "2026-03-02 09:00", channel="phone", closed="2026-03-02 12:40")
    journey = council.assemble().of("C1")
    assert journey["started_at"] == pd.Timestamp("2026-03-02 08:40")
    assert journey["e2e_hours"] == 4.0
