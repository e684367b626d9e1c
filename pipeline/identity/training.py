"""Training the person model offline (``journeys identity train``), never at run time.

Nightly runs only predict with the versioned JSON this writes, so a night's people do
not shift because EM happened to converge differently; a retrain is a reviewed change
to ``pipeline/identity/model/person_model.json``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from splink import block_on

from pipeline.config import IdentityRules
from pipeline.identity.comparisons import person_settings
from pipeline.identity.linkage import TRAINING_RECORDS_KEY, make_linker, model_version
from pipeline.transforms.identity_features import contact_features, linkage_records

# Rules that admit almost no false matches, for estimating how often two records match.
DETERMINISTIC_COLUMNS = [("email",), ("forename", "surname", "mobile"), ("forename", "surname", "date_of_birth")]
# Share of true matches the deterministic rules find, measured on the training council's
# truth (20,000 people x 240 days, seed 11: 0.413; the prior it gives, 2.38e-5, is the
# true share of matching pairs, 2.36e-5). It falls with the council's size, since past
# the 1,000 drama mobiles people's mobiles are landline-range numbers the rule on
# mobiles cannot see (0.59 at 2,000 people x 120 days): measure it on the council
# trained on (benchmarks/identity_bench.py prints it for the council it evaluates).
DETERMINISTIC_RECALL = 0.41
# EM passes: each trains every comparison not used by its blocking rule. Blocks on
# personal evidence only: a block of shared surname and postcode is full of family
# members, whom EM would take for matches (teaching it that forenames often differ).
EM_BLOCKING_RULES = [
    block_on("mobile"),
    block_on("email"),
    block_on("forename", "surname"),
]
U_SAMPLE_PAIRS = 2e6
SEED = 42
# A level never seen among non-matches gets this u ("rule of three": no event in n
# trials puts the rate below 3/n at 95%), rather than Splink's generic defaults.
UNSEEN_U = 3 / U_SAMPLE_PAIRS
# No level's m goes below this: training data cannot prove that an error (a DOB typo,
# a changed mobile) never happens to the same person, and an m of 1e-30 would let one
# such error veto every other piece of evidence.
MIN_M = 1e-3


@dataclass(frozen=True)
class TrainReport:
    """What a training run produced: where, from how much data, and the estimates."""

    model_path: Path
    model_version: str  # content hash of the model (linkage.model_version), as runs report it
    cases: int
    records: int
    probability_two_random_records_match: float
    parameters: pd.DataFrame = field(repr=False)  # comparison, level, m_probability, u_probability, match_weight
    seconds: float

    def __str__(self) -> str:
        """What `journeys identity train` prints: the summary, then m and u per level."""
        return (f"trained {self.model_path} (version {self.model_version}) on {self.cases} cases "
                f"({self.records} distinct contact records) in {self.seconds}s; probability two random "
                f"records match {self.probability_two_random_records_match:.3g}\n"
                + self.parameters.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def model_parameters(model: dict) -> pd.DataFrame:
    """m and u per comparison level of a saved model, with the match weight log2(m/u)."""
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append({"comparison": comparison["output_column_name"], "level": level["label_for_charts"],
                         "m_probability": m, "u_probability": u, "match_weight": weight})
    return pd.DataFrame(rows, columns=["comparison", "level", "m_probability", "u_probability", "match_weight"])


def _regularise(model: dict) -> dict:
    """Give unseen levels a u, and floor every m at MIN_M (see above)."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                level["m_probability"] = max(level.get("m_probability") or 0.0, MIN_M)
                if level.get("u_probability") is None:
                    level["u_probability"] = UNSEEN_U
    return model


def train_model(cases: pd.DataFrame, rules: IdentityRules) -> TrainReport:
    """Estimate the model from staged CRM cases and write it to ``rules.model_path``."""
    started = time.perf_counter()
    records, _ = linkage_records(contact_features(cases, rules.blocked_numbers))
    if len(records) < 100:
        raise ValueError(f"train_model: {len(records)} distinct contact records is too few to train on (need 100+)")
    linker, _ = make_linker(records, person_settings())
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*columns) for columns in DETERMINISTIC_COLUMNS], recall=DETERMINISTIC_RECALL)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=SEED)
    for rule in EM_BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    model = _regularise(linker.misc.save_model_to_json())
    model.pop("linker_uid", None)  # a random id per linker: would make every retrain differ
    model[TRAINING_RECORDS_KEY] = len(records)
    path = Path(rules.model_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=2) + "\n")
    return TrainReport(
        model_path=path, model_version=model_version(model), cases=len(cases), records=len(records),
        probability_two_random_records_match=model["probability_two_random_records_match"],
        parameters=model_parameters(model), seconds=round(time.perf_counter() - started, 2),
    )
