"""How real records get messy: nicknames, typos, case and spacing, phone and postcode
formats, mistyped case references. Each function takes the clean value and the draws,
so the same seed always makes the same mess.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from nicknames import NickNamer

from pipeline.generate.draws import Draws

_VOWELS = "aeiou"


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=None)
def nicknames_of(forename: str) -> tuple[str, ...]:
    """Nicknames the `nicknames` table knows for a forename, title-cased, stable order."""
    return tuple(sorted(n.title() for n in _nicknamer().nicknames_of(forename) if len(n) >= 3))


def ascii_fold(text: str) -> str:
    """'Siân' -> 'Sian' (for e-mail local parts)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def typo(text: str, d: Draws) -> str:
    """One keying slip: a dropped, doubled or swapped letter, or a wrong vowel."""
    if len(text) < 3:
        return text
    i = 1 + d.below(len(text) - 2)  # keep the first letter: people rarely get it wrong
    kind = d.below(4)
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    if kind == 2 and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 3 and text[i].lower() in _VOWELS:
        return text[:i] + d.pick([v for v in _VOWELS if v != text[i].lower()]) + text[i + 1:]
    return text[:i] + text[i + 1:]


def vary_case_and_spacing(text: str, d: Draws, p_case: float = 0.15, p_space: float = 0.08) -> str:
    if d.chance(p_case):
        text = text.upper() if d.chance(0.6) else text.lower()
    if d.chance(p_space):
        text = d.pick((" " + text, text + " ", text.replace(" ", "  ") if " " in text else text + "  "))
    return text


def vary_forename(forename: str, d: Draws) -> str:
    """As a member of staff or the person typed it: nickname, typo, case, spacing."""
    nicks = nicknames_of(forename)
    if nicks and d.chance(0.3):
        forename = d.pick(nicks)
    elif d.chance(0.07):
        forename = typo(forename, d)
    elif d.chance(0.04):
        forename = forename[0]  # an initial only
    return vary_case_and_spacing(forename, d)


def vary_surname(surname: str, d: Draws) -> str:
    if d.chance(0.08):
        surname = typo(surname, d)
    elif "'" in surname and d.chance(0.4):
        surname = surname.replace("'", "")
    elif "-" in surname and d.chance(0.4):
        surname = surname.replace("-", " ")
    return vary_case_and_spacing(surname, d)


def email_address(forename: str, surname: str, pattern: int, number: int, domain: str) -> str:
    f = ascii_fold(forename).lower().replace(" ", "")
    s = ascii_fold(surname).lower().replace("'", "").replace(" ", "").replace("-", "")
    local = (f"{f}.{s}", f"{f[0]}{s}{number}", f"{s}.{f}{number}", f"{f}{number}")[pattern % 4]
    return f"{local}@{domain}"


# ------------------------------------------------------------------ phones


def _split_national(e164: str) -> tuple[str, str]:
    """'+441632960123' -> ('01632', '960123'); area code length per UK numbering."""
    national = "0" + e164[3:]
    if national.startswith(("07", "01632")):
        n = 5
    elif national.startswith(("020", "028", "029")):
        n = 3
    else:
        n = 4
    return national[:n], national[n:]


def _group(subscriber: str) -> str:
    return f"{subscriber[:3]} {subscriber[3:]}" if len(subscriber) <= 7 else f"{subscriber[:4]} {subscriber[4:]}"


def phone_formats(e164: str) -> tuple[str, ...]:
    """The ways a UK number gets written in a CRM (all parse to the same E.164)."""
    area, sub = _split_national(e164)
    intl_area = area[1:]
    return (
        f"{area} {sub}", f"{area}{sub}", f"{area} {_group(sub)}", f"({area}) {_group(sub)}",
        f"({area}) {sub}", f"+44 {intl_area} {sub}", f"+44{intl_area}{sub}",
        f"+44 (0){intl_area} {sub}", f"0044 {intl_area} {sub}",
    )


def crm_phone(e164: str, d: Draws) -> str:
    formats = phone_formats(e164)
    # the plain national forms dominate; the rest are the long tail
    return formats[d.below(2)] if d.chance(0.6) else d.pick(formats)


def cli_phone(e164: str, d: Draws) -> str:
    """How a telephone switch writes the caller's number."""
    national = "0" + e164[3:]
    return d.pick((national, national, e164, e164[1:]))


# ------------------------------------------------------------------ addresses


def vary_postcode(postcode: str, d: Draws) -> str:
    r = d.u()
    if r < 0.12:
        return postcode.lower()
    if r < 0.22:
        return postcode.replace(" ", "")
    if r < 0.27:
        return " " + postcode.replace(" ", "  ")
    return postcode


def vary_address(number: int, street: str, abbreviations: dict[str, str], d: Draws) -> str:
    r = d.u()
    if r < 0.15:
        last = street.rsplit(" ", 1)
        if len(last) == 2 and last[1] in abbreviations:
            street = f"{last[0]} {abbreviations[last[1]]}"
    elif r < 0.22:
        return vary_case_and_spacing(f"{number}, {street}", d, p_case=0.5)
    return vary_case_and_spacing(f"{number} {street}", d, p_case=0.1)


# ------------------------------------------------------------------ references


def mistype_ref(ref: str, d: Draws) -> str:
    """A case reference keyed wrongly so that it matches no case: one digit dropped or
    doubled, so the length is wrong (a swapped digit could hit another real case)."""
    head = len(ref) - len(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    i = head + d.below(len(ref) - head)
    return ref[:i] + ref[i + 1:] if d.chance(0.5) else ref[:i] + ref[i] + ref[i:]
