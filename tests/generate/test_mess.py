"""Messy values stay the same facts: every variant normalises back to the clean value."""

from __future__ import annotations

import numpy as np
import phonenumbers
import pytest

from pipeline.generate.draws import Draws
from pipeline.generate.mess import (cli_phone, crm_phone, mistype_ref, nicknames_of, phone_formats, typo,
                                    vary_forename, vary_postcode)


@pytest.fixture()
def d() -> Draws:
    return Draws(np.random.default_rng(0))


def _e164(text: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(text, "GB"), phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("e164", ["+447700900123", "+441632960123", "+441134960123", "+442079460123"])
def test_every_phone_format_is_the_same_number(e164, d):
    formats = phone_formats(e164)
    assert len(set(formats)) == len(formats) >= 8
    assert {_e164(f) for f in formats} == {e164}
    assert {_e164(cli_phone(e164, d)) for _ in range(50)} == {e164}
    assert {_e164(crm_phone(e164, d)) for _ in range(50)} == {e164}


def test_the_formats_of_extracts_md_are_among_them():
    assert {"07700 900123", "+44 7700 900123"} <= set(phone_formats("+447700900123"))
    assert {"01632960123", "(01632) 960 123"} <= set(phone_formats("+441632960123"))


def test_a_mistyped_reference_can_never_be_a_real_one(d):
    for _ in range(200):
        bad = mistype_ref("CRM1000457", d)
        assert bad != "CRM1000457" and abs(len(bad) - 10) == 1 and bad.startswith("CRM")


def test_forenames_come_back_as_nicknames_from_the_nicknames_table(d):
    assert "Bill" in nicknames_of("William") and "Liz" in nicknames_of("Elizabeth")
    seen = {vary_forename("William", d).strip().title() for _ in range(400)}
    assert "William" in seen and "Bill" in seen and seen & {"Wiliam", "Willliam", "Wililam", "W"}
    assert nicknames_of("Siân") == ()


def test_a_typo_keeps_the_first_letter_and_changes_the_name(d):
    for _ in range(100):
        slip = typo("Whitmore", d)
        assert slip[0] == "W" and slip != "Whitmore" and abs(len(slip) - 8) <= 1


def test_postcode_variants_normalise_back(d):
    variants = {vary_postcode("ZX3 4AB", d) for _ in range(200)}
    assert len(variants) >= 3
    assert {" ".join(v.split()).upper().replace(" ", "") for v in variants} == {"ZX34AB"}
