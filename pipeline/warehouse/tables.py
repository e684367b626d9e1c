"""Every warehouse table, declared once with its grain and column meanings.

This module is the analysts' contract: the published schema is created from it, the
data dictionary (docs/data-dictionary.md) and PostgreSQL ``COMMENT ON`` are generated
from it, and the output suites check frames against it. Timestamps are stored as
naive UTC (``TIMESTAMP WITHOUT TIME ZONE``) and every such column says so.

Areas (schemas):
- ``published``: what analysts read (role ``journeys_analyst`` has SELECT here only).
- ``staging``, ``identity``, ``quarantine``: the restricted area (raw and personal
  data, identity maps); only the pipeline's writer role can read them.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Double, Integer, MetaData,
                        String, Table, Text)

from pipeline.config import FAILURE_TYPES
from pipeline.sources import SOURCES

PUBLISHED = "published"
STAGING = "staging"
IDENTITY = "identity"
QUARANTINE = "quarantine"
RESTRICTED_SCHEMAS = (STAGING, IDENTITY, QUARANTINE)
ALL_SCHEMAS = (PUBLISHED, *RESTRICTED_SCHEMAS)

metadata = MetaData()


def _col(name: str, type_, doc: str, *, pk: bool = False, nullable: bool = True) -> Column:
    return Column(name, type_, primary_key=pk, nullable=nullable and not pk, comment=doc,
                  autoincrement=False)


def _table(name: str, schema: str, grain: str, doc: str, *columns: Column) -> Table:
    """A table whose comment states its grain first (dbt-style), then its meaning."""
    t = Table(name, metadata, *columns, schema=schema, comment=f"Grain: {grain}. {doc}")
    t.info["grain"] = grain
    return t


TS = DateTime(timezone=False)
ID = String(64)
SUPPRESSED = "Comma-separated names of this row's columns published as NULL by small-number suppression (counts 1 to threshold-1 and rates on such bases); empty when none."

# --------------------------------------------------------------------------- published

journey = _table(
    "journey", PUBLISHED, "one row per journey (one need of one person)",
    "End-to-end journeys with their per-journey measures, as of the run.",
    _col("journey_id", ID, "Stable journey id: 'J-' and a hash of the record that seeded it.", pk=True),
    _col("person_key", ID, "Pseudonymous person: HMAC-SHA256 of the stable person id. NULL when no person could be identified."),
    _col("service", String(80), "Service of the need (from the seeding case, or the call's queue)."),
    _col("category", String(120), "Category of the need; NULL for call-only journeys."),
    _col("first_channel", String(20), "Channel of the first contact (phone, web, email, face_to_face, app, social)."),
    _col("postcode_district", String(8), "Outward code of the problem's (else the person's) postcode, e.g. 'LS6'. Never a full postcode."),
    _col("status", String(12), "met, open, withdrawn, abandoned or unlinked, at the run's as-of time.", nullable=False),
    _col("started_at", TS, "First event of the journey, UTC.", nullable=False),
    _col("ended_at", TS, "When the need was met (latest closure/completion), UTC; NULL unless met."),
    _col("e2e_hours", Double, "End-to-end time in hours: ended_at - started_at when met; as-of - started_at (age) when open; NULL otherwise."),
    _col("e2e_days", Double, "e2e_hours / 24."),
    _col("contacts", Integer, "Contacts the person made (calls, chained legs as one; non-phone cases).", nullable=False),
    _col("value_contacts", Integer, "Value demand contacts (the first contact: the request itself).", nullable=False),
    _col("failure_contacts", Integer, "Failure demand contacts (all types).", nullable=False),
    *[_col(f"failure_{t}", Integer, f"Failure demand contacts of type {t}.", nullable=False) for t in FAILURE_TYPES],
    _col("handoffs", Integer, "Changes of responsible team between consecutive events that carry a team.", nullable=False),
    _col("teams", Integer, "Distinct teams on the journey's events.", nullable=False),
    _col("systems", Integer, "Distinct source systems on the journey's events (crm, telephony, works).", nullable=False),
    _col("works_orders", Integer, "Works orders in the journey.", nullable=False),
    _col("follow_on_works_orders", Integer, "Works orders with a parent works order.", nullable=False),
    _col("first_contact_resolution", Boolean, "Met, with one contact and no works order.", nullable=False),
    _col("clean", Boolean, "No failure demand, no follow-on works order, no reopen.", nullable=False),
)

journey_event = _table(
    "journey_event", PUBLISHED, "one row per event of a journey",
    "The events of each journey in time order: call legs, CRM case history, works orders raised and completed.",
    _col("journey_id", ID, "Journey the event belongs to (journey.journey_id).", pk=True),
    _col("seq", Integer, "1-based position of the event in the journey, by event_at then system and source_ref.", pk=True),
    _col("event_at", TS, "When the event happened, UTC.", nullable=False),
    _col("system", String(12), "crm, telephony or works.", nullable=False),
    _col("source_ref", ID, "case_id, call_id or work_order_id in the source system.", nullable=False),
    _col("event_type", String(40), "call (answered leg), call_abandoned, a CRM event type (created, assigned, status_changed, reopened, closed, note), wo_raised or wo_completed.", nullable=False),
    _col("team", String(120), "Team responsible at this event; NULL when the event carries none (e.g. an abandoned call)."),
    _col("channel", String(20), "Channel of the contact (phone for calls, the case's channel for cases) when the event is a contact; NULL otherwise."),
    _col("demand_type", String(8), "value or failure when the event is a contact; NULL otherwise."),
    _col("failure_type", String(20), "progress_chase, repeat, complaint or not_done_right for failure demand; NULL otherwise."),
)

def _period_cols() -> list[Column]:
    """The key every periodic aggregate shares (fresh Column objects per table)."""
    return [
        _col("service", String(80), "Service.", pk=True),
        _col("category", String(120), "Category ('(none)' for call-only journeys).", pk=True),
        _col("period_type", String(5), "week (ISO week) or month (calendar month), Europe/London.", pk=True),
        _col("period", String(8), "ISO week as 'YYYY-Www' or month as 'YYYY-MM'.", pk=True),
    ]


measure_demand = _table(
    "measure_demand", PUBLISHED, "one row per service x category x period",
    "Value and failure demand: contacts by the period they were made in.",
    *_period_cols(),
    _col("period_start", Date, "First day of the period."),
    _col("contacts", Integer, "All contacts."),
    _col("value_contacts", Integer, "Value demand contacts."),
    _col("failure_contacts", Integer, "Failure demand contacts."),
    _col("failure_share", Double, "failure_contacts / contacts."),
    *[_col(f"failure_{t}", Integer, f"Failure demand contacts of type {t}.") for t in FAILURE_TYPES],
    _col("suppressed", Text, SUPPRESSED),
)

measure_demand_channel = _table(
    "measure_demand_channel", PUBLISHED, "one row per service x category x period x channel",
    "Value and failure demand by the channel of the contact.",
    *_period_cols(),
    _col("channel", String(20), "Channel of the contact.", pk=True),
    _col("period_start", Date, "First day of the period."),
    _col("contacts", Integer, "All contacts."),
    _col("value_contacts", Integer, "Value demand contacts."),
    _col("failure_contacts", Integer, "Failure demand contacts."),
    _col("failure_share", Double, "failure_contacts / contacts."),
    _col("suppressed", Text, SUPPRESSED),
)

measure_end_to_end = _table(
    "measure_end_to_end", PUBLISHED, "one row per service x category x period",
    "End-to-end time of journeys met in the period (by ended_at), in days.",
    *_period_cols(),
    _col("period_start", Date, "First day of the period."),
    _col("journeys_met", Integer, "Journeys met in the period."),
    _col("mean_days", Double, "Mean end-to-end days."),
    _col("median_days", Double, "Median end-to-end days."),
    _col("p80_days", Double, "80th percentile end-to-end days."),
    _col("p95_days", Double, "95th percentile end-to-end days."),
    _col("suppressed", Text, SUPPRESSED),
)

measure_flow = _table(
    "measure_flow", PUBLISHED, "one row per service x category x period",
    "Flow of journeys met in the period (by ended_at).",
    *_period_cols(),
    _col("period_start", Date, "First day of the period."),
    _col("journeys_met", Integer, "Journeys met in the period."),
    _col("avg_handoffs", Double, "Mean hand-offs per journey."),
    _col("avg_teams", Double, "Mean distinct teams per journey."),
    _col("avg_contacts", Double, "Mean contacts per journey."),
    _col("share_clean", Double, "Share of journeys that were clean."),
    _col("first_contact_resolution", Double, "Share resolved at first contact."),
    _col("follow_on_rate", Double, "Share of journeys with at least one follow-on works order."),
    _col("suppressed", Text, SUPPRESSED),
)

measure_capability = _table(
    "measure_capability", PUBLISHED, "one row per service x category",
    "Capability (XmR) of end-to-end days over journeys met in the last capability_window_weeks before as-of, in order of ended_at.",
    _col("service", String(80), "Service.", pk=True),
    _col("category", String(120), "Category.", pk=True),
    _col("window_start", TS, "Start of the window, UTC."),
    _col("window_end", TS, "End of the window (the run's as-of), UTC."),
    _col("journeys", Integer, "Met journeys in the window (points on the chart)."),
    _col("mean_days", Double, "Mean end-to-end days (the centre line)."),
    _col("mr_bar", Double, "Average moving range between consecutive points."),
    _col("unpl", Double, "Upper natural process limit: mean + 2.66 x mR-bar."),
    _col("lnpl", Double, "Lower natural process limit: max(0, mean - 2.66 x mR-bar)."),
    _col("points_above_unpl", Integer, "Signals: points above UNPL."),
    _col("runs", Integer, "Signals: runs of run_length or more consecutive points on one side of the mean."),
    _col("suppressed", Text, SUPPRESSED),
)

measure_capability_point = _table(
    "measure_capability_point", PUBLISHED, "one row per met journey in a capability window",
    "The points of each capability chart, in order.",
    _col("service", String(80), "Service.", pk=True),
    _col("category", String(120), "Category.", pk=True),
    _col("seq", Integer, "1-based order of the point by ended_at.", pk=True),
    _col("journey_id", ID, "The journey (journey.journey_id)."),
    _col("ended_at", TS, "When it was met, UTC."),
    _col("e2e_days", Double, "End-to-end days."),
    _col("moving_range", Double, "|this point - previous point|; NULL for the first."),
    _col("above_unpl", Boolean, "Point above UNPL (a signal)."),
    _col("in_run", Boolean, "Point belongs to a run of run_length on one side of the mean (a signal)."),
)

measure_wip = _table(
    "measure_wip", PUBLISHED, "one row per service x category x age band",
    "Work in progress: open journeys at as-of by age band (unlinked journeys are not work in progress).",
    _col("service", String(80), "Service.", pk=True),
    _col("category", String(120), "Category.", pk=True),
    _col("age_band", String(12), "'0-7', '8-28', '29-90' or '91+' days.", pk=True),
    _col("open_journeys", Integer, "Open journeys in the band."),
    _col("suppressed", Text, SUPPRESSED),
)

pipeline_run = _table(
    "pipeline_run", PUBLISHED, "one row per pipeline run",
    "What each run read, checked, quarantined and published, and how it ended.",
    _col("run_id", ID, "Run id (UTC start time and a short random suffix).", pk=True),
    _col("as_of", TS, "The run's as-of time (end of the run date, Europe/London), UTC.", nullable=False),
    _col("started_at", TS, "Run start, UTC.", nullable=False),
    _col("ended_at", TS, "Run end, UTC; NULL while running."),
    _col("status", String(12), "running, succeeded, failed or incomplete (published without a late source).", nullable=False),
    _col("mode", String(12), "full or incremental."),
    _col("inputs", Text, "JSON list of input files: source, file, sha256, rows read / staged / quarantined."),
    _col("rows_read", Integer, "Rows read from all inputs."),
    _col("rows_quarantined", Integer, "Rows sent to quarantine."),
    _col("validation_outcome", String(12), "passed, warned or failed."),
    _col("data_docs_path", Text, "Path of the Great Expectations Data Docs index for this run."),
    _col("table_hashes", Text, "JSON map of published table -> content hash (equal inputs give equal hashes)."),
    _col("timings", Text, "JSON map of stage -> seconds."),
    _col("missing_sources", Text, "Comma-separated sources that had not landed when the run was built."),
    _col("code_version", String(64), "Package version and git commit of the code."),
    _col("error", Text, "Error message when failed (never contains secrets)."),
)

def _ledger_cols() -> list[Column]:
    """One input file and its row counts: shared by the run log and the staging ledger."""
    return [
        _col("source", String(40), "Source extract.", pk=True),
        _col("file", String(400), "File path relative to the landing folder.", pk=True),
        _col("sha256", String(64), "SHA-256 of the file's bytes."),
        _col("delivery", String(12), "new, corrected (same name, new bytes) or duplicate (identical bytes already seen)."),
        _col("rows_read", Integer, "Rows read."),
        _col("rows_staged", Integer, "Rows that passed into staging."),
        _col("rows_quarantined", Integer, "Rows quarantined."),
    ]


def _result_cols() -> list[Column]:
    """One expectation's outcome: shared by the published results and the staging carry-over."""
    return [
        _col("suite", String(80), "Suite name (source_<source> or published_<table>).", pk=True),
        _col("expectation", String(200), "Expectation type and its column(s).", pk=True),
        _col("critical", Boolean, "A failure stops publishing."),
        _col("success", Boolean, "Passed."),
        _col("unexpected_count", Integer, "Rows that failed it."),
        _col("details", Text, "Short summary of the failure (no row values from restricted data)."),
    ]


