"""OCEL 2.0 export (JSON and SQLite), per the OCEL 2.0 specification (ocel-standard.org).

Objects: Person (its ``person_key`` only), Journey, CrmCase, Call, WorkOrder, Team.
Each journey event relates to its journey, to the source record it came from (case,
call leg or works order), to its team and to the journey's person. Object-to-object:
journey -> person, and
case / call / works order -> journey. All attribute values are static, so they carry
the specification's "initial value" time, the Unix epoch.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

EPOCH = "1970-01-01T00:00:00.000+00:00"
SOURCE_OBJECT = {"crm": ("CrmCase", "case"), "telephony": ("Call", "call"), "works": ("WorkOrder", "work_order")}
EVENT_ATTRIBUTES = {"system": "string", "channel": "string", "demand_type": "string", "failure_type": "string"}
JOURNEY_ATTRIBUTES = {"service": "string", "category": "string", "status": "string", "first_channel": "string",
                      "e2e_days": "float", "contacts": "integer", "failure_contacts": "integer",
                      "handoffs": "integer"}
OBJECT_TYPES: dict[str, dict[str, str]] = {"Person": {}, "Journey": JOURNEY_ATTRIBUTES, "CrmCase": {},
                                           "Call": {}, "WorkOrder": {}, "Team": {"name": "string"}}
SQLITE_TYPES = {"string": "TEXT", "float": "REAL", "integer": "INTEGER", "boolean": "BOOLEAN", "time": "TIMESTAMP"}


@dataclass(frozen=True)
class OcelLog:
    """An OCEL 2.0 log as frames (ids are prefixed by type so they are unique across types)."""

    events: pd.DataFrame   # ocel_id, ocel_type, ocel_time, *EVENT_ATTRIBUTES
    objects: pd.DataFrame  # ocel_id, ocel_type, and the attributes of each type (NULL when not its own)
    e2o: pd.DataFrame      # event_id, object_id, qualifier
    o2o: pd.DataFrame      # source_id, target_id, qualifier


def _object_id(kind: str, ref: pd.Series) -> pd.Series:
    return kind + ":" + ref.astype(str)


def build_ocel(journey: pd.DataFrame, events: pd.DataFrame) -> OcelLog:
    """The object-centric view of the published journeys (``events`` as ``events_in_order``)."""
    ev = events.assign(ocel_id=events["journey_id"] + ":" + events["seq"].astype(str))
    event_frame = ev.rename(columns={"event_type": "ocel_type", "time": "ocel_time"})[
        ["ocel_id", "ocel_type", "ocel_time", *EVENT_ATTRIBUTES]]

    source_kind = ev["system"].map({s: k for s, (_, k) in SOURCE_OBJECT.items()})
    source_type = ev["system"].map({s: t for s, (t, _) in SOURCE_OBJECT.items()})
    bad = ev.loc[source_kind.isna(), ["ocel_id", "system"]]
    if not bad.empty:
        rows = ", ".join(f"{i} ({s!r})" for i, s in bad.head(5).itertuples(index=False))
        raise ValueError(f"journey_event.system must be one of {sorted(SOURCE_OBJECT)}; "
                         f"{len(bad)} row(s) are not, e.g. journey_id:seq {rows}")
    ev = ev.assign(source_id=source_kind + ":" + ev["source_ref"].astype(str), source_type=source_type,
                   source_qualifier=source_kind.str.replace("_", " "),
                   journey_obj=_object_id("journey", ev["journey_id"]))
    teamed = ev[ev["team"].notna()]
    people = journey[journey["person_key"].notna()]
    personal = ev.merge(people[["journey_id", "person_key"]], on="journey_id")
    e2o = pd.concat([
        pd.DataFrame({"event_id": ev["ocel_id"], "object_id": ev["journey_obj"], "qualifier": "journey"}),
        pd.DataFrame({"event_id": ev["ocel_id"], "object_id": ev["source_id"], "qualifier": ev["source_qualifier"]}),
        pd.DataFrame({"event_id": teamed["ocel_id"], "object_id": _object_id("team", teamed["team"]),
                      "qualifier": "team"}),
        # The person takes part in every event of their journeys: this is what lets a
        # process-mining tool follow one person across needs.
        pd.DataFrame({"event_id": personal["ocel_id"], "object_id": _object_id("person", personal["person_key"]),
                      "qualifier": "person"}),
    ], ignore_index=True).drop_duplicates()

    sources = ev[["source_id", "source_type", "journey_obj"]].drop_duplicates()
    o2o = pd.concat([
        pd.DataFrame({"source_id": _object_id("journey", people["journey_id"]),
                      "target_id": _object_id("person", people["person_key"]), "qualifier": "person"}),
        pd.DataFrame({"source_id": sources["source_id"], "target_id": sources["journey_obj"], "qualifier": "journey"}),
    ], ignore_index=True).drop_duplicates()

    # Every journey an event names is an object, even if its journey row were missing.
    journeys = journey.merge(pd.DataFrame({"journey_id": ev["journey_id"].unique()}), on="journey_id", how="outer")
    journeys = journeys.assign(ocel_id=_object_id("journey", journeys["journey_id"]), ocel_type="Journey")
    teams = pd.Series(sorted(teamed["team"].unique()), dtype=object)
    objects = pd.concat([
        pd.DataFrame({"ocel_id": _object_id("person", pd.Series(people["person_key"].unique(), dtype=object)),
                      "ocel_type": "Person"}),
        journeys[["ocel_id", "ocel_type", *JOURNEY_ATTRIBUTES]],
        pd.DataFrame({"ocel_id": sources["source_id"], "ocel_type": sources["source_type"]}).drop_duplicates("ocel_id"),
        pd.DataFrame({"ocel_id": _object_id("team", teams), "ocel_type": "Team", "name": teams}),
    ], ignore_index=True)
    duplicated = objects["ocel_id"][objects["ocel_id"].duplicated()]
    if not duplicated.empty:
        raise ValueError(f"object ids used by two objects: {sorted(duplicated.unique())[:5]}")
    return OcelLog(events=event_frame, objects=objects, e2o=e2o, o2o=o2o)


def _value(value: object, kind: str) -> object:
    """A JSON-ready attribute value; None when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return {"float": float, "integer": int, "boolean": bool}.get(kind, str)(value)


