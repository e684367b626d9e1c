"""The simulation: people bring needs to the council and the council's systems record
what happens, complete with the mess of real operations.

Each need is simulated from first contact to its end (which may lie after the as-of
time; the extracts are cut there later). The simulation records every raw fact in UTC
epoch seconds with simulation keys; ids, local times and extract files come later.

So that the ground truth is unambiguous under journeys.md's rules, a person never has
two needs in one service whose activity windows (first contact - 2 h to the end +
reopen window + 7 days) overlap, and never returns to a category after withdrawing
from it: rules 3 and 4 could otherwise join two needs the simulation kept apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.generate import catalogue as cat
from pipeline.generate.draws import Draws, cumulative
from pipeline.generate.localtime import Calendar
from pipeline.generate.mess import cli_phone
from pipeline.generate.people import MAX_CONTACT_RECORDS, ContactRecord, Person, Street, new_contact_record

HOUR, DAY = 3600, 86400
INF = 1 << 62
MARGIN_BEFORE = 2 * HOUR
MARGIN_AFTER_DAYS = 7  # beyond the reopen window

# Needs per person per year, by kind.
NEED_RATES = {"case": 1.1, "info": 0.35, "abandoned": 0.08, "wrong_number": 0.02}
PROACTIVE_RATE = 0.04  # proactive works orders per person per year
REF_OK, REF_TYPO, REF_NONE = "ok", "typo", None


# ------------------------------------------------------------------ raw facts


@dataclass
class RawCase:
    key: int
    need: int
    person: int
    customer: int  # -1: anonymous report
    service: str
    category: str
    channel: str
    location: tuple[str | None, str | None, str | None]  # uprn, postcode, usrn
    team: str
    events: list[tuple[int, str, str, str, str | None, int]] = field(default_factory=list)
    # (t, event_type, team, status, closure_reason, duplicate_of case key or -1)

    @property
    def last_time(self) -> int:
        return self.events[-1][0]


@dataclass
class RawCall:
    key: int
    parent: int
    person: int
    number: str | None  # E.164; None when withheld
    caller_number: str  # as the switch wrote it
    started: int
    answered: int  # -1: abandoned
    ended: int
    queue: str
    agent_id: str | None
    team: str | None
    wrap: str | None = None
    ref_case: int = -1
    ref_mode: str | None = None


@dataclass
class RawWorksOrder:
    key: int
    case: int  # case it was raised from (-1: none: proactive)
    show_ref: bool  # False: the case_ref was not filled in
    parent: int
    job_type: str
    priority: str
    team: str
    location: tuple[str | None, str | None, str | None]
    raised: int
    scheduled: int
    done: int  # completed or cancelled at (-1: still running)
    done_status: str | None
    outcome: str | None


@dataclass
class World:
    people: list[Person]
    customers: dict[int, ContactRecord] = field(default_factory=dict)
    cases: list[RawCase] = field(default_factory=list)
    calls: list[RawCall] = field(default_factory=list)
    works_orders: list[RawWorksOrder] = field(default_factory=list)


class _Batch:
    """Facts of one need, committed only if the need fits the person's other needs."""

    def __init__(self, sim: Simulation, person: Person):
        self.sim, self.person = sim, person
        self.need = sim.next_key()
        self.customers: list[ContactRecord] = []
        self.cases: list[RawCase] = []
        self.calls: list[RawCall] = []
        self.works_orders: list[RawWorksOrder] = []

    def commit(self, world: World) -> None:
        for c in self.customers:
            world.customers[c.key] = c
            self.person.customers.append(c.key)
        world.cases += self.cases
        world.calls += self.calls
        world.works_orders += self.works_orders

    def customer_for(self, t: int) -> int:
        """Mostly an existing contact record of the person; sometimes a new duplicate,
        and a new one when the person has changed phone or e-mail since (staff search
        by the new details and find nothing)."""
        records = {k: self.sim.world.customers[k] for k in self.person.customers}
        records.update((c.key, c) for c in self.customers)
        changed = max((start for start, _ in self.person.mobiles[1:] + self.person.emails[1:] if start <= t),
                      default=None)
        known = [k for k, c in records.items() if changed is None or c.created_at >= changed]
        d = self.sim.d
        if len(records) >= MAX_CONTACT_RECORDS or (known and d.chance(0.7)):
            return d.pick(known or list(records))
        record = new_contact_record(self.sim.next_key(), self.person, t, d)
        self.customers.append(record)
        return record.key


