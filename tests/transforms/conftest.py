"""Shared fixtures for the transforms tests.

``council``: a tiny builder of staged frames for journey scenarios, so each test reads
like the scenario it checks (who called, which case was opened, when it closed).
Times are naive UTC strings; people, cases and calls are synthetic.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from pipeline.config import DEFAULTS_FILE, JourneyRules
from pipeline.sources import SOURCES
from pipeline.transforms.journeys import JourneyResult, assemble_journeys


def default_rules(**changes) -> JourneyRules:
    """The ``journeys`` section of defaults.yaml, with optional overrides."""
    section = yaml.safe_load(DEFAULTS_FILE.read_text())["journeys"]
    return JourneyRules(**{**section, **changes})


def _ts(value):
    return None if value is None else pd.Timestamp(value)


def _frame(source: str, rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    spec = SOURCES[source]
    columns = spec.column_names + list(extra)
    frame = pd.DataFrame(rows, columns=columns).astype(object)
    for col in spec.timestamp_columns:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in columns:
        if col not in spec.timestamp_columns:
            frame[col] = frame[col].where(frame[col].notna(), None)
    return frame


class Council:
    """Staged CRM, telephony and works-order rows for one scenario."""

    def __init__(self, rules: JourneyRules | None = None):
        self.rules = rules or default_rules()
        self.cases: list[dict] = []
        self.events: list[dict] = []
        self.calls: list[dict] = []
        self.works: list[dict] = []
        self.people: dict[str, str | None] = {}
        self.attribution: list[dict] = []

    def case(self, case_id: str, opened: str, *, person: str | None = "P1", service: str = "Highways",
             category: str = "Pothole", channel: str = "web", closed: str | None = None,
             reason: str | None = "resolved", status: str | None = None, team: str = "Highways",
             duplicate_of: str | None = None, location_uprn: str | None = None, location_usrn: str | None = None,
             location_postcode: str | None = None, postcode: str | None = None,
             updated: str | None = None) -> "Council":
        status = status or ("closed" if closed else "open")
        self.cases.append(dict(
            case_id=case_id, service=service, category=category, channel=channel, opened_at=_ts(opened),
            closed_at=_ts(closed), status=status, closure_reason=reason if status != "open" else None, team=team,
            duplicate_of=duplicate_of, location_uprn=location_uprn, location_usrn=location_usrn,
            location_postcode=location_postcode, postcode=postcode,
            updated_at=_ts(updated or closed or opened)))
        self.people[case_id] = person
        return self

    def event(self, case_id: str, at: str, event_type: str, team: str | None = None,
              status: str | None = None) -> "Council":
        self.events.append(dict(case_id=case_id, event_at=_ts(at), event_type=event_type, team=team, status=status))
        return self

    def call(self, call_id: str, started: str, *, person: str | None = "P1", minutes: float = 5,
             answered: bool = True, team: str | None = "Contact Centre", wrap: str | None = "new_request",
             case_ref: str | None = None, resolved: str | None = None, parent: str | None = None,
             queue: str = "Highways") -> "Council":
        """A call leg; ``resolved`` is the case identity resolved ``case_ref`` to
        (defaults to ``case_ref`` itself)."""
        start = pd.Timestamp(started)
        self.calls.append(dict(
            call_id=call_id, parent_call_id=parent, started_at=start,
            answered_at=start + pd.Timedelta(seconds=20) if answered else None,
            ended_at=start + pd.Timedelta(minutes=minutes), queue=queue, agent_team=team if answered else None,
            wrap_code=wrap if answered else None, case_ref=case_ref,
            service=self.rules.queue_service.get(queue)))
        self.attribution.append(dict(call_id=call_id, person_id=person, method="test",
                                     resolved_case_id=resolved if resolved is not None else case_ref))
        return self

    def works_order(self, work_order_id: str, raised: str, *, case_ref: str | None = None,
                    parent: str | None = None, completed: str | None = None, status: str | None = None,
                    outcome: str | None = None, team: str = "Highways Gang") -> "Council":
        status = status or ("completed" if completed else "raised")
        self.works.append(dict(
            work_order_id=work_order_id, case_ref=case_ref, parent_work_order_id=parent, job_type="Repair",
            priority="P3", raised_at=_ts(raised), completed_at=_ts(completed), status=status,
            outcome=outcome or ("fixed" if completed else None), team=team, updated_at=_ts(completed or raised)))
        return self

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "cases": _frame("crm_cases", self.cases),
            "case_events": _frame("crm_case_events", self.events),
            "calls": _frame("call_logs", self.calls, extra=("service",)),
            "works_orders": _frame("works_orders", self.works),
            "person_record": pd.DataFrame({"case_id": list(self.people), "person_id": list(self.people.values())},
                                          dtype=object),
            "call_attribution": pd.DataFrame(self.attribution,
                                             columns=["call_id", "person_id", "method", "resolved_case_id"],
                                             dtype=object),
        }

    def assemble(self, as_of: str = "2026-06-30 23:00") -> "Outcome":
        return Outcome(assemble_journeys(**self.frames(), rules=self.rules, as_of=pd.Timestamp(as_of)))


class Outcome:
    """A ``JourneyResult`` with questions a scenario asks of it."""

    def __init__(self, result: JourneyResult):
        self.result = result
        self.journey = result.journey.set_index("journey_id")
        self.membership = result.membership.set_index(["system", "source_ref"])["journey_id"]

    def journey_of(self, ref: str) -> str:
        """Journey of a case, call leg or works order (refs are unique across systems here)."""
        found = self.result.membership.loc[self.result.membership["source_ref"] == ref, "journey_id"]
        assert len(found) == 1, f"{ref} is in {len(found)} journeys"
        return found.iloc[0]

    def of(self, ref: str) -> pd.Series:
        """The journey row (measures) of the journey holding ``ref``."""
        return self.journey.loc[self.journey_of(ref)]

    def together(self, *refs: str) -> bool:
        return len({self.journey_of(r) for r in refs}) == 1

    def demand(self, ref: str) -> tuple[str | None, str | None]:
        """(demand_type, failure_type) of the contact made by case or call ``ref``."""
        c = self.result.contacts
        row = c[c["source_ref"] == ref]
        assert len(row) <= 1
        return (None, None) if row.empty else (row["demand_type"].iloc[0], row["failure_type"].iloc[0])

    def events(self, ref: str) -> pd.DataFrame:
        e = self.result.journey_event
        return e[e["journey_id"] == self.journey_of(ref)].sort_values("seq")


@pytest.fixture()
def council() -> Council:
    return Council()


@pytest.fixture()
def make_council():
    """A ``Council`` with some ``journeys`` rules changed, e.g. ``make_council(reopen_window_days=40)``."""
    return lambda **changes: Council(default_rules(**changes))
