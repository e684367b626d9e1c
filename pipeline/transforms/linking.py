"""Rules 3 and 4: which earlier journey a new case or an unreferenced call joins.

Both rules ask about the state of a journey *at the moment* the new record arrives
("unmet at that moment", "open at the call, or met up to the window before it"), and
that state depends on what earlier decisions put into the journey (a call after the
need was met pulls it back in). So the decisions are taken in time order. They never
cross people or services (rule 3 needs the same person, service and category; rule 4
the same person and service), so each (person, service) is an independent, short
sequence: one pass over all of them, with the journey state kept as a few small
lists per journey. Everything that needs no decision (duplicates, referenced calls,
works orders) is attached to its case beforehand, as a *bundle*.

Choices where journeys.md is silent (docs/journeys.md, "Choices"), as the generator's
ground truth makes them:
- several live journeys: the most recently started one;
- a call joins case journeys only; a journey of calls alone is one call's need and
  never attracts another call;
- a case and a call at the same instant: the case is placed first;
- a bundle (a case and its duplicates) is placed at its root case's opening, with its
  root case's person, service, category and location.
"""

from __future__ import annotations

import bisect

import numpy as np
import pandas as pd

OPEN, MET, WITHDRAWN, ABANDONED, UNLINKED = "open", "met", "withdrawn", "abandoned", "unlinked"
# Span kinds in the time-ordered pass: a works order, or a case span closed as met /
# withdrawn / otherwise (or still open).
WORKS, CLOSED_MET, CLOSED_WITHDRAWN, NOT_MET = 0, 1, 2, 3
_NS_PER_MINUTE = 60 * 10**9
_NS_PER_DAY = 24 * 60 * _NS_PER_MINUTE
_FOREVER = np.iinfo(np.int64).max


def ns(values: pd.Series) -> np.ndarray:
    """Naive-UTC timestamps as int64 nanoseconds; NaT as 'never' (the far future)."""
    out = values.to_numpy(dtype="datetime64[ns]").view("i8").copy()
    out[values.isna().to_numpy()] = _FOREVER
    return out


def same_place(a: tuple, b: tuple) -> bool:
    """Rule 3's location test on (uprn, usrn, postcode): the finest key both records
    hold decides; when they share none, the location does not tell them apart."""
    for x, y in zip(a, b):
        if x is not None and y is not None:
            return x == y
    return True


class _Journey:
    """What rules 3 and 4 need to know about one case journey while it is being built."""

    __slots__ = ("seed", "started", "category", "place", "spans", "calls", "horizon")

    def __init__(self, seed: str, started: int, category: str, place: tuple):
        self.seed, self.started, self.category, self.place = seed, started, category, place
        self.spans: list[tuple[int, int, int, int, int]] = []  # (start, end, kind, superseded, closes)
        self.calls: list[int] = []
        # After its horizon, a journey that is not live cannot change or be joined (an
        # open span ends 'never', so an open journey is never dropped).
        self.horizon = started

    def add_bundle(self, spans: list, calls: list, horizon: int) -> None:
        self.spans.extend(spans)
        self.calls.extend(calls)
        self.horizon = max(self.horizon, horizon)

    def add_call(self, at: int) -> None:
        self.calls.append(at)
        self.horizon = max(self.horizon, at)


def case_state(spans: list[tuple[int, int, int, int, int]], calls: list[int], t: int) -> tuple[str, int]:
    """(status, met-at) of a case journey just before time t, from its spans (start,
    end, kind, superseded, closes) and call times.

    Withdrawn when every case's current span closed as withdrawn; met, at the last
    closure or completion, when everything had closed with every case met and no call
    since that closure found it so (such a call pulls the journey back in until the
    next closure); open otherwise.
    """
    status, last = _closed_state(spans, t)
    if status == MET and any(last < c < t and _closed_state(spans, c)[0] == MET for c in calls):
        return OPEN, 0
    return status, last