pipeline_run_input = _table(
    "pipeline_run_input", PUBLISHED, "one row per input file per run",
    "The input files of each run with their checksums and row counts.",
    _col("run_id", ID, "pipeline_run.run_id.", pk=True),
    *_ledger_cols(),
)

validation_result = _table(
    "validation_result", PUBLISHED, "one row per expectation per suite per run",
    "Great Expectations results of each run.",
    _col("run_id", ID, "pipeline_run.run_id.", pk=True),
    *_result_cols(),
)

# --------------------------------------------------------------------------- restricted


def _staging_table(source_name: str) -> Table:
    src = SOURCES[source_name]
    type_map = {"text": Text, "timestamp": lambda: DateTime(timezone=False), "date": Date}
    cols = [_col(c.name, type_map[c.type](), ("PERSONAL. " if c.personal else "") + f"{c.name} as in extracts.md"
                 + (" (UTC)" if c.type == "timestamp" else ""))
            for c in src.columns]
    if source_name == "call_logs":
        cols.append(_col("service", Text(), "Service from the queue (journeys.queue_service)."))
    cols += [
        _col("source_file", Text(), "Landing file this version came from."),
        _col("source_line", Integer, "1-based data row in that file (header is line 0)."),
        _col("time_flags", Text(), "Semicolon-separated DST flags, e.g. 'opened_at:spring_gap_shifted'."),
    ]
    return _table(source_name, STAGING, f"one row per {'/'.join(src.key)} (latest version)",
                  f"Staged {source_name}: canonical, typed, normalised, latest version wins. Restricted.", *cols)


