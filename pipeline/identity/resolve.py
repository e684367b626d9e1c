"""The identity stage: staged cases and calls in, people and call attribution out.

Outputs are shaped as the restricted tables ``identity.person_record``,
``identity.person``, ``identity.call_attribution`` and ``identity.identity_audit``, and
the pair cache ``identity.link_record`` / ``identity.link_pair``
(pipeline/warehouse/tables.py). No name, phone, email, address or date of birth leaves
this stage: only case and call ids, person ids, keys, methods and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline.config import IdentityRules, JourneyRules
from pipeline.identity.attribution import attribute_calls
from pipeline.identity.inputs import check_calls, check_cases, check_previous
from pipeline.identity.linkage import link_people, load_model, model_version
from pipeline.identity.pair_cache import LinkCache
from pipeline.identity.stable_ids import assign_person_ids, check_secret, person_table
from pipeline.transforms.identity_features import contact_features, linkage_records


@dataclass(frozen=True)
class PreviousIdentity:
    """Last run's identity map (``identity.person_record`` and ``identity.person``) and
    pair cache (None: score every pair, as a full build does)."""

    person_record: pd.DataFrame
    person: pd.DataFrame
    link_cache: LinkCache | None = None

    @classmethod
    def empty(cls) -> PreviousIdentity:
        return cls(pd.DataFrame({"case_id": pd.Series(dtype=object), "person_id": pd.Series(dtype=object)}),
                   pd.DataFrame({c: pd.Series(dtype=object) for c in ("person_id", "person_key", "first_run_id")}))


@dataclass(frozen=True)
class IdentityResult:
    person_record: pd.DataFrame  # case_id, person_id: every staged case
    person: pd.DataFrame  # person_id, person_key, first_run_id
    call_attribution: pd.DataFrame  # call_id, person_id, method, resolved_case_id: every leg
    identity_audit: pd.DataFrame  # run_id, old_person_id, new_person_id, change, reason
    link_record: pd.DataFrame  # the pair cache (pair_cache.LinkCache): unique_id, content_hash, stamp
    link_pair: pd.DataFrame  # unique_id_l, unique_id_r, weight, personal weights
    report: dict = field(default_factory=dict)  # counts only, never personal values


def resolve_identity(cases: pd.DataFrame, calls: pd.DataFrame, previous: PreviousIdentity | None,
                     rules: IdentityRules, journey_rules: JourneyRules, secret: str, run_id: str) -> IdentityResult:
    """Stitch CRM cases into stable people and attribute every call leg to one (or
    say why not). ``previous`` is None on the first run."""
    check_secret(secret, rules.hmac_secret_env)
    previous = previous or PreviousIdentity.empty()
    check_cases(cases)
    check_calls(calls)
    check_previous(previous.person_record, previous.person)
    model = load_model(rules.model_path)

    records, case_record = linkage_records(contact_features(cases, rules.blocked_numbers))
    clusters, link_report, link_cache = link_people(records, model, rules.match_probability,
                                                      rules.max_cluster_size, previous.link_cache)
    case_cluster = case_record.merge(clusters, on="unique_id")[["case_id", "cluster_id"]]

    person_record, audit = assign_person_ids(case_cluster, previous.person_record,
                                             set(previous.person["person_id"]), run_id)
    person = person_table(person_record, previous.person, secret, run_id)
    attribution, attribution_report = attribute_calls(calls, cases, person_record, rules.blocked_numbers,
                                                      journey_rules)
    report = {
        "model_version": model_version(model),
        "cases": int(len(cases)),
        "linkage_records": int(len(records)),
        **link_report,
        "people": int(len(person)),
        "identity_changes": {c: int(n) for c, n in audit["change"].value_counts().sort_index().items()},
        "previous_ids_gone": int(len(set(previous.person_record["person_id"]) - set(person["person_id"]))),
        **attribution_report,
    }
    return IdentityResult(person_record, person, attribution, audit, link_cache.record, link_cache.pair, report)