def _attributes(row: dict, declared: dict[str, str], *, timed: bool) -> list[dict]:
    out = []
    for name, kind in declared.items():
        value = _value(row.get(name), kind)
        if value is not None:
            out.append({"name": name, "value": value, **({"time": EPOCH} if timed else {})})
    return out


def _relationships(pairs: pd.DataFrame, key: str, target: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for source, obj, qualifier in zip(pairs[key], pairs[target], pairs["qualifier"]):
        out.setdefault(source, []).append({"objectId": obj, "qualifier": qualifier})
    return out


def write_ocel2_json(log: OcelLog, out: Path) -> Path:
    """OCEL 2.0 JSON: objectTypes, eventTypes, objects and events with their relationships."""
    out = Path(out)
    e2o = _relationships(log.e2o, "event_id", "object_id")
    o2o = _relationships(log.o2o, "source_id", "target_id")
    doc = {
        "objectTypes": [{"name": t, "attributes": [{"name": a, "type": k} for a, k in attrs.items()]}
                        for t, attrs in OBJECT_TYPES.items()],
        "eventTypes": [{"name": t, "attributes": [{"name": a, "type": k} for a, k in EVENT_ATTRIBUTES.items()]}
                       for t in sorted(log.events["ocel_type"].unique())],
        "objects": [{"id": o["ocel_id"], "type": o["ocel_type"],
                     "attributes": _attributes(o, OBJECT_TYPES[o["ocel_type"]], timed=True),
                     "relationships": o2o.get(o["ocel_id"], [])} for o in log.objects.to_dict("records")],
        "events": [{"id": e["ocel_id"], "type": e["ocel_type"], "time": e["ocel_time"],
                    "attributes": _attributes(e, EVENT_ATTRIBUTES, timed=False),
                    "relationships": e2o.get(e["ocel_id"], [])} for e in log.events.to_dict("records")],
    }
    # json.dumps without indent is the only path through json's C encoder (json.dump
    # streams through the pure-Python one, ~10x slower on a large log).
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


def _table_names(types: list[str]) -> dict[str, str]:
    """Type -> the SQL-safe, unique (case-insensitively) suffix of its per-type table."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for t in types:
        base = re.sub(r"[^A-Za-z0-9_]", "_", t) or "type"
        name, n = base, 2
        while name.casefold() in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name.casefold())
        names[t] = name
    return names


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _rows(frame: pd.DataFrame, columns: list[str], kinds: list[str]) -> list[tuple]:
    """Rows for sqlite3: missing values as None, each column converted to its declared kind."""
    rows = frame[columns].astype(object)
    rows = rows.where(frame[columns].notna(), None)
    for column, kind in zip(columns, kinds):
        if kind != "string":
            rows[column] = [_value(v, kind) for v in rows[column]]
    return list(rows.itertuples(index=False, name=None))


def write_ocel2_sqlite(log: OcelLog, out: Path) -> Path:
    """OCEL 2.0 SQLite: event, object, event_object, object_object, the type maps and one
    table per event type and per object type, with primary and foreign keys declared."""
    out = Path(out)
    if out.exists():
        out.unlink()
    event_types = _table_names(sorted(log.events["ocel_type"].unique()))
    object_types = _table_names(list(OBJECT_TYPES))
    con = sqlite3.connect(out)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        with con:
            con.executescript("""
                CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL);
                CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL);
                CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL UNIQUE);
                CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL UNIQUE);
                CREATE TABLE event_object (
                    ocel_event_id TEXT NOT NULL REFERENCES event (ocel_id),
                    ocel_object_id TEXT NOT NULL REFERENCES object (ocel_id),
                    ocel_qualifier TEXT NOT NULL,
                    PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier));
                CREATE TABLE object_object (
                    ocel_source_id TEXT NOT NULL REFERENCES object (ocel_id),
                    ocel_target_id TEXT NOT NULL REFERENCES object (ocel_id),
                    ocel_qualifier TEXT NOT NULL,
                    PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier));
            """)
            for t, suffix in event_types.items():
                cols = "".join(f", {_q(a)} {SQLITE_TYPES[k]}" for a, k in EVENT_ATTRIBUTES.items())
                con.execute(f"CREATE TABLE {_q('event_' + suffix)} (ocel_id TEXT PRIMARY KEY REFERENCES event (ocel_id),"
                            f" ocel_time TIMESTAMP NOT NULL{cols})")
            for t, suffix in object_types.items():
                cols = "".join(f", {_q(a)} {SQLITE_TYPES[k]}" for a, k in OBJECT_TYPES[t].items())
                con.execute(f"CREATE TABLE {_q('object_' + suffix)} (ocel_id TEXT NOT NULL REFERENCES object (ocel_id),"
                            f" ocel_time TIMESTAMP NOT NULL, ocel_changed_field TEXT{cols},"
                            " PRIMARY KEY (ocel_id, ocel_time))")
            con.executemany("INSERT INTO event_map_type VALUES (?, ?)", event_types.items())
            con.executemany("INSERT INTO object_map_type VALUES (?, ?)", object_types.items())
            con.executemany("INSERT INTO event VALUES (?, ?)", log.events[["ocel_id", "ocel_type"]].itertuples(index=False))
            con.executemany("INSERT INTO object VALUES (?, ?)", log.objects[["ocel_id", "ocel_type"]].itertuples(index=False))
            attrs, kinds = list(EVENT_ATTRIBUTES), list(EVENT_ATTRIBUTES.values())
            for t, suffix in event_types.items():
                rows = _rows(log.events[log.events["ocel_type"] == t], ["ocel_id", "ocel_time", *attrs],
                             ["string", "string", *kinds])
                marks = ", ".join("?" * (2 + len(attrs)))
                con.executemany(f"INSERT INTO {_q('event_' + suffix)} VALUES ({marks})", rows)
            for t, suffix in object_types.items():
                attrs_t, kinds_t = list(OBJECT_TYPES[t]), list(OBJECT_TYPES[t].values())
                mine = log.objects[log.objects["ocel_type"] == t].assign(ocel_time=EPOCH, ocel_changed_field=None)
                rows = _rows(mine, ["ocel_id", "ocel_time", "ocel_changed_field", *attrs_t],
                             ["string", "string", "string", *kinds_t])
                marks = ", ".join("?" * (3 + len(attrs_t)))
                con.executemany(f"INSERT INTO {_q('object_' + suffix)} VALUES ({marks})", rows)
            con.executemany("INSERT INTO event_object VALUES (?, ?, ?)",
                            log.e2o[["event_id", "object_id", "qualifier"]].itertuples(index=False))
            con.executemany("INSERT INTO object_object VALUES (?, ?, ?)",
                            log.o2o[["source_id", "target_id", "qualifier"]].itertuples(index=False))
    finally:
        con.close()
    return out
