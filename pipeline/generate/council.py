"""``journeys generate``: a synthetic council's extracts and the truth behind them.

Reproducible by construction: one seeded ``numpy`` generator drives everything, the
end date defaults to a fixed day (never today), rows are sorted before writing, so
the same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import load_config
from pipeline.generate.draws import Draws
from pipeline.generate.extracts import landing_frames, take_snapshot, withhold_numbers
from pipeline.generate.localtime import Calendar, utc_text
from pipeline.generate.people import build_people
from pipeline.generate.simulate import Simulation
from pipeline.generate.truth import Truth, derive_truth
from pipeline.sources import SOURCES

# Any window of 240 days or more ending here spans both 2026 clock changes
# (29 March, 25 October): 2026-11-20 minus 239 days is 26 March.
DEFAULT_END = dt.date(2026, 11, 20)
SLACK_DAYS = 60  # calendar days simulated past the end (lifecycles run on; never written)
TRUTH_MARKER = "meta.json"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerateSummary:
    landing_dir: Path
    truth_dir: Path
    end: dt.date
    row_counts: dict[str, int]  # rows written per source (re-delivered copies not counted)
    redelivered: tuple[str, ...]  # re-delivered files, relative to landing_dir
    journeys: int


def _prepare(out_dir: Path) -> tuple[Path, Path]:
    """Replace a previous generator run in ``out_dir``; never anything else."""
    landing, truth = out_dir / "landing", out_dir / "truth"
    previous = (truth / TRUTH_MARKER).is_file()
    for folder in (landing, truth):
        if folder.exists() and any(folder.iterdir()):
            if not previous:
                raise FileExistsError(f"{folder} exists and was not written by the generator; "
                                      "choose an empty --out folder")
            shutil.rmtree(folder)
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    return landing, truth


def _check(people: int, days: int, seed: int) -> None:
    for name, value, low in (("people", people, 1), ("days", days, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def generate_council(out_dir: Path, people: int, days: int, seed: int, end: dt.date | None = None,
                     progress: Progress | None = None) -> GenerateSummary:
    """Simulate ``people`` people over the ``days`` days ending ``end`` and write
    ``<out_dir>/landing/<source>/<YYYY-MM-DD>.csv`` and ``<out_dir>/truth/``."""
    _check(people, days, seed)
    end = end or DEFAULT_END
    first = end - dt.timedelta(days=days - 1)
    calendar = Calendar(first, end + dt.timedelta(days=SLACK_DAYS))
    window = (calendar.day_start(0), calendar.day_start(days) - 1)  # as-of: the end day's last second
    d = Draws(np.random.default_rng(seed))
    rules = load_config(environ={}).journeys  # the defaults, never the caller's environment

    population, streets = build_people(people, window, d)
    world = Simulation(population, streets, calendar, window, rules.reopen_window_days,
                       rules.queue_service, d).run(progress)
    snapshot = take_snapshot(world, window[1], d)
    truth = derive_truth(world, snapshot, rules)
    withhold_numbers(snapshot, truth.withheld)
    if progress:
        progress("truth", 1, 1)
    frames = landing_frames(world, snapshot, calendar)
    if progress:
        progress("extracts", 1, 1)

    landing_dir, truth_dir = _prepare(Path(out_dir))
    days_written = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    redelivered = write_landing(landing_dir, frames, days_written, d, progress)
    rows = {source: len(frame) for source, frame in frames.items()}
    write_truth(truth_dir, truth, {
        "seed": seed, "people": people, "days": days, "end": end.isoformat(), "first_day": first.isoformat(),
        "as_of_utc": str(utc_text(np.array([window[1]]))[0]),
        "counts": {"rows": rows, "redelivered_files": list(redelivered),
                   "records": dict(Counter(truth.records["system"])),
                   "journeys": dict(Counter(truth.journeys["status"])),
                   "proactive_works_orders": truth.proactive_works_orders},
    })
    return GenerateSummary(landing_dir, truth_dir, end, rows, redelivered, len(truth.journeys))


def write_landing(landing_dir: Path, frames: dict[str, pd.DataFrame], days: list[str], d: Draws,
                  progress: Progress | None = None) -> tuple[str, ...]:
    """One file per source per day (header only on a quiet day), and on a few seeded
    days an identical second delivery ``<day>-redelivered.csv``."""
    picks = sorted({(days[d.below(len(days))], d.pick(list(SOURCES))) for _ in range(max(1, len(days) // 50))})
    done, total = 0, len(frames) * len(days)
    redelivered = []
    for source, frame in frames.items():
        folder = landing_dir / source
        folder.mkdir(parents=True, exist_ok=True)
        columns = SOURCES[source].column_names
        by_day = dict(tuple(frame.groupby("file_day", sort=True))) if len(frame) else {}
        empty = pd.DataFrame(columns=columns)
        for day in days:
            path = folder / f"{day}.csv"
            rows = by_day.get(day)
            (rows[columns] if rows is not None else empty).to_csv(path, index=False, lineterminator="\n")
            if (day, source) in picks:
                shutil.copyfile(path, folder / f"{day}-redelivered.csv")
                redelivered.append(f"{source}/{day}-redelivered.csv")
            done += 1
        if progress:
            progress("write", done, total)
    return tuple(redelivered)


def write_truth(truth_dir: Path, truth: Truth, meta: dict) -> None:
    truth.records.to_csv(truth_dir / "records.csv", index=False, lineterminator="\n")
    truth.journeys.to_csv(truth_dir / "journeys.csv", index=False, lineterminator="\n")
    (truth_dir / TRUTH_MARKER).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