staging_tables = {name: _staging_table(name) for name in SOURCES}

processed_file = _table(
    "processed_file", STAGING, "one row per landing file version",
    "Checksum registry of every landing file version read. Restricted.",
    _col("source", String(40), "Source.", pk=True),
    _col("file", String(400), "File path relative to the landing folder.", pk=True),
    _col("sha256", String(64), "SHA-256 of the bytes.", pk=True),
    _col("first_run_id", ID, "Run that first read it."),
    _col("rows_read", Integer, "Rows read."),
)

source_load = _table(
    "source_load", STAGING, "one row per input file of the latest staging of each source",
    "What the last stage_source of each source read, for the build's pipeline_run_input rows. Restricted.",
    *_ledger_cols(),
    _col("run_date", Date, "Run date the source was staged for."),
    _col("staged_at", TS, "When it was staged, UTC."),
)

source_validation = _table(
    "source_validation", STAGING, "one row per expectation of the latest staging of each source",
    "Source-suite results of the last stage_source of each source, carried into the build's validation_result. Restricted.",
    _col("source", String(40), "Source.", pk=True),
    *_result_cols(),
)

quarantine = _table(
    "quarantine", QUARANTINE, "one row per rejected row and reason",
    "Rows that broke the input contract or a row-level expectation. Restricted: values may be personal.",
    _col("run_id", ID, "Run that quarantined it."),
    _col("source", String(40), "Source extract."),
    _col("file", String(400), "Landing file."),
    _col("line", Integer, "1-based data row in the file."),
    _col("column", String(80), "Offending column (NULL for whole-row reasons)."),
    _col("value", Text, "Offending value, truncated to 200 characters."),
    _col("reason", Text, "Why, in words (e.g. 'closed_at before opened_at')."),
    _col("expectation", String(200), "The Great Expectations expectation that failed, when one did."),
)

