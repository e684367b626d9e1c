"""Process-mining exports of the published journeys: ``export_log`` picks the format.

Only published tables are read (``pipeline.report.load``), so no personal data can
reach an export: people appear only as ``person_key``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from pipeline.report.load import read_published

Format = Literal["xes", "ocel2-json", "ocel2-sqlite"]
FORMATS: tuple[str, ...] = ("xes", "ocel2-json", "ocel2-sqlite")
OCEL_SUFFIXES = {".json": "ocel2-json", ".jsonocel": "ocel2-json", ".sqlite": "ocel2-sqlite",
                 ".sqlite3": "ocel2-sqlite", ".db": "ocel2-sqlite"}


def iso_utc(timestamps: pd.Series) -> pd.Series:
    """Naive-UTC timestamps as ISO 8601 text with an explicit offset (millisecond precision)."""
    return timestamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "+00:00"


def ocel_format_for(path: Path) -> Format:
    """The OCEL 2.0 flavour a file name asks for: ``.json`` -> JSON, ``.sqlite`` -> SQLite."""
    fmt = OCEL_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the OCEL 2.0 format from the suffix "
                         f"'{Path(path).suffix}'; use one of {sorted(OCEL_SUFFIXES)}")
    return fmt


def events_in_order(journey_event: pd.DataFrame) -> pd.DataFrame:
    """Events by journey then position, with their time as ISO text (``time``)."""
    events = journey_event.sort_values(["journey_id", "seq"]).reset_index(drop=True)
    return events.assign(time=iso_utc(events["event_at"]))


def export_log(warehouse_url: str, fmt: Format, out: Path) -> Path:
    """Write the published journeys as an event log in ``fmt`` to ``out``; returns ``out``."""
    from pipeline.export import ocel, xes

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; choose one of {list(FORMATS)}")
    published = read_published(warehouse_url, ["journey", "journey_event"])
    journey, events = published["journey"], events_in_order(published["journey_event"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xes":
        return xes.write_xes(journey, events, published.run, out)
    log = ocel.build_ocel(journey, events)
    return ocel.write_ocel2_json(log, out) if fmt == "ocel2-json" else ocel.write_ocel2_sqlite(log, out)
