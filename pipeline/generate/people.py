"""The synthetic population: streets, households and people, and the CRM contact
records people leave behind (several per person, each typed a little differently).

Households share an address, usually a surname, and sometimes a landline; members
have their own mobiles. Some people change mobile or e-mail during the window. Phone
numbers are named by keys and drawn from the drama ranges only when first used
(pipeline/generate/numbers.py), so unrelated people do not share them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.generate import catalogue as cat
from pipeline.generate.draws import Draws, cumulative
from pipeline.generate.mess import crm_phone, vary_address, vary_forename, vary_postcode, vary_surname
from pipeline.generate.numbers import EmailBook, NumberBook, NumberKey

HOUSEHOLD_SIZES = cumulative((0.34, 0.34, 0.18, 0.14))  # 1, 2, 3, 4 people
MAX_CONTACT_RECORDS = 3


@dataclass(frozen=True)
class Street:
    name: str
    usrn: str
    postcodes: tuple[str, ...]


@dataclass
class Household:
    number: int
    street: Street
    postcode: str
    uprn: str
    landline: NumberKey | None  # the number itself comes from the NumberBook on first use


@dataclass
class Person:
    index: int
    person_id: str
    household: Household
    forename: str
    surname: str
    date_of_birth: str
    numbers: NumberBook  # shared by everyone: turns the keys below into E.164 numbers
    mobiles: list[tuple[int, NumberKey]]  # (from epoch second, key); the latest one started is current
    emails: list[tuple[int, str]]
    other_phone: NumberKey  # a work or borrowed phone: rings from it, never on a CRM record
    former_mobile: NumberKey | None = None  # given up before the window; old forms still carry it
    customers: list[int] = field(default_factory=list)  # keys of this person's CRM contact records

    def mobile_at(self, t: int) -> NumberKey | None:
        """The key of the mobile current at ``t`` (``phone`` turns it into a number)."""
        current = None
        for start, key in self.mobiles:
            if start <= t:
                current = key
        return current

    def phone(self, key: NumberKey) -> str:
        """E.164 number of one of this person's (or their household's) phone keys."""
        return self.numbers.number(key)

    def email_at(self, t: int) -> str:
        current = self.emails[0][1]
        for start, address in self.emails:
            if start <= t:
                current = address
        return current


@dataclass(frozen=True)
class ContactRecord:
    """A CRM contact record (customer_id) as it was typed when it was created."""

    key: int
    person: int
    created_at: int
    forename: str | None
    surname: str | None
    email: str | None
    phone: str | None  # as written
    phone_e164: str | None
    address_line1: str | None
    postcode: str | None
    uprn: str | None
    date_of_birth: str | None


def build_streets(d: Draws) -> list[Street]:
    streets = []
    for district in range(1, 10):
        for i, name in enumerate(cat.STREETS):
            units = tuple(f"{cat.POSTCODE_AREA}{district} {1 + d.below(9)}"
                          f"{d.pick(cat.POSTCODE_UNIT_LETTERS)}{d.pick(cat.POSTCODE_UNIT_LETTERS)}"
                          for _ in range(3))
            streets.append(Street(name, f"9900{district}{i:03d}", units))
    return streets


def build_people(count: int, window: tuple[int, int], d: Draws) -> tuple[list[Person], list[Street]]:
    """``count`` people in households on the council's streets; ``window`` (start, end)
    epoch seconds bounds the moments people change phones and e-mails."""
    streets = build_streets(d)
    numbers, emails_taken = NumberBook(d), EmailBook()
    people: list[Person] = []
    while len(people) < count:
        size = min(1 + d.weighted(HOUSEHOLD_SIZES), count - len(people))
        street = d.pick(streets)
        uprn = f"{90000000000 + 7919 * (len(people) + 1)}"
        household = Household(number=1 + d.below(180), street=street, postcode=d.pick(street.postcodes),
                              uprn=uprn, landline=("landline", uprn) if d.chance(0.45) else None)
        family = d.pick(cat.SURNAMES)
        for member in range(size):
            i = len(people)
            forename = d.pick(cat.FORENAMES)
            surname = family if member == 0 or d.chance(0.85) else d.pick(cat.SURNAMES)
            born = dt.date(1940, 1, 1) + dt.timedelta(days=d.below(66 * 365))
            mobiles = [(window[0], ("mobile", i, 0))] if d.chance(0.85) or household.landline is None else []
            if mobiles and d.chance(0.08):
                mobiles.append((int(d.between(*window)), ("mobile", i, 1)))
            domain = d.pick(cat.EMAIL_DOMAINS)
            emails = [(window[0], emails_taken.address(forename, surname, d.below(4), i % 1000, domain))]
            if d.chance(0.1):
                emails.append((int(d.between(*window)),
                               emails_taken.address(forename, surname, d.below(4) + 1, (i * 7) % 1000,
                                                    d.pick(cat.EMAIL_DOMAINS))))
            former = ("former", i) if mobiles and d.chance(0.1) else None
            people.append(Person(i, f"P{i + 1:06d}", household, forename, surname, born.isoformat(),
                                 numbers, mobiles, emails, ("other", i), former))
    return people, streets


def new_contact_record(key: int, person: Person, t: int, d: Draws) -> ContactRecord:
    """A contact record as typed on the day: any field may be varied or missing."""
    h = person.household
    mobile = person.mobile_at(t)
    if person.former_mobile and d.chance(0.5):
        mobile = person.former_mobile  # details copied from an old form
    phone_key = None
    r = d.u()
    if mobile and (h.landline is None or r < 0.55):
        phone_key = mobile
    elif h.landline and r < 0.88:
        phone_key = h.landline
    elif mobile and r < 0.88:
        phone_key = mobile
    phone = person.phone(phone_key) if phone_key else None
    email = person.email_at(t) if d.chance(0.7) else None
    if email and d.chance(0.08):
        email = email.title() if d.chance(0.5) else email.upper()
    has_address = d.chance(0.85)
    return ContactRecord(
        key=key, person=person.index, created_at=t,
        forename=vary_forename(person.forename, d) if d.chance(0.98) else None,
        surname=vary_surname(person.surname, d),
        email=email,
        phone=crm_phone(phone, d) if phone else None, phone_e164=phone,
        address_line1=vary_address(h.number, h.street.name, cat.STREET_ABBREVIATIONS, d) if has_address else None,
        postcode=vary_postcode(h.postcode, d) if has_address or d.chance(0.5) else None,
        uprn=h.uprn if has_address and d.chance(0.6) else None,
        date_of_birth=person.date_of_birth if d.chance(0.1) else None,
    )