def _closed_state(spans: list[tuple[int, int, int, int, int]], t: int) -> tuple[str, int]:
    """The journey just before t judged on its spans alone (calls aside)."""
    last, still_open = -1, False
    has_case, all_met, all_withdrawn = False, True, True
    for start, end, kind, superseded, closes in spans:
        if start >= t:
            continue
        if end > t:
            still_open = True
        elif closes != _FOREVER and closes > last:
            last = closes
        if kind != WORKS and superseded >= t:  # the case's current span
            has_case = True
            all_met = all_met and kind == CLOSED_MET and end <= t
            all_withdrawn = all_withdrawn and kind == CLOSED_WITHDRAWN and end <= t
    if has_case and all_withdrawn:
        return WITHDRAWN, last
    if not has_case or still_open or not all_met:
        return OPEN, 0
    return MET, last


def _choose(journeys: list[_Journey], t: int, window: int, need: tuple | None = None) -> _Journey | None:
    """The live journey a record at t joins (None: none is live), pruning journeys that
    can no longer change or be joined. Live: open, or met up to ``window`` before t.
    ``need`` = (category, place) for rule 3: a case joins only a journey of the same need."""
    best, keep = None, []
    for j in journeys:
        status, met_at = case_state(j.spans, j.calls, t)
        live = status == OPEN or (status == MET and t - met_at <= window)
        if live or t <= j.horizon:
            keep.append(j)
        if not live or (need is not None and (j.category != need[0] or not same_place(j.place, need[1]))):
            continue
        if best is None or j.started > best.started:
            best = j
    journeys[:] = keep
    return best


def link_needs(bundles: pd.DataFrame, spans: pd.DataFrame, referenced: pd.DataFrame, free_calls: pd.DataFrame,
               case_index: pd.DataFrame, reopen_window_days: int, call_case_link_minutes: int
               ) -> tuple[pd.Series, pd.Series]:
    """Apply rules 3 and 4; return (seed of each bundle's journey, seed of each free call's journey).

    - ``bundles``: ``bundle, person_id, service, category, location_uprn, location_usrn,
      location_postcode, opened_at`` (one row per root case; person may be None);
    - ``spans``: ``bundle, case_id, start, end, kind, superseded, closes`` (its cases'
      spans, and its works orders' with no case_id);
    - ``referenced``: ``bundle, contact_at`` (calls whose case ref put them in a bundle);
    - ``free_calls``: ``contact_id, person_id, service, contact_at`` (calls of a known
      person without a usable ref);
    - ``case_index``: ``bundle, person_id, service, opened_at`` of every case (rule 4's
      "a case of that person and service opened up to the link window after").

    Seeds are ``crm:<case_id>`` or ``telephony:<call_id>``.
    """
    window = reopen_window_days * _NS_PER_DAY
    link = call_case_link_minutes * _NS_PER_MINUTE
    names = bundles["bundle"].to_numpy()
    where = pd.Index(names)
    spans_of, calls_of, horizon = _bundle_records(where, spans, referenced)

    # Every decision in (person, service, time) order; a case before a call at the same
    # instant; names break exact ties, so row order never matters.
    n_b, n_c = len(bundles), len(free_calls)
    rank = pd.factorize(np.concatenate([names, free_calls["contact_id"].to_numpy()]).astype(str), sort=True)[0]
    people, services = _codes(bundles["person_id"], free_calls["person_id"], case_index["person_id"],
                              bundles["service"], free_calls["service"], case_index["service"])
    person = np.concatenate([people[0], people[1]])
    service = np.concatenate([services[0], services[1]])
    t_all = np.concatenate([ns(bundles["opened_at"]), ns(free_calls["contact_at"])])
    kind = np.concatenate([np.zeros(n_b, dtype=np.int8), np.ones(n_c, dtype=np.int8)])
    row = np.concatenate([np.arange(n_b), np.arange(n_c)])
    order = np.lexsort((rank, kind, t_all, service, person))

    # Rule 4's third branch: per (person, service), the cases in opening order.
    later_cases: dict[tuple, tuple[list, list]] = {}
    opened = ns(case_index["opened_at"])
    owner = where.get_indexer(case_index["bundle"])
    by_time = np.lexsort((rank[owner], opened, services[2], people[2]))
    for p, s, t, b in zip(people[2][by_time].tolist(), services[2][by_time].tolist(), opened[by_time].tolist(),
                          owner[by_time].tolist()):
        times, owners = later_cases.setdefault((p, s), ([], []))
        times.append(t)
        owners.append(b)

    cat = bundles["category"].tolist()
    place = list(zip(*(bundles[c].astype(object).where(bundles[c].notna(), None).tolist()
                       for c in ("location_uprn", "location_usrn", "location_postcode"))))
    call_ids = free_calls["contact_id"].tolist()

    journey_of: list[_Journey | None] = [None] * n_b
    call_seed: dict[str, str] = {}
    call_bundle: dict[str, int] = {}
    current, journeys = None, []
    for p, s, t, k, r in zip(person[order].tolist(), service[order].tolist(), t_all[order].tolist(),
                             kind[order].tolist(), row[order].tolist()):
        if (p, s) != current:
            current, journeys = (p, s), []
        if k == 0:  # a case (rule 3, else rule 1); without a person, rule 3 cannot apply
            j = None if p < 0 else _choose(journeys, t, window, need=(cat[r], place[r]))
            if j is None:
                j = _Journey(f"crm:{names[r]}", t, cat[r], place[r])
                if p >= 0:
                    journeys.append(j)
            j.add_bundle(spans_of[r], calls_of[r], horizon[r])
            journey_of[r] = j
            continue
        # a call without a usable ref (rule 4)
        j = _choose(journeys, t, window)
        if j is not None:
            j.add_call(t)
            call_seed[call_ids[r]] = j.seed
            continue
        times, owners = later_cases.get((p, s), ((), ()))
        i = bisect.bisect_left(times, t)
        if i < len(times) and times[i] - t <= link:
            b = owners[i]
            call_bundle[call_ids[r]] = b
            if journey_of[b] is not None:
                journey_of[b].add_call(t)
            else:
                calls_of[b].append(t)
            continue
        call_seed[call_ids[r]] = f"telephony:{call_ids[r]}"  # a journey of its own
    for call, b in call_bundle.items():
        call_seed[call] = journey_of[b].seed
    bundle_seed = pd.Series([j.seed for j in journey_of], index=names, dtype=object)
    return bundle_seed, pd.Series(call_seed, dtype=object)


