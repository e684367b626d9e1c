"""Contact details of CRM cases turned into comparable linkage features.

Splink compares values as they are; the judgement about what counts as "the same"
(Bill is William, ``Rd`` is ``Road``, a switchboard number is nobody's phone) lives
here, once, so training, nightly prediction and the benchmarks see identical features.
Staged input is already normalised (docs/stages.md §1: phones E.164 or None, emails
lower-case, postcodes ``AB1 2CD``); this module only adds what linkage needs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from functools import lru_cache

import pandas as pd
from nicknames import NickNamer

from pipeline.transforms.text import strip

# The contact fields of a CRM case (extracts.md): one linkage record's raw material.
CONTACT_COLUMNS = ("customer_id", "forename", "surname", "email", "phone", "address_line1",
                   "postcode", "uprn", "date_of_birth")
# Columns the Splink model compares (pipeline/identity/model/person_model.json).
FEATURE_COLUMNS = ("forename", "forename_names", "surname", "email", "mobile", "landline",
                   "address_line1", "postcode", "uprn", "date_of_birth")
# UK mobiles are 07… nationally, +447… in E.164; everything else is scored as a landline.
UK_MOBILE_PREFIX = "+447"

_STREET_WORDS = {
    "rd": "road", "st": "street", "ave": "avenue", "av": "avenue", "ln": "lane",
    "dr": "drive", "cl": "close", "ct": "court", "cres": "crescent", "cresc": "crescent",
    "gdns": "gardens", "gr": "grove", "pl": "place", "sq": "square", "terr": "terrace",
    "ter": "terrace", "pk": "park", "wy": "way", "hse": "house", "flt": "flat", "apt": "flat",
}
_NOT_LETTER = re.compile(r"[^a-z ]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9 ]+")


def _ascii_lower(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return folded.lower()


def standardise_name(value: str | None) -> str | None:
    """Lower-case letters and single spaces: ``"  O'Brien-Smith "`` -> ``"obrien smith"``."""
    if value is None:
        return None
    text = _ascii_lower(value).replace("-", " ")
    text = " ".join(_NOT_LETTER.sub("", text).split())
    return text or None


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


def nickname_names(forename: str | None) -> list[str] | None:
    """The nickname group of a standardised forename: itself and every name it is a
    nickname of (``bill`` -> bill, william, …). Two forenames are nickname-equivalent
    when their groups intersect (Bill and Will share ``william``)."""
    if forename is None:
        return None
    first = forename.split(" ")[0]
    return sorted({first, *_nicknamer().canonicals_of(first)})


def standardise_address(value: str | None) -> str | None:
    """Lower-case words with street abbreviations spelled out: ``"10 High St."`` ->
    ``"10 high street"``."""
    if value is None:
        return None
    words = _NOT_ALNUM.sub(" ", _ascii_lower(value)).split()
    text = " ".join(_STREET_WORDS.get(w, w) for w in words)
    return text or None


def _map_unique(series: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Apply ``fn`` once per distinct non-null value (names repeat a lot)."""
    present = series.dropna()
    lookup = {v: fn(v) for v in present.unique()}
    out = pd.Series([None] * len(series), index=series.index, dtype=object)
    out[present.index] = present.map(lookup).to_numpy()
    return out


def _blank_to_none(series: pd.Series) -> pd.Series:
    """Stripped text, with blanks and missing values as None (never NaN)."""
    stripped = strip(series)
    return stripped.where(stripped.notna() & (stripped != ""), None)


