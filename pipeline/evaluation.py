"""Scoring the pipeline against the generator's ground truth.

Used by the accuracy tests (small council, in CI) and `benchmarks/accuracy_bench.py`
(large council). The truth comes from the simulation itself, never from pipeline
code, so agreement here is evidence the rules are implemented as journeys.md says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd


def b_cubed(predicted: pd.Series, truth: pd.Series) -> tuple[float, float, float]:
    """B³ precision, recall and F1 of a clustering of the same items (index = item)."""
    df = pd.DataFrame({"p": predicted, "t": truth}).dropna()
    if df.empty:
        return 0.0, 0.0, 0.0
    both = df.groupby(["p", "t"]).size().rename("n").reset_index()
    p_size = df.groupby("p").size()
    t_size = df.groupby("t").size()
    both["prec"] = both["n"] ** 2 / both["p"].map(p_size)
    both["rec"] = both["n"] ** 2 / both["t"].map(t_size)
    precision = both["prec"].sum() / len(df)
    recall = both["rec"].sum() / len(df)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


@dataclass(frozen=True)
class JourneyScores:
    records: int
    journey_precision: float
    journey_recall: float
    journey_f1: float
    status_accuracy: float
    ended_at_within_60s: float
    failure_share_truth: float
    failure_share_ours: float
    handoffs_exact: float

    def as_dict(self) -> dict:
        return asdict(self)


def _record_journeys(journey_event: pd.DataFrame) -> pd.Series:
    keyed = journey_event.drop_duplicates(["system", "source_ref"])
    return keyed.set_index(keyed["system"] + ":" + keyed["source_ref"])["journey_id"]


def score_journeys(truth_dir: Path, journey: pd.DataFrame, journey_event: pd.DataFrame) -> JourneyScores:
    """Compare published journeys with the truth, matching each true journey to the
    published journey holding most of its records."""
    records = pd.read_csv(truth_dir / "records.csv", dtype=str, keep_default_na=False)
    records = records[records["journey_id"] != ""]
    truth_by_record = records.set_index(records["system"] + ":" + records["source_ref"])["journey_id"]
    ours = _record_journeys(journey_event).reindex(truth_by_record.index)
    # A record in no published journey is its own singleton (a miss, not a drop).
    ours = ours.fillna("missing:" + pd.Series(ours.index, index=ours.index))
    precision, recall, f1 = b_cubed(ours, truth_by_record)

    pairs = pd.DataFrame({"truth": truth_by_record, "ours": ours})
    best = (pairs.groupby(["truth", "ours"]).size().rename("n").reset_index()
            .sort_values(["truth", "n", "ours"], ascending=[True, False, True])
            .drop_duplicates("truth"))
    tj = pd.read_csv(truth_dir / "journeys.csv", dtype={"journey_id": str},
                     parse_dates=["started_at", "ended_at"])
    cmp = (tj.merge(best, left_on="journey_id", right_on="truth")
           .merge(journey, left_on="ours", right_on="journey_id", how="left", suffixes=("_t", "")))
    status_acc = float((cmp["status_t"] == cmp["status"]).mean())
    met = cmp[cmp["status_t"] == "met"]
    gap = (pd.to_datetime(met["ended_at"]) - met["ended_at_t"]).abs()
    ended_ok = float((gap <= pd.Timedelta(seconds=60)).mean()) if len(met) else 1.0
    handoffs_ok = float((cmp["handoffs_t"] == cmp["handoffs"]).mean())
    share_t = tj["failure_contacts"].sum() / max(tj["contacts"].sum(), 1)
    share_o = journey["failure_contacts"].sum() / max(journey["contacts"].sum(), 1)
    return JourneyScores(len(truth_by_record), precision, recall, f1, status_acc, ended_ok,
                         float(share_t), float(share_o), handoffs_ok)


@dataclass(frozen=True)
class PeopleScores:
    cases: int
    person_precision: float
    person_recall: float
    person_f1: float
    calls_attributed: int
    call_precision: float
    call_recall: float
    call_precision_all: float
    calls_attributed_unknown_caller: int

    def as_dict(self) -> dict:
        return asdict(self)


def true_person_of(our_person: pd.Series, true_person: pd.Series) -> pd.Series:
    """Each of our person ids -> the true person holding most of its cases (ties: the
    smaller true id). Both series are indexed by case_id."""
    pairs = pd.DataFrame({"ours": our_person, "truth": true_person}).dropna()
    return (pairs.groupby(["ours", "truth"]).size().rename("n").reset_index()
            .sort_values(["ours", "n", "truth"], ascending=[True, False, True]).drop_duplicates("ours")
            .set_index("ours")["truth"])


def score_people(truth_dir: Path, person_record: pd.DataFrame, call_attribution: pd.DataFrame) -> PeopleScores:
    """Person linkage and call attribution against the generator's truth.

    - Person precision/recall/F1: B³ over every CRM case (anonymous ones included, so a
      perfect linker scores a little under 1).
    - A call leg's *true caller* is the person who rang (truth ``person_id``); our
      person for it is mapped to a true person by :func:`true_person_of`.
    - *Known callers* hold a CRM contact record (a case with a ``customer_id``) in the
      extracts: the only people the pipeline can ever name.
    - ``call_precision``: of the legs attributed to someone whose true caller is a known
      caller, the share attributed to that caller.
    - ``calls_attributed_unknown_caller``: legs attributed to someone although their
      caller has no CRM record; always the wrong person (journeys.md gives a number known
      for one person to that person, e.g. a household landline rung by a member the
      CRM has never heard of). Counted here, not hidden: ``call_precision_all`` is
      the precision over every attributed leg, these included.
    - ``call_recall``: legs attributed to their true caller, over all legs made by known
      callers (withheld and unknown-number calls of known callers count as misses).
    """
    records = pd.read_csv(truth_dir / "records.csv", dtype=str, keep_default_na=False)
    crm_records = records[records["system"] == "crm"]
    crm = crm_records.set_index("source_ref")["person_id"]
    ours = person_record.set_index("case_id")["person_id"].reindex(crm.index)
    precision, recall, f1 = b_cubed(ours, crm)

    known_callers = set(crm_records.loc[crm_records["customer_id"] != "", "person_id"])
    calls = records[(records["system"] == "telephony") & (records["person_id"] != "")]
    truth_calls = calls.set_index("source_ref")["person_id"]
    attributed = call_attribution.dropna(subset=["person_id"]).set_index("call_id")["person_id"]
    joined = pd.DataFrame({"ours": attributed.map(true_person_of(ours, crm))}).join(
        truth_calls.rename("truth"), how="inner")
    right = joined["ours"] == joined["truth"]
    known = joined["truth"].isin(known_callers)
    by_known = truth_calls.isin(known_callers)
    return PeopleScores(
        cases=len(crm), person_precision=precision, person_recall=recall, person_f1=f1,
        calls_attributed=int(len(attributed)),
        call_precision=float(right[known].mean()) if known.any() else 1.0,
        call_recall=float(right[known].sum() / max(int(by_known.sum()), 1)),
        call_precision_all=float(right.mean()) if len(right) else 1.0,
        calls_attributed_unknown_caller=int((~known).sum()),
    )