def _codes(*columns: pd.Series) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Person and service columns of bundles, calls and cases as shared integer codes
    (-1 for None), so the decisions sort and group on numbers, not strings."""
    half = len(columns) // 2
    out = []
    for group in (columns[:half], columns[half:]):
        codes, _ = pd.factorize(pd.concat([c.astype(object) for c in group], ignore_index=True))
        cuts = np.cumsum([len(c) for c in group])[:-1]
        out.append(np.split(codes, cuts))
    return out[0], out[1]


def _bundle_records(where: pd.Index, spans: pd.DataFrame, referenced: pd.DataFrame
                    ) -> tuple[list[list], list[list], list[int]]:
    """Per bundle (by position): its spans as (start, end, kind, superseded, closes),
    its referenced call times, and its horizon (its latest known time; 'never' while a
    span is open)."""
    n = len(where)
    spans_of: list[list] = [[] for _ in range(n)]
    calls_of: list[list] = [[] for _ in range(n)]
    span_b = where.get_indexer(spans["bundle"])
    start, end, superseded, closes = (ns(spans[c]) for c in ("start", "end", "superseded", "closes"))
    kind = np.select([spans["case_id"].isna(), spans["kind"].eq(MET), spans["kind"].eq(WITHDRAWN)],
                     [WORKS, CLOSED_MET, CLOSED_WITHDRAWN], NOT_MET)
    for row in zip(span_b.tolist(), start.tolist(), end.tolist(), kind.tolist(), superseded.tolist(),
                   closes.tolist()):
        spans_of[row[0]].append(row[1:])
    call_b = where.get_indexer(referenced["bundle"])
    at = ns(referenced["contact_at"])
    for b, t in zip(call_b.tolist(), at.tolist()):
        calls_of[b].append(t)
    latest = np.full(n, np.iinfo(np.int64).min)
    for idx, values in ((span_b, start), (span_b, end), (call_b, at)):
        np.maximum.at(latest, idx, values)
    return spans_of, calls_of, latest.tolist()