def _none_for_nan(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def contact_features(cases: pd.DataFrame, blocked_numbers: Collection[str]) -> pd.DataFrame:
    """One row per case: ``case_id``, ``customer_id`` and the compared features.

    A blocked number (switchboard, test line) is dropped here, so it can never be
    evidence for a link; the phone is split into ``mobile`` and ``landline`` because a
    shared landline says far less about identity than a shared mobile.
    """
    blocked = set(blocked_numbers)
    phone = _blank_to_none(cases["phone"])
    phone = phone.where(~phone.isin(blocked), None)
    is_mobile = phone.notna() & (phone.str.startswith(UK_MOBILE_PREFIX) == True)  # noqa: E712 (NaN for None)
    forename = _map_unique(_blank_to_none(cases["forename"]), standardise_name)
    dob = pd.to_datetime(cases["date_of_birth"], errors="coerce")
    return pd.DataFrame({
        "case_id": cases["case_id"].astype(str).to_numpy(),
        "customer_id": _blank_to_none(cases["customer_id"]).to_numpy(),
        "forename": forename.to_numpy(),
        "forename_names": _map_unique(forename, nickname_names).to_numpy(),
        "surname": _map_unique(_blank_to_none(cases["surname"]), standardise_name).to_numpy(),
        "email": _none_for_nan(_blank_to_none(cases["email"]).str.lower()).to_numpy(),
        "mobile": phone.where(is_mobile, None).to_numpy(),
        "landline": phone.where(~is_mobile, None).to_numpy(),
        "address_line1": _map_unique(_blank_to_none(cases["address_line1"]), standardise_address).to_numpy(),
        "postcode": _none_for_nan(_blank_to_none(cases["postcode"]).str.upper()).to_numpy(),
        "uprn": _blank_to_none(cases["uprn"]).to_numpy(),
        "date_of_birth": dob.dt.strftime("%Y-%m-%d").astype(object).where(dob.notna(), None).to_numpy(),
    })


def smallest_per_group(values: pd.Series, groups: pd.Series) -> pd.Series:
    """The smallest value of each row's group, aligned to the rows. (pandas falls back
    to pure Python for ``groupby(...).min()`` on strings; a sort does not.)"""
    ordered = pd.DataFrame({"group": groups.to_numpy(), "value": values.to_numpy()}).sort_values("value")
    smallest = ordered.drop_duplicates("group").set_index("group")["value"]
    return pd.Series(groups.map(smallest).to_numpy(), index=values.index, dtype=object)


def _identifying(features: pd.DataFrame) -> pd.Series:
    """Details specific enough that two cases carrying exactly them are one person."""
    named = features["forename"].notna() & features["surname"].notna()
    located = features[["mobile", "landline", "address_line1", "uprn", "date_of_birth"]].notna().any(axis=1)
    return features["customer_id"].notna() | features["email"].notna() | (named & located)


def linkage_records(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Collapse cases with identical contact details into one linkage record.

    A frequent reporter who gives the same details on fifty cases is one record, not
    fifty (cheaper, and ``max_cluster_size`` then counts distinct detail variants, not
    cases). Cases with too little detail to be sure (e.g. a forename only, or nothing)
    stay one record each. ``unique_id`` is the smallest case_id of the record.

    Returns ``(records, case_record)``: one row per record (``unique_id``,
    ``customer_id`` and the features) and ``case_id -> unique_id`` for every case.
    """
    detail = ["customer_id", *(c for c in FEATURE_COLUMNS if c != "forename_names")]
    key = pd.util.hash_pandas_object(features[detail], index=False).astype(object)
    # Non-identifying cases get a key of their own so they never collapse together.
    key = key.where(_identifying(features), "case:" + features["case_id"])
    unique_id = smallest_per_group(features["case_id"], key)
    case_record = pd.DataFrame({"case_id": features["case_id"].to_numpy(), "unique_id": unique_id.to_numpy()})
    records = (features.loc[features["case_id"] == unique_id, ["case_id", "customer_id", *FEATURE_COLUMNS]]
               .rename(columns={"case_id": "unique_id"}).reset_index(drop=True))
    return records, case_record


def hard_link_edges(records: pd.DataFrame) -> pd.DataFrame:
    """Deterministic links: records sharing a CRM ``customer_id`` or an email.

    Each group is joined as a star on its smallest record (n-1 edges, not n²), which
    connects it just the same. Columns ``unique_id_l, unique_id_r, reason``.
    """
    parts = []
    for column in ("customer_id", "email"):
        values = records[["unique_id", column]].dropna()
        hub = smallest_per_group(values["unique_id"], values[column])
        edges = pd.DataFrame({"unique_id_l": hub.to_numpy(), "unique_id_r": values["unique_id"].to_numpy()})
        parts.append(edges[edges["unique_id_l"] != edges["unique_id_r"]].assign(reason=column))
    return pd.concat(parts, ignore_index=True).drop_duplicates(["unique_id_l", "unique_id_r"])
