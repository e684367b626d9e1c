"""The person model's comparisons and blocking rules, declared once.

Training (``train_model``), nightly prediction (through the saved JSON) and the
benchmarks (FEBRL and Splink standalone) build their settings from these functions,
so "the same comparison machinery" is literally the same code.

Two choices answer the household problem (stack-notes.md: default comparisons
over-merge family members, because a shared surname, postcode, address and landline
each count as separate evidence):

- surname and address are **one** comparison, so "same surname at the same address"
  is scored once, as the household-level evidence it is;
- mobile and landline are **separate** comparisons, so a shared landline (household)
  earns its own, smaller weight than a shared mobile (personal).
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

NAME_SIMILARITY = 0.9  # Jaro-Winkler at or above: a typo of the same name
ADDRESS_SIMILARITY = 0.9


def forename_comparison(forename: str = "forename", names: str = "forename_names") -> cl.CustomComparison:
    """Exact, then nickname-equivalent (the nickname groups intersect), then a typo,
    then an initial that fits (``J`` and ``James``)."""
    initial = cll.CustomLevel(
        f"(length({forename}_l) = 1 OR length({forename}_r) = 1) "
        f"AND substr({forename}_l, 1, 1) = substr({forename}_r, 1, 1)",
        label_for_charts="Initial fits", base_dialect_str="duckdb")
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel(forename),
            cll.ExactMatchLevel(forename),
            cll.ArrayIntersectLevel(names, min_intersection=1).configure(
                label_for_charts="Nickname equivalent (e.g. Bill / William)"),
            cll.JaroWinklerLevel(forename, NAME_SIMILARITY),
            initial,
            cll.ElseLevel(),
        ],
        output_column_name="forename",
        comparison_description="Forename with nickname equivalence",
    )


def _same_address(address: str, postcode: str, uprn: str | None) -> cll.ComparisonLevelCreator:
    # A missing postcode does not contradict a matching address line.
    postcode_agrees = cll.Or(cll.NullLevel(postcode), cll.ExactMatchLevel(postcode))
    by_line = cll.And(postcode_agrees, cll.JaroWinklerLevel(address, ADDRESS_SIMILARITY))
    return cll.Or(cll.ExactMatchLevel(uprn), by_line) if uprn else by_line


def surname_address_comparison(surname: str = "surname", address: str = "address_line1",
                               postcode: str = "postcode", uprn: str | None = "uprn") -> cl.CustomComparison:
    """Who and where, scored together: same surname at the same address counts once.

    "Same address" is the same UPRN, or a near-identical address line with the same
    (or a missing) postcode. ``uprn=None`` for data that has none (FEBRL).
    """
    def same_address() -> cll.ComparisonLevelCreator:
        return _same_address(address, postcode, uprn)

    def similar_surname() -> cll.ComparisonLevelCreator:
        return cll.JaroWinklerLevel(surname, NAME_SIMILARITY)

    unknown = [cll.NullLevel(c) for c in (surname, address, postcode, uprn) if c]
    return cl.CustomComparison(
        comparison_levels=[
            cll.And(*unknown).configure(is_null_level=True, label_for_charts="Surname and address unknown"),
            cll.And(cll.ExactMatchLevel(surname), same_address()).configure(
                label_for_charts="Same surname, same address"),
            cll.And(similar_surname(), same_address()).configure(label_for_charts="Similar surname, same address"),
            cll.And(cll.ExactMatchLevel(surname), cll.ExactMatchLevel(postcode)).configure(
                label_for_charts="Same surname, same postcode"),
            same_address().configure(label_for_charts="Same address, other surname"),
            cll.ExactMatchLevel(surname).configure(label_for_charts="Same surname elsewhere"),
            similar_surname().configure(label_for_charts="Similar surname elsewhere"),
            cll.ExactMatchLevel(postcode).configure(label_for_charts="Same postcode, other surname"),
            cll.ElseLevel(),
        ],
        output_column_name="surname_address",
        comparison_description="Surname and address as one household-aware comparison",
    )


def email_comparison(column: str = "email") -> cl.CustomComparison:
    """Exact, then one typo that leaves the digits alone: ``jo.ward316`` vs
    ``jo.ward311`` are two people's addresses, ``jo.wrad316`` is a typo."""
    same_digits = cll.CustomLevel(
        f"regexp_replace({column}_l, '[^0-9]', '', 'g') = regexp_replace({column}_r, '[^0-9]', '', 'g')",
        base_dialect_str="duckdb")
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.And(cll.DamerauLevenshteinLevel(column, 1), same_digits).configure(
                label_for_charts="One typo, same digits"),
            cll.ElseLevel(),
        ],
        output_column_name=column,
    )


def exact_or_typo_comparison(column: str, typo_distance: int | None = 1) -> cl.CustomComparison:
    """Exact, then (optionally) one edit away: for mobiles and identifiers."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
    if typo_distance:
        levels.append(cll.DamerauLevenshteinLevel(column, typo_distance))
    return cl.CustomComparison(comparison_levels=[*levels, cll.ElseLevel()], output_column_name=column)


def date_of_birth_comparison(column: str = "date_of_birth", date_format: str = "%Y-%m-%d") -> cl.DateOfBirthComparison:
    """Exact, one edit, within a year, else: a different DOB separates twins' parents
    from their children (same name, same house)."""
    return cl.DateOfBirthComparison(column, input_is_string=True, datetime_format=date_format,
                                    datetime_thresholds=[1], datetime_metrics=["year"])


def person_comparisons() -> list[cl.CustomComparison | cl.DateOfBirthComparison]:
    """The comparisons of the council person model (features of identity_features)."""
    return [
        forename_comparison(),
        surname_address_comparison(),
        email_comparison(),
        exact_or_typo_comparison("mobile"),
        exact_or_typo_comparison("landline", typo_distance=None),
        date_of_birth_comparison(),
    ]


def person_blocking_rules() -> list:
    """Candidate pairs for prediction. Shared email and CRM customer_id are linked
    deterministically (hard links), so they need no block here."""
    return [
        block_on("mobile"),
        block_on("landline"),
        block_on("uprn"),
        block_on("surname", "postcode"),
        block_on("surname", "address_line1"),
        block_on("postcode", "address_line1"),
        block_on("surname", "substr(forename, 1, 1)"),  # nicknames and forename typos
        block_on("forename", "substr(surname, 1, 2)"),  # surname typos
        block_on("postcode", "substr(forename, 1, 1)"),
        block_on("date_of_birth", "substr(surname, 1, 1)"),
    ]


def person_settings() -> SettingsCreator:
    """Untrained settings of the council person model (dedupe of CRM contact records)."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=person_comparisons(),
        blocking_rules_to_generate_predictions=person_blocking_rules(),
    )
