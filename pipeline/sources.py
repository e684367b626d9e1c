"""The canonical input contract (shared/design/extracts.md), declared once.

Ingestion, the Great Expectations source suites, the generator and the staging
tables all read these declarations, so the contract cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "timestamp", "date"]


@dataclass(frozen=True)
class SourceColumn:
    name: str
    type: ColumnType = "text"
    nullable: bool = True
    # When a required value is missing or unparsable: "reject" quarantines the row;
    # "required" columns without reject are still required by the contract and are
    # quarantined too, but the reason says they broke the contract rather than a rule.
    reject: bool = False
    allowed: tuple[str, ...] | None = None
    personal: bool = False  # never leaves the restricted area


@dataclass(frozen=True)
class Source:
    name: str
    key: tuple[str, ...]  # the record's identity for latest-wins
    version_column: str | None  # latest version wins by this, then extract order
    columns: tuple[SourceColumn, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> SourceColumn:
        return next(c for c in self.columns if c.name == name)

    @property
    def timestamp_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.type == "timestamp"]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]


T, TS, D = "text", "timestamp", "date"


def _c(name: str, type: ColumnType = T, *, req: bool = False, reject: bool = False,
       allowed: tuple[str, ...] | None = None, personal: bool = False) -> SourceColumn:
    return SourceColumn(name, type, nullable=not (req or reject), reject=reject,
                        allowed=allowed, personal=personal)


CHANNELS = ("phone", "web", "email", "face_to_face", "app", "social")
CASE_STATUSES = ("open", "closed", "cancelled")
CLOSURE_REASONS = ("resolved", "duplicate", "no_fault_found", "referred_elsewhere", "withdrawn")
CASE_EVENT_TYPES = ("created", "assigned", "status_changed", "reopened", "closed", "note")
WRAP_CODES = ("new_request", "progress_chase", "complaint", "information_given",
              "transferred", "repeat_report", "wrong_number")
WO_STATUSES = ("raised", "scheduled", "in_progress", "completed", "cancelled")
WO_OUTCOMES = ("fixed", "temporary_fix", "no_access", "no_fault_found", "follow_on_required")
PRIORITIES = ("P1", "P2", "P3", "P4")

CRM_CASES = Source(
    name="crm_cases",
    key=("case_id",),
    version_column="updated_at",
    columns=(
        _c("case_id", reject=True),
        _c("customer_id", personal=True),
        _c("forename", personal=True),
        _c("surname", personal=True),
        _c("email", personal=True),
        _c("phone", personal=True),
        _c("address_line1", personal=True),
        _c("postcode", personal=True),
        _c("uprn", personal=True),
        _c("date_of_birth", D, personal=True),
        _c("service", reject=True),
        _c("category", reject=True),
        _c("channel", req=True, allowed=CHANNELS),
        _c("location_uprn"),
        _c("location_postcode"),
        _c("location_usrn"),
        _c("opened_at", TS, reject=True),
        _c("closed_at", TS),
        _c("status", req=True, allowed=CASE_STATUSES),
        _c("closure_reason", allowed=CLOSURE_REASONS),
        _c("team", req=True),
        _c("duplicate_of"),
        _c("updated_at", TS, req=True),
    ),
)

CRM_CASE_EVENTS = Source(
    name="crm_case_events",
    # The history has no event id: an identical (case, time, type, team, status)
    # row delivered twice is the same event.
    key=("case_id", "event_at", "event_type", "team", "status"),
    version_column=None,
    columns=(
        _c("case_id", reject=True),
        _c("event_at", TS, reject=True),
        _c("event_type", req=True, allowed=CASE_EVENT_TYPES),
        _c("team"),
        _c("status", allowed=CASE_STATUSES),
    ),
)

CALL_LOGS = Source(
    name="call_logs",
    key=("call_id",),
    version_column=None,  # a call leg does not change once logged; later extract wins
    columns=(
        _c("call_id", reject=True),
        _c("parent_call_id"),
        _c("caller_number", personal=True),
        _c("started_at", TS, reject=True),
        _c("answered_at", TS),
        _c("ended_at", TS, req=True),
        _c("queue", req=True),
        _c("agent_id"),
        _c("agent_team"),
        _c("wrap_code"),
        _c("case_ref"),
    ),
)

WORKS_ORDERS = Source(
    name="works_orders",
    key=("work_order_id",),
    version_column="updated_at",
    columns=(
        _c("work_order_id", reject=True),
        _c("case_ref"),
        _c("parent_work_order_id"),
        _c("job_type", req=True),
        _c("priority", req=True, allowed=PRIORITIES),
        _c("raised_at", TS, reject=True),
        _c("target_at", TS),
        _c("completed_at", TS),
        _c("status", req=True, allowed=WO_STATUSES),
        _c("outcome", allowed=WO_OUTCOMES),
        _c("team", req=True),
        _c("location_uprn"),
        _c("location_usrn"),
        _c("location_postcode"),
        _c("updated_at", TS, req=True),
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (CRM_CASES, CRM_CASE_EVENTS, CALL_LOGS, WORKS_ORDERS)}

# Source systems as the orchestration sees them (one ingest DAG each): the CRM
# delivers two extracts.
SYSTEM_SOURCES: dict[str, tuple[str, ...]] = {
    "crm": ("crm_cases", "crm_case_events"),
    "telephony": ("call_logs",),
    "works": ("works_orders",),
}

# Columns every staged table carries besides the canonical ones.
LINEAGE_COLUMNS = ("source_file", "source_line", "time_flags")