person_record = _table(
    "person_record", IDENTITY, "one row per CRM case",
    "Which stable person each CRM case's contact details belong to. Restricted.",
    _col("case_id", ID, "CRM case.", pk=True),
    _col("person_id", ID, "Stable person id (never published; person_key is its HMAC).", nullable=False),
)

person = _table(
    "person", IDENTITY, "one row per person",
    "Stable people and their pseudonymous keys. Restricted.",
    _col("person_id", ID, "Stable person id.", pk=True),
    _col("person_key", ID, "HMAC-SHA256 of person_id (the only form that is published)."),
    _col("first_run_id", ID, "Run that first created the id."),
)

call_attribution = _table(
    "call_attribution", IDENTITY, "one row per call leg",
    "Which person each call leg belongs to, and how it was decided. Restricted.",
    _col("call_id", ID, "Call leg.", pk=True),
    _col("person_id", ID, "Stable person id; NULL when unattributed."),
    _col("method", String(20), "case_ref, phone, household, parent_leg, or why not: ambiguous, withheld, blocked, unknown_number."),
    _col("resolved_case_id", ID, "The CRM case its case_ref resolved to, when it did."),
)

identity_audit = _table(
    "identity_audit", IDENTITY, "one row per merge, split or new person per run",
    "Every change to the identity map. Restricted.",
    _col("run_id", ID, "Run."),
    _col("old_person_id", ID, "Id before (NULL for a new person)."),
    _col("new_person_id", ID, "Id after."),
    _col("change", String(12), "new, merge or split."),
    _col("reason", Text, "Why."),
)

