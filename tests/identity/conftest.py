"""Small hand-made staged frames for the identity tests (synthetic people only).

Every scenario adds its few records to a fixed background of unrelated people, so the
model sees a realistically small prior (a frame of three records would make almost
any pair look likely to match).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.identity import PreviousIdentity, resolve_identity

CASE_DEFAULTS = {
    "customer_id": None, "forename": None, "surname": None, "email": None, "phone": None,
    "address_line1": None, "postcode": None, "uprn": None, "date_of_birth": None,
    "service": "Highways", "category": "Pothole", "opened_at": pd.Timestamp("2026-03-02 09:00"),
    "closed_at": None, "source_file": "crm_cases/2026-03-02.csv",
}
CALL_DEFAULTS = {"parent_call_id": None, "caller_number": None, "started_at": pd.Timestamp("2026-03-02 10:00"),
                 "service": "Highways", "case_ref": None, "source_file": "call_logs/2026-03-02.csv"}
BACKGROUND_FORENAMES = ["olivia", "arjun", "grace", "kwame", "isla", "piotr", "niamh", "omar", "ruby", "ewan",
                        "fatima", "dylan", "amelia", "ravi", "chloe", "hamish", "zara", "theo", "maryam", "finley",
                        "aoife", "kofi", "ivy", "rhys", "leah", "yusuf", "poppy", "ciaran", "megan", "noah"]
BACKGROUND_SURNAMES = ["okafor", "mensah", "nowak", "macleod", "begum", "fraser", "kowalski", "reid", "shah",
                       "ferguson", "obi", "kerr", "akhtar", "murray", "campbell", "henderson", "singh", "kaur",
                       "mcdonald", "oconnor", "webb", "fox", "knight", "chapman", "gray", "shaw", "ellis",
                       "bailey", "owen", "lloyd"]


class IdentityKit:
    """Builders of staged frames and a runner of the stage, for one test."""

    def __init__(self, rules, journey_rules):
        self.rules, self.journey_rules = rules, journey_rules

    @staticmethod
    def cases(*rows: dict) -> pd.DataFrame:
        """Staged crm_cases rows from partial dicts (each needs a case_id)."""
        columns = ["case_id", *CASE_DEFAULTS, "source_line"]
        frame = pd.DataFrame([{**CASE_DEFAULTS, "source_line": i + 1, **row} for i, row in enumerate(rows)],
                             columns=columns)
        for column in ("opened_at", "closed_at", "date_of_birth"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        text = [c for c in frame.columns if frame[c].dtype == object]
        frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
        return frame

    @staticmethod
    def calls(*rows: dict) -> pd.DataFrame:
        """Staged call_logs rows from partial dicts (each needs a call_id)."""
        columns = ["call_id", *CALL_DEFAULTS, "source_line"]
        frame = pd.DataFrame([{**CALL_DEFAULTS, "source_line": i + 1, **row} for i, row in enumerate(rows)],
                             columns=columns)
        frame["started_at"] = pd.to_datetime(frame["started_at"]).astype("datetime64[ns]")
        text = [c for c in columns if c not in ("started_at", "source_line")]
        frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
        return frame

    def resolve(self, cases: list[dict], calls: pd.DataFrame | None = None,
                previous: PreviousIdentity | None = None, run_id: str = "run-1", secret: str = "test-secret",
                with_background: bool = True, **rule_overrides):
        """resolve_identity on the scenario's cases (plus the background); rules overridable."""
        rules = self.rules.model_copy(update=rule_overrides) if rule_overrides else self.rules
        frame = self.cases(*cases, *(background() if with_background else []))
        return resolve_identity(frame, self.calls() if calls is None else calls, previous, rules,
                                self.journey_rules, secret, run_id)

    @staticmethod
    def person_of(result, case_id: str) -> str:
        return result.person_record.set_index("case_id").at[case_id, "person_id"]

    def same_person(self, result, *case_ids: str) -> bool:
        return len({self.person_of(result, c) for c in case_ids}) == 1


def background() -> list[dict]:
    """Thirty unrelated people, one case each, sharing nothing with anyone."""
    return [{"case_id": f"BG{i:03d}", "customer_id": f"CUBG{i:03d}", "forename": f, "surname": s,
             "email": f"{f}.{s}@example.org", "phone": f"+4477009{i:05d}",
             "address_line1": f"{i + 1} Background Road", "postcode": f"ZZ{i % 9 + 1} {i % 7 + 1}AB"}
            for i, (f, s) in enumerate(zip(BACKGROUND_FORENAMES, BACKGROUND_SURNAMES))]


@pytest.fixture(scope="session")
def config():
    return load_config(environ={})


@pytest.fixture(scope="session")
def rules(config):
    return config.identity


@pytest.fixture(scope="session")
def journey_rules(config):
    return config.journeys


@pytest.fixture()
def kit(rules, journey_rules) -> IdentityKit:
    return IdentityKit(rules, journey_rules)
