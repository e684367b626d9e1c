"""Phone numbers stay inside Ofcom's drama ranges and are not shared by unrelated people;
e-mail addresses are unique per person."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from pipeline.generate.draws import Draws
from pipeline.generate.numbers import EmailBook, NumberBook, drama_landlines

# Ofcom's ranges for drama (national significant numbers), as the issue lists them.
DRAMA = [r"7700900\d{3}", r"1632960\d{3}", r"11[345678]4960\d{3}", r"1214960\d{3}", r"1314960\d{3}",
         r"1414960\d{3}", r"1514960\d{3}", r"1614960\d{3}", r"1914980\d{3}", r"2079460\d{3}",
         r"2896496\d{3}", r"2920180\d{3}"]
BLOCKED = {"+441632960000", "+441632960999"}  # defaults.yaml's switchboard/test lines
POOL = 1000 + 15998


def _is_drama(e164: str) -> bool:
    return e164.startswith("+44") and any(re.fullmatch(p, e164[3:]) for p in DRAMA)


def _book(seed: int = 0) -> NumberBook:
    return NumberBook(Draws(np.random.default_rng(seed)))


def test_the_pool_is_every_drama_number_but_the_blocked_ones():
    landlines = drama_landlines()
    assert len(set(landlines)) == len(landlines) == 15998
    assert all(_is_drama(n) for n in landlines) and not BLOCKED & set(landlines)


def test_a_key_keeps_its_number_and_no_two_keys_share_one_while_the_pool_lasts():
    book = _book()
    keys = [("mobile", i, 0) for i in range(3000)] + [("landline", str(i)) for i in range(5000)] + \
           [("other", i) for i in range(POOL - 8000)]
    numbers = [book.number(k) for k in keys]
    assert len(set(numbers)) == POOL == book.size == book.issued and book.reused == 0
    assert [book.number(k) for k in keys[:50]] == numbers[:50]  # no new allocation
    assert all(_is_drama(n) for n in numbers) and not BLOCKED & set(numbers)


def test_mobiles_come_from_the_mobile_block_then_overflow_to_landline_blocks():
    book = _book()
    mobiles = [book.number(("mobile", i, 0)) for i in range(1001)]
    assert all(n.startswith("+447700900") for n in mobiles[:1000])
    assert not mobiles[1000].startswith("+447") and _is_drama(mobiles[1000])
    assert book.number(("landline", "u1")).startswith("+441632960")  # households fill the local block first


def test_landlines_take_the_mobile_block_once_the_landline_blocks_are_gone():
    book = _book()
    landlines = [book.number(("landline", str(i))) for i in range(15998)]
    assert landlines[0] == "+441632960001" and book.number(("landline", "last")).startswith("+447700900")
    assert book.number(("other", 0)).startswith("+447700900")


def test_the_pool_running_out_reuses_numbers_and_counts_them():
    book = _book()
    for i in range(POOL):
        book.number(("other", i))
    again = book.number(("other", POOL))
    assert book.reused == 1 and _is_drama(again)


def test_mobile_order_is_seeded():
    first = [_book(1).number(("mobile", i, 0)) for i in range(5)]
    assert first == [_book(1).number(("mobile", i, 0)) for i in range(5)]
    assert first != [_book(2).number(("mobile", i, 0)) for i in range(5)]


def test_a_second_namesake_gets_a_numbered_address():
    book = EmailBook()
    first = book.address("Andrew", "Underhill", 0, 7, "example.net")
    second = book.address("Andrew", "Underhill", 0, 7, "example.net")
    assert first == "andrew.underhill@example.net" and second == "andrew.underhill2@example.net"
    assert book.address("ANDREW", "UNDERHILL", 0, 7, "example.net") == "andrew.underhill3@example.net"


def _e164(text: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(text, "GB"), phonenumbers.PhoneNumberFormat.E164)


def test_in_a_council_only_household_landlines_are_shared_and_emails_are_personal(council):
    person = council.records.set_index("source_ref")["person_id"]
    cases = council.latest("crm_cases")
    calls = council.extracts["call_logs"]
    calls = calls[~calls["caller_number"].isin(["", "withheld"])]
    phones = pd.DataFrame({
        "number": [_e164(p) for p in cases["phone"] if p] + [_e164(n) for n in calls["caller_number"]],
        "person_id": list(person.loc[cases.loc[cases["phone"] != "", "case_id"]])
        + list(person.loc[calls["call_id"]]),
    })
    holders = phones.drop_duplicates().groupby("number")["person_id"].nunique()
    shared = holders[holders > 1].index
    assert len(shared) and all(n.startswith("+441632960") for n in shared)  # household landlines only
    emails = cases[cases["email"] != ""].assign(email=lambda df: df["email"].str.strip().str.lower())
    assert (emails.assign(p=person.loc[emails["case_id"]].to_numpy()).groupby("email")["p"].nunique() == 1).all()


@pytest.mark.parametrize("key", [("mobile", 0, 0), ("former", 0), ("landline", "u"), ("other", 0)])
def test_every_kind_of_key_gets_a_drama_number(key):
    assert _is_drama(_book().number(key))