class Simulation:
    def __init__(self, people: list[Person], streets: list[Street], calendar: Calendar,
                 window: tuple[int, int], reopen_window_days: int, queue_service: dict[str, str], d: Draws):
        self.people, self.streets, self.cal, self.d = people, streets, calendar, d
        self.start, self.as_of = window
        self.reopen_days = reopen_window_days
        self.queue_service = queue_service
        self.world = World(people)
        self._key = 0
        self._service_weights = cumulative([s.weight for s in cat.SERVICES])
        self._category_weights = [cumulative([c.weight for c in s.categories]) for s in cat.SERVICES]
        self._channel_weights = cumulative([w for _, w in cat.CHANNELS])
        self._intervals: list[dict[str, list[tuple[int, int]]]] = [{} for _ in people]
        self._closed_categories: list[set[tuple[str, str]]] = [set() for _ in people]
        self._team_codes: dict[str, int] = {}

    def next_key(self) -> int:
        self._key += 1
        return self._key

    # -------------------------------------------------------------- driver

    def run(self, progress: Callable[[str, int, int], None] | None = None) -> World:
        self._forced_clock_change_needs()
        total = len(self.people)
        step = max(1, total // 20)
        for p in self.people:
            self._random_needs(p)
            if progress and (p.index + 1) % step == 0:
                progress("simulate", p.index + 1, total)
        self._proactive_works()
        if progress:
            progress("simulate", total, total)
        return self.world

    def _random_needs(self, p: Person) -> None:
        d, years = self.d, (self.as_of - self.start) / (365 * DAY)
        plans = []
        for kind, rate in NEED_RATES.items():
            for _ in range(d.poisson(rate * years)):
                plans.append((int(d.between(self.start + 3 * HOUR, self.as_of - HOUR)), kind))
        for t, kind in sorted(plans):
            i = d.weighted(self._service_weights)
            s = cat.SERVICES[i]
            self._try_need(p, kind, s, s.categories[d.weighted(self._category_weights[i])], t, forced_channel=None)

    def _forced_clock_change_needs(self) -> None:
        """Activity on both clock-change days, whatever the population size: night-time
        web reports (in October one in each of the two 01:xx hours) and an
        out-of-hours call, placed with people whose needs allow it."""
        if not self.people:
            return
        hubs = {s.name: s for s in cat.SERVICES}
        highways, waste, repairs = hubs["Highways"], hubs["Waste"], hubs["Housing Repairs"]
        offset = self.d.below(len(self.people))
        for day in self.cal.clock_changes():
            midnight = self.cal.day_start(day)
            autumn = self.cal.day_start(day + 1) - midnight > DAY
            # seconds after local midnight: autumn 01:20 BST, 01:40 GMT, call 01:10 GMT;
            # spring 00:40 GMT, 02:30 BST, call 02:50 BST
            plan = ((80 * 60, highways, highways.categories[1], "web"),
                    (160 * 60, waste, waste.categories[1], "web"),
                    (130 * 60, repairs, repairs.categories[2], "phone")) if autumn else (
                   (40 * 60, highways, highways.categories[0], "web"),
                   (90 * 60, waste, waste.categories[2], "web"),
                   (110 * 60, repairs, repairs.categories[2], "phone"))
            for seconds, s, c, channel in plan:
                t = midnight + seconds
                if not self.start < t < self.as_of - HOUR:
                    continue
                for attempt in range(len(self.people)):
                    p = self.people[(offset + attempt) % len(self.people)]
                    if self._try_need(p, "case", s, c, t, forced_channel=channel, exact=True):
                        break
                offset += 1

    def _try_need(self, p: Person, kind: str, s: cat.Service, c: cat.Category, t: int,
                  forced_channel: str | None, exact: bool = False) -> bool:
        d = self.d
        batch = _Batch(self, p)
        if kind == "case":
            channel = forced_channel or cat.CHANNELS[d.weighted(self._channel_weights)][0]
            if not exact:
                t = self._contact_time(t, channel, c.emergency)
            if self._blocked(p, s.name, c.name, t - MARGIN_BEFORE, t):
                return False
            lo, hi, withdrawn = self._case_need(batch, p, s, c, t, channel, forced=exact)
            service, category = s.name, c.name
        else:
            queue = s.name if kind == "abandoned" or d.chance(0.7) else cat.GENERAL_QUEUE
            t = self._contact_time(t, "phone", False)
            service, category, withdrawn = self.queue_service.get(queue, queue), None, False
            if self._blocked(p, service, None, t - MARGIN_BEFORE, t):
                return False
            lo, hi = self._call_only_need(batch, p, kind, queue, s, t)
        if self._blocked(p, service, category, lo, hi):
            return False
        batch.commit(self.world)
        self._intervals[p.index].setdefault(service, []).append((lo, hi))
        if withdrawn:
            self._closed_categories[p.index].add((service, category))
        return True

    def _blocked(self, p: Person, service: str, category: str | None, lo: int, hi: int) -> bool:
        if category is not None and (service, category) in self._closed_categories[p.index]:
            return True
        return any(a < hi and lo < b for a, b in self._intervals[p.index].get(service, ()))

    # -------------------------------------------------------------- time of day

    def _contact_time(self, t: int, channel: str, emergency: bool) -> int:
        """Move a moment to when people actually make contact by this channel."""
        d, cal = self.d, self.cal
        day = cal.day_of(t)
        if channel in ("phone", "face_to_face"):
            if channel == "phone" and emergency and d.chance(0.15):
                return cal.day_start(day) + int(d.u() * DAY)  # out-of-hours repairs line
            while cal.weekday(day) == 6 or (channel == "face_to_face" and cal.weekday(day) == 5):
                day += 1
            if cal.weekday(day) == 5:
                return cal.day_start(day) + int(d.between(9, 13) * HOUR)
            opening, closing = (8, 18) if channel == "phone" else (9, 16.5)
            # busier in the morning: the earlier of two uniform draws
            hour = opening + (closing - opening) * min(d.u(), d.u()) if d.chance(0.6) else d.between(opening, closing)
            return cal.day_start(day) + int(hour * HOUR)
        hour = d.between(7, 22.5) if d.chance(0.8) else d.u() * 24
        return cal.day_start(day) + int(hour * HOUR)

    def _call_time_on_or_after(self, t: int) -> int:
        """A moment the phone lines are open, on ``t``'s day or the next one open."""
        at = self._contact_time(t, "phone", False)
        if at < t:
            at = self._contact_time(self.cal.day_start(self.cal.day_of(t) + 1), "phone", False)
        return at

    def _work_after(self, t: int, delay: float) -> int:
        """Back-office time: ``delay`` seconds later, pushed into Mon-Fri 08:30-17:30."""
        t = int(t + delay)
        cal = self.cal
        day = cal.day_of(t)
        local = t - cal.day_start(day)
        if cal.weekday(day) < 5 and 8.5 * HOUR <= local <= 17.5 * HOUR:
            return t
        if not (cal.weekday(day) < 5 and local < 8.5 * HOUR):
            day += 1
            while cal.weekday(day) >= 5:
                day += 1
        return cal.day_start(day) + int(8.5 * HOUR + self.d.u() * 2 * HOUR)

    # -------------------------------------------------------------- building blocks

    def _agent(self, team: str) -> str:
        code = self._team_codes.setdefault(team, len(self._team_codes) + 1)
        return f"AG{code:02d}{self.d.below(40):02d}"

    def _caller(self, p: Person, t: int) -> tuple[str | None, str]:
        """The number a person rings from: usually their mobile or the household
        landline, sometimes withheld, sometimes a phone no CRM record knows."""
        d = self.d
        r = d.u()
        if r < 0.07:
            return None, d.pick(cat.WITHHELD)
        if r < 0.11:
            key = p.other_phone
        else:
            mobile, landline = p.mobile_at(t), p.household.landline
            key = mobile if mobile and (landline is None or d.chance(0.65)) else (landline or mobile)
        number = p.phone(key)
        return number, cli_phone(number, d)

    def _call(self, b: _Batch, t: int, queue: str, number: tuple[str | None, str],
              team: str | None, *, transfer: bool = False, hub: str | None = None) -> list[RawCall]:
        """One contact by phone: an abandoned leg (team None) or answered leg(s); a
        transfer is a first leg at the Contact Centre and a second leg at ``hub``.
        The last leg's wrap, case_ref and end are for the caller to fill in."""
        d = self.d
        e164, text = number
        if team is None:
            leg = RawCall(self.next_key(), -1, b.person.index, e164, text, t, -1,
                          t + int(d.between(15, 240)), queue, None, None)
            b.calls.append(leg)
            return [leg]
        answered = t + 5 + int(min(d.exp(60), 900))
        if transfer:
            first = RawCall(self.next_key(), -1, b.person.index, e164, text, t, answered,
                            answered + int(d.between(60, 300)), queue, self._agent(cat.CONTACT_CENTRE),
                            cat.CONTACT_CENTRE, "transferred")
            start2 = first.ended + 2
            second = RawCall(self.next_key(), first.key, b.person.index, e164, text, start2,
                             start2 + 5 + int(min(d.exp(40), 600)), 0, queue, self._agent(hub or team), hub or team)
            b.calls += [first, second]
            legs = [first, second]
        else:
            leg = RawCall(self.next_key(), -1, b.person.index, e164, text, t, answered, 0, queue,
                          self._agent(team), team)
            b.calls.append(leg)
            legs = [leg]
        legs[-1].ended = legs[-1].answered + int(d.between(90, 720))
        return legs

    def _ref(self, leg: RawCall, case: RawCase, p_ok: float, p_typo: float) -> None:
        r = self.d.u()
        leg.ref_case = case.key
        leg.ref_mode = REF_OK if r < p_ok else REF_TYPO if r < p_ok + p_typo else REF_NONE

    def _event(self, case: RawCase, t: int, kind: str, team: str, status: str,
               reason: str | None = None, duplicate_of: int = -1) -> int:
        """Append a history event; times within a case strictly increase."""
        if case.events:
            t = max(t, case.last_time + 60)
        case.events.append((t, kind, team, status, reason, duplicate_of))
        case.team = team
        return t

    def _new_case(self, b: _Batch, s: cat.Service, c: cat.Category, channel: str,
                  location: tuple[str | None, str | None, str | None], t: int, team: str,
                  customer: int) -> RawCase:
        case = RawCase(self.next_key(), b.need, b.person.index, customer, s.name, c.name, channel, location, team)
        self._event(case, t, "created", team, "open")
        b.cases.append(case)
        return case

    def _location(self, p: Person, c: cat.Category) -> tuple[str | None, str | None, str | None]:
        d, h = self.d, p.household
        if c.location == "none" or d.chance(0.08):
            return None, None, None
        if c.location == "street":
            street = h.street if d.chance(0.6) else d.pick(self.streets)
            return None, d.pick(street.postcodes), street.usrn
        if c.location == "postcode":
            return None, h.postcode, None
        return h.uprn, h.postcode, None

    # -------------------------------------------------------------- needs

    def _call_only_need(self, b: _Batch, p: Person, kind: str, queue: str, s: cat.Service,
                        t: int) -> tuple[int, int]:
        number = self._caller(p, t)
        if kind == "abandoned":
            self._call(b, t, queue, number, None)
        else:
            team = cat.CONTACT_CENTRE if queue == cat.GENERAL_QUEUE or self.d.chance(0.7) else s.hub
            leg = self._call(b, t, queue, number, team)[-1]
            leg.wrap = "information_given" if kind == "info" else "wrong_number"
            if kind == "wrong_number":
                leg.ended = leg.answered + int(self.d.between(20, 90))
        return t - MARGIN_BEFORE, t + (self.reopen_days + MARGIN_AFTER_DAYS) * DAY

    def _case_need(self, b: _Batch, p: Person, s: cat.Service, c: cat.Category, t0: int,
                   channel: str, forced: bool) -> tuple[int, int, bool]:
        """A need that reaches the CRM. Returns its activity window and whether it was
        withdrawn."""
        d = self.d
        anonymous = channel in ("web", "app") and d.chance(c.anonymous_share) and not forced
        customer = -1 if anonymous else b.customer_for(t0)
        location = self._location(p, c)
        first = t0

        # ---- first contact
        if channel == "phone":
            number = self._caller(p, t0)
            team0 = cat.CONTACT_CENTRE if d.chance(0.7) else s.hub
            if d.chance(0.08):  # the telephony extract lacks this call
                case = self._new_case(b, s, c, channel, location, t0, team0, customer)
            else:
                if d.chance(0.05):  # gave up in the queue, rang back
                    first = t0 - int(d.between(300, 2400))
                    self._call(b, first, s.name, number, None)
                legs = self._call(b, t0, s.name, number, team0, transfer=d.chance(0.15), hub=s.hub)
                last = legs[-1]
                opened = last.answered + int(d.between(60, 240))
                case = self._new_case(b, s, c, channel, location, opened, last.team or team0, customer)
                last.wrap = "new_request"
                last.ended = opened + int(d.between(60, 400))
                self._ref(last, case, 0.8, 0.07)
        else:
            team0 = cat.CONTACT_CENTRE if channel == "face_to_face" else s.hub
            case = self._new_case(b, s, c, channel, location, t0, team0, customer)
        opened = case.events[0][0]

        # ---- routing through the back office
        t = opened
        for i, team in enumerate(c.back_office):
            if team == case.team:
                continue
            if i > 0 and not d.chance(0.7):
                break
            t = self._event(case, self._work_after(t, d.exp(4 * HOUR) if i == 0 else d.between(0.5, 3) * DAY),
                            "assigned", team, "open")
        if d.chance(0.3):
            t = self._event(case, self._work_after(t, d.exp(DAY)), "note", case.team, "open")

        # ---- resolution
        withdrawn = not anonymous and not forced and d.chance(0.04)
        work = c.work if c.work and not withdrawn and d.chance(c.work.probability) else None
        wos: list[RawWorksOrder] = []
        if withdrawn:
            t_end = self._work_after(t, d.lognormal(3 * DAY, 0.8))
            if d.chance(0.5):
                self._event(case, t_end, "status_changed", case.team, "cancelled", "withdrawn")
            else:
                self._event(case, t_end, "closed", case.team, "closed", "withdrawn")
        elif work:
            t_raise = self._work_after(t, d.lognormal(DAY, 0.8))
            wos = self._works(b.works_orders, case, work, t_raise, parent=-1, show_ref=True, team=None)
            last = wos[-1]
            if d.chance(0.15):  # closed once passed to works; the job finishes later
                self._event(case, self._work_after(t_raise, d.exp(6 * HOUR)), "closed", case.team, "closed", "resolved")
            else:
                reason = "no_fault_found" if last.outcome == "no_fault_found" else "resolved"
                self._event(case, self._work_after(last.done, d.exp(DAY)), "closed", case.team, "closed", reason)
        else:
            r = d.u()
            reason = "resolved" if r < 0.85 else "no_fault_found" if r < 0.92 else "referred_elsewhere"
            self._event(case, self._work_after(t, d.lognormal(c.days_to_close * DAY, 0.7)),
                        "closed", case.team, "closed", reason)
        end = max([case.last_time] + [w.done for w in wos])

        # ---- contacts while open: chases, complaints, repeats and duplicates
        if not anonymous:
            # a chase about a need later withdrawn always quotes the case: whether a
            # withdrawn journey is "open at the call" is left open by journeys.md
            self._chases(b, p, s, case, opened, end, p_ok=1.0 if withdrawn else 0.6)
            if not withdrawn and d.chance(0.07):
                end = max(end, self._repeat_while_open(b, p, s, c, case, opened, end))

        # ---- pulled back in after being met
        open_forever = False
        if not withdrawn and d.chance(0.07):
            end, open_forever = self._pull_back(b, p, s, c, case, wos, end, anonymous)

        lo = min([first, opened] + [k.started for k in b.calls]) - MARGIN_BEFORE
        if open_forever or end > self.as_of:
            return lo, INF, withdrawn
        return lo, end + (self.reopen_days + MARGIN_AFTER_DAYS) * DAY, withdrawn

    def _works(self, into: list[RawWorksOrder], case: RawCase | None, work: cat.Work,
               t_raise: int, parent: int, show_ref: bool, team: str | None, depth: int = 0) -> list[RawWorksOrder]:
        """A works order and the follow-ons it leads to (outcome follow_on_required)."""
        d = self.d
        team = team or d.pick(work.teams)
        priority = ("P1", "P2", "P3", "P4")[d.weighted(cumulative(work.priorities))]
        scheduled = self._work_after(t_raise, d.exp(DAY)) if d.chance(0.7) else -1
        base = max(t_raise, scheduled)
        location = case.location if case else (None, None, None)
        if d.chance(0.03):
            done, status, outcome = self._work_after(base, d.between(1, 5) * DAY), "cancelled", None
        else:
            speed = {"P1": 0.2, "P2": 0.6, "P3": 1.0, "P4": 1.8}[priority]
            done = self._work_after(base, d.lognormal(work.days_to_complete * speed * DAY, 0.6))
            r = d.u()
            outcome = ("fixed" if r < 0.8 or (r < 0.92 and depth >= 2) else "follow_on_required" if r < 0.92
                       else "no_fault_found" if r < 0.96 else "temporary_fix" if r < 0.98 else "no_access")
            status = "completed"
        wo = RawWorksOrder(self.next_key(), case.key if case else -1, show_ref, parent, work.job_type,
                           priority, team, location, t_raise, scheduled, done, status, outcome)
        into.append(wo)
        if outcome != "follow_on_required":
            return [wo]
        child_raise = self._work_after(done, d.between(1, 10) * DAY)
        child_team = team if d.chance(0.5) else d.pick(work.teams)
        return [wo] + self._works(into, case, work, child_raise, parent=wo.key,
                                  show_ref=case is not None and d.chance(0.7), team=child_team, depth=depth + 1)

    def _chase_call(self, b: _Batch, p: Person, s: cat.Service, case: RawCase, t: int,
                    wrap: str, p_ok: float = 0.6, p_typo: float = 0.08) -> list[RawCall]:
        d = self.d
        queue = s.name if d.chance(0.93) else cat.GENERAL_QUEUE
        number = self._caller(p, t)
        if p_ok < 1 and d.chance(0.1):  # abandoned: no agent, so no reference
            return self._call(b, t, queue, number, None)
        transfer = d.chance(0.15)
        team = cat.CONTACT_CENTRE if transfer or d.chance(0.75) else s.hub
        legs = self._call(b, t, queue, number, team, transfer=transfer, hub=s.hub)
        legs[-1].wrap = wrap
        self._ref(legs[-1], case, p_ok, p_typo)
        return legs

    def _chases(self, b: _Batch, p: Person, s: cat.Service, case: RawCase,
                opened: int, end: int, p_ok: float) -> None:
        """Progress chases (about one a month of waiting) and the odd complaint."""
        d = self.d
        open_days = (end - opened) / DAY
        chases = d.poisson(min(open_days, 180) * 0.035)
        for i in range(chases):
            t = self._call_time_on_or_after(int(opened + DAY + d.u() * max(0, end - opened - DAY)))
            if t >= end - HOUR:
                continue
            wrap = "complaint" if d.chance(0.08 + 0.1 * i) else "progress_chase"
            self._chase_call(b, p, s, case, t, wrap, p_ok=p_ok, p_typo=min(0.08, 1 - p_ok))

    def _repeat_while_open(self, b: _Batch, p: Person, s: cat.Service, c: cat.Category,
                           case: RawCase, opened: int, end: int) -> int:
        """The person reports the same problem again while it is open: a second case
        (merged as a duplicate, or left to be closed with the first) or a repeat-report call."""
        d = self.d
        t = int(opened + 2 * HOUR + d.u() * max(0, end - opened - 5 * HOUR))
        if d.chance(0.5):
            t = self._call_time_on_or_after(t)
            if t < end - HOUR:
                self._chase_call(b, p, s, case, t, "repeat_report", p_ok=0.7)
            return end
        t = self._contact_time(t, "web", False)
        if t >= end - HOUR:
            return end
        location = case.location if d.chance(0.7) else (None, None, None)
        channel = d.pick(("web", "app", "email"))
        repeat = self._new_case(b, s, c, channel, location, t, s.hub, b.customer_for(t))
        if d.chance(0.6):
            return self._event(repeat, self._work_after(t, d.exp(8 * HOUR)), "closed", repeat.team, "closed",
                               "duplicate", duplicate_of=case.key)
        return self._event(repeat, max(end + 600, t + HOUR), "closed", repeat.team, "closed", "resolved")

    def _pull_back(self, b: _Batch, p: Person, s: cat.Service, c: cat.Category, case: RawCase,
                   wos: list[RawWorksOrder], end: int, anonymous: bool) -> tuple[int, bool]:
        """Met, then back within the reopen window: a call that reopens the case, a
        reopen by staff, a new report of the same problem, or a call nothing follows."""
        d = self.d
        t = self._work_after(end, d.between(1, 20) * DAY)
        r = 0.6 if anonymous else d.u()  # nobody can call back about an anonymous report
        if r < 0.55 or r >= 0.87:
            t = self._call_time_on_or_after(t)
            legs = self._chase_call(b, p, s, case, t, "new_request", p_ok=0.7, p_typo=0.0)
            if r >= 0.87:
                return end, True
            t = (legs[-1].answered if legs[-1].answered > 0 else legs[-1].ended) + 120
        elif r >= 0.75:
            t = self._contact_time(t, "web", False)
            repeat = self._new_case(b, s, c, d.pick(("web", "app")), case.location, t, s.hub,
                                    b.customer_for(t))
            return self._event(repeat, self._work_after(t, d.lognormal(5 * DAY, 0.6)), "closed", repeat.team,
                               "closed", "resolved"), False
        t = self._event(case, t, "reopened", case.team, "open")
        if c.work and d.chance(0.4):
            parent = wos[-1].key if wos else -1
            redo = self._works(b.works_orders, case, c.work, self._work_after(t, d.exp(DAY)), parent=parent,
                               show_ref=parent == -1 or d.chance(0.7), team=None)
            t = max(w.done for w in redo)
        return self._event(case, self._work_after(t, d.lognormal(4 * DAY, 0.6)), "closed", case.team, "closed",
                           "resolved"), False

    def _proactive_works(self) -> None:
        """Inspectors' own jobs: no case, no parent (and their follow-ons): in no journey."""
        d, years = self.d, (self.as_of - self.start) / (365 * DAY)
        for _ in range(d.poisson(PROACTIVE_RATE * len(self.people) * years)):
            work = d.pick(cat.PROACTIVE_WORK)
            street = d.pick(self.streets)
            t = self._work_after(int(d.between(self.start + DAY, self.as_of - DAY)), 0)
            for wo in self._works(self.world.works_orders, None, work, t, parent=-1, show_ref=False, team=None):
                wo.location = (None, d.pick(street.postcodes), street.usrn)