link_record = _table(
    "link_record", IDENTITY, "one row per linkage record of the last published run",
    "The pair cache's records: a hash of each linkage record's contact details (never the details) when its "
    "pairs were scored, and what the cache was built for. Restricted.",
    _col("unique_id", ID, "Linkage record: the smallest case_id of the cases sharing its contact details.", pk=True),
    _col("content_hash", BigInteger, "64-bit hash of the record's linkage features; a record whose hash changes has its pairs scored again.", nullable=False),
    _col("model_version", String(64), "Content hash of the Splink model the pairs were scored with.", nullable=False),
    _col("match_probability", Double, "identity.match_probability the cache was built for.", nullable=False),
    _col("min_records", Integer, "Fewest linkage records a run may have and still use the cache.", nullable=False),
)

link_pair = _table(
    "link_pair", IDENTITY, "one row per cached candidate pair of linkage records",
    "The pair cache: blocked pairs whose weight could link in a run of link_record.min_records records or more, "
    "with the model's weights (log2 Bayes factors). Restricted.",
    _col("unique_id_l", ID, "The pair's smaller linkage record id (link_record.unique_id).", pk=True),
    _col("unique_id_r", ID, "The pair's larger linkage record id.", pk=True),
    _col("weight", Double, "Sum of the comparisons' match weights: the pair's match weight without the prior.", nullable=False),
    *[_col(f"mw_{c}", Double, f"Match weight of the {c.replace('_', ' ')} comparison (the household guard reads it).",
           nullable=False) for c in ("forename", "email", "mobile", "date_of_birth")],
)

PUBLISHED_TABLES: dict[str, Table] = {t.name: t for t in metadata.sorted_tables if t.schema == PUBLISHED}
# Tables the build replaces on every publish (the rest are appended run logs).
BUILD_OUTPUTS = ("journey", "journey_event", "measure_demand", "measure_demand_channel",
                 "measure_end_to_end", "measure_flow", "measure_capability",
                 "measure_capability_point", "measure_wip")
