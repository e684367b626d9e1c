"""The whole pipeline on a large council's year: a full rebuild and one nightly increment.

    .venv/bin/python benchmarks/pipeline_bench.py --small                     # CI: under a minute
    .venv/bin/python benchmarks/pipeline_bench.py --people 330000 --backends duckdb,postgresql --check

Generates a council (``pipeline.generate.generate_council``; reused when the folder
already holds the same one), lands every file up to the day before the last, runs a
full rebuild for that day, lands the last day's files (~1/365 of the rows) and runs
the nightly increment. Each run is a fresh process, so its peak RSS is its own; stage
peaks come from sampling the RSS while each stage runs. Also measured, in the same
run: the *floor*, reading every extract with pyarrow and computing the demand
aggregate with DuckDB SQL, and each run as a multiple of it.

``--check`` (always on with ``--small``) also rebuilds the last day in full into a
second warehouse and exits 1 when its published tables differ from the increment's.
Figures and the machine go in benchmarks/README.md. Prints figures; never a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2026, 11, 20)
STAGES = ("ingest", "read", "identity", "journeys", "measures", "validation", "publish")
PG_ADMIN_URL = os.environ.get("JOURNEYS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGETS = {"full_seconds": 600, "full_peak_gb": 8.0, "increment_seconds": 60}
SMALL = {"people": 1000, "days": 30}
# What the identity report says about the pair cache (docs/identity.md), printed per run.
LINKAGE_COUNTS = ("linkage_mode", "records_scored", "pairs_scored", "pairs_reused", "candidate_pairs")


# --------------------------------------------------------------------------- measuring one process


class RssSampler:
    """Peak resident memory of this process, overall and per stage (sampled every 50 ms),
    and CPU seconds per stage: on a shared machine, wall time alone says little."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self._proc, self._interval = psutil.Process(), interval
        self.stage, self.peaks, self.peak, self.cpu = "start", {}, 0, {}
        self._cpu_at = self._cpu_now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = self._proc.memory_info().rss
        self.peak = max(self.peak, rss)
        self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _cpu_now(self) -> float:
        times = self._proc.cpu_times()
        return times.user + times.system

    def _close_stage(self) -> None:
        now = self._cpu_now()
        self.cpu[self.stage] = round(self.cpu.get(self.stage, 0.0) + now - self._cpu_at, 2)
        self._cpu_at = now

    def enter(self, stage: str) -> None:
        self._sample()  # the end of the previous stage belongs to it
        self._close_stage()
        self.stage = stage
        self._sample()

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._close_stage()


def stage_of(progress_label: str) -> str:
    """The benchmark's stage for a label ``run_pipeline`` reports as it goes."""
    if progress_label.startswith("ingest"):
        return "ingest"
    if progress_label.startswith("read"):
        return "read"
    if progress_label == "validate and publish":  # starts by writing the run's WAP schema
        return "publish"
    return progress_label


def stage_seconds(timings: dict[str, float]) -> dict[str, float]:
    out = dict.fromkeys(STAGES, 0.0)
    for label, seconds in timings.items():
        out[stage_of(label)] = out.get(stage_of(label), 0.0) + seconds
    return {k: round(v, 2) for k, v in out.items()}


def run_once(args: argparse.Namespace) -> dict:
    """One ``run_pipeline`` in this process (called in a child process)."""
    with RssSampler() as rss:
        started = time.perf_counter()
        from pipeline import runs
        from pipeline.stages import run_pipeline

        # One code version for the whole benchmark: a commit landing between its runs
        # must not turn the increment into a full build ("the code changed").
        runs.code_version = lambda: args.code_version

        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.01)
            profiler.start()
        summary = run_pipeline(dt.date.fromisoformat(args.date), warehouse_url=args.url, landing_dir=args.landing,
                               full=args.full, progress=lambda label: rss.enter(stage_of(label)))
        wall = time.perf_counter() - started
        if profiler:
            profiler.stop()
            Path(args.profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    return {
        "mode": summary["mode"], "full_reason": summary.get("full_reason"), "status": summary["status"],
        "wall_seconds": round(wall, 2),
        "peak_rss": rss.peak, "stage_seconds": stage_seconds(summary["timings"]), "stage_peak_rss": rss.peaks,
        "cpu_seconds": round(sum(rss.cpu.values()), 1), "stage_cpu_seconds": rss.cpu,
        "rows_read": sum(s["rows_read"] for s in summary["sources"].values()),
        "journeys": summary["journeys"], "events": summary["events"], "increment": summary.get("increment", {}),
        "table_hashes": summary["table_hashes"],
        "linkage": {k: summary["identity_report"].get(k) for k in LINKAGE_COUNTS},
    }


def floor(args: argparse.Namespace) -> dict:
    """Reading every extract with pyarrow, and the demand aggregate in DuckDB SQL: what
    any pipeline over these files must at least do."""
    import duckdb
    import pyarrow as pa
    import pyarrow.csv as pv

    from pipeline.sources import SOURCES

    kinds = {"text": pa.string(), "timestamp": pa.timestamp("s"), "date": pa.date32()}
    with RssSampler() as rss:
        started = time.perf_counter()
        extracts = {}
        for source, spec in SOURCES.items():
            typed = pv.ConvertOptions(strings_can_be_null=True,
                                      column_types={c.name: kinds[c.type] for c in spec.columns})
            files = sorted((Path(args.landing) / source).glob("*.csv"))
            extracts[source] = pa.concat_tables([pv.read_csv(f, convert_options=typed) for f in files])
        read = time.perf_counter() - started
        con = duckdb.connect()
        for name, table in extracts.items():
            con.register(name, table)
        demand = con.execute("""
            WITH contacts AS (
                SELECT c.service, c.category, c.opened_at AS contact_at
                FROM (SELECT *, row_number() OVER (PARTITION BY case_id ORDER BY updated_at DESC) AS v
                      FROM crm_cases) c WHERE c.v = 1
                UNION ALL
                SELECT k.queue, '(none)', k.started_at
                FROM call_logs k WHERE k.parent_call_id IS NULL)
            SELECT service, category, strftime(contact_at, '%G-W%V') AS period, count(*) AS contacts
            FROM contacts GROUP BY ALL""").fetchall()
    return {"wall_seconds": round(time.perf_counter() - started, 2), "read_seconds": round(read, 2),
            "peak_rss": rss.peak, "rows": sum(t.num_rows for t in extracts.values()), "groups": len(demand)}


# --------------------------------------------------------------------------- orchestrating


def child(command: str, *options: str, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, command, *options], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{command} {' '.join(options)} failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def council(out: Path, people: int, days: int, seed: int) -> tuple[Path, dict]:
    """The generated council, reused when ``out`` already holds the same one."""
    from pipeline.generate.council import generate_council

    meta = out / "truth" / "meta.json"
    if meta.exists():
        known = json.loads(meta.read_text())
        if (known["people"], known["days"], known["seed"]) == (people, days, seed):
            return out / "landing", {"reused": True, **known["counts"]}
    started = time.perf_counter()
    summary = generate_council(out, people=people, days=days, seed=seed, end=END)
    return summary.landing_dir, {"reused": False, "seconds": round(time.perf_counter() - started, 1),
                                 "rows": summary.row_counts}


def land(source: Path, landing: Path, until: dt.date) -> int:
    """Hard-link (or copy) the council's files dated up to ``until`` into ``landing``."""
    count = 0
    for f in sorted(source.glob("*/*")):
        dest = landing / f.parent.name / f.name
        if dt.date.fromisoformat(f.name[:10]) <= until and not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f, dest)
            except OSError:
                shutil.copyfile(f, dest)
            count += 1
    return count


@contextmanager
def warehouse(backend: str, folder: Path, name: str) -> Iterator[str]:
    """A fresh, empty warehouse, dropped afterwards."""
    if backend == "duckdb":
        path = folder / f"{name}.duckdb"
        path.unlink(missing_ok=True)
        yield f"duckdb:///{path}"
        return
    import sqlalchemy as sa

    db = f"journeys_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}"'))
        admin.dispose()


def gb(n: int) -> str:
    return f"{n / 2**30:.2f}"


def report(name: str, run: dict, floor_seconds: float) -> list[str]:
    total = run["wall_seconds"]
    cpu = run.get("stage_cpu_seconds", {})
    lines = [f"  {name}: {total:.1f} s wall ({total / floor_seconds:.1f}x floor), {run.get('cpu_seconds', 0):.1f} s CPU, "
             f"peak RSS {gb(run['peak_rss'])} GB, {run['rows_read']:,} rows read, {run['journeys']:,} journeys, "
             f"mode {run['mode']}",
             f"    {'stage':<11}{'seconds':>9}{'share':>8}{'CPU s':>8}{'peak GB':>9}"]
    for stage in STAGES:
        seconds = run["stage_seconds"].get(stage, 0.0)
        lines.append(f"    {stage:<11}{seconds:>9.1f}{seconds / total:>8.0%}{cpu.get(stage, 0.0):>8.1f}"
                     f"{gb(run['stage_peak_rss'].get(stage, 0)):>9}")
    other = total - sum(run["stage_seconds"].values())
    lines.append(f"    {'other':<11}{other:>9.1f}{other / total:>8.0%}{cpu.get('start', 0.0):>8.1f}"
                 "         (start-up, imports, config)")
    if run.get("full_reason"):
        lines.append(f"    full because: {run['full_reason']}")
    if run.get("linkage"):
        lines.append(f"    identity linkage: {json.dumps(run['linkage'])}")
    if run.get("increment"):
        lines.append(f"    increment: {json.dumps(run['increment'])}")
    return lines


def bench(args: argparse.Namespace) -> int:
    from pipeline.runs import code_version

    if args.small:
        args.people, args.days, args.check = SMALL["people"], SMALL["days"], True
    out = Path(args.out).resolve()
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    env.setdefault("JOURNEYS_HMAC_SECRET", "benchmark-key-not-for-production")
    if args.suppression_threshold is not None:
        env["JOURNEYS_MEASURES__SMALL_NUMBER_THRESHOLD"] = str(args.suppression_threshold)
    source, generated = council(out / "council", args.people, args.days, args.seed)
    version = code_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"code {version}")
    print(f"council: {args.people:,} people x {args.days} days, seed {args.seed}: {json.dumps(generated)}")
    fl = child("floor", "--landing", str(source), env=env)
    print(f"floor: read {fl['rows']:,} rows with pyarrow in {fl['read_seconds']} s, demand aggregate "
          f"({fl['groups']:,} groups) in DuckDB SQL; {fl['wall_seconds']} s total, peak RSS {gb(fl['peak_rss'])} GB")

    problems: list[str] = []
    for backend in args.backends.split(","):
        landing = out / f"landing-{backend}"
        shutil.rmtree(landing, ignore_errors=True)
        land(source, landing, END - dt.timedelta(days=1))
        with warehouse(backend, out, "nightly") as url:
            profile = ["--profile", str(out / f"profile-{backend}-{{}}.txt")] if args.profile else []
            runs = {}
            for name, date, full in (("full rebuild", END - dt.timedelta(days=1), True), ("nightly increment", END, False)):
                if not full:
                    land(source, landing, END)
                opts = ["--url", url, "--landing", str(landing), "--date", date.isoformat(), "--code-version", version]
                opts += ["--full"] if full else []
                opts += [p.format(name.split()[0]) for p in profile]
                runs[name] = child("run-once", *opts, env=env)
            if args.check:
                with warehouse(backend, out, "rebuilt") as other:
                    rebuilt = child("run-once", "--url", other, "--landing", str(landing), "--date", END.isoformat(),
                                    "--full", "--code-version", version, env=env)
                if rebuilt["table_hashes"] != runs["nightly increment"]["table_hashes"]:
                    problems.append(f"{backend}: published tables differ between full and incremental")
        print(f"\n{backend}:")
        for name, run in runs.items():
            print("\n".join(report(name, run, fl["wall_seconds"])))
        full, night = runs["full rebuild"], runs["nightly increment"]
        if night["mode"] != "incremental":
            problems.append(f"{backend}: the nightly run was not incremental ({night['full_reason']})")
        print(f"  targets: full {full['wall_seconds']:.0f} s (<= {TARGETS['full_seconds']}), "
              f"{gb(full['peak_rss'])} GB (<= {TARGETS['full_peak_gb']}); increment {night['wall_seconds']:.0f} s "
              f"(<= {TARGETS['increment_seconds']})")
        if args.check:
            same = not any(p.startswith(f"{backend}: published") for p in problems)
            print(f"  full rebuild of the last day == nightly increment: {'yes' if same else 'NO'}")
        if not args.keep:
            shutil.rmtree(landing, ignore_errors=True)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    once = sub.add_parser("run-once")
    once.add_argument("--url", required=True)
    once.add_argument("--landing", required=True)
    once.add_argument("--date", required=True)
    once.add_argument("--full", action="store_true")
    once.add_argument("--profile")
    once.add_argument("--code-version", required=True)
    fl = sub.add_parser("floor")
    fl.add_argument("--landing", required=True)
    parser.add_argument("--small", action="store_true", help=f"CI size ({SMALL['people']} people x "
                                                             f"{SMALL['days']} days) with --check")
    parser.add_argument("--people", type=int, default=330_000, help="simulated people (330,000 ~ 3M rows a year)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backends", default="duckdb", help="comma-separated: duckdb, postgresql")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "journeys-bench"),
                        help="work folder (a council already generated there is reused)")
    parser.add_argument("--check", action="store_true", help="also rebuild in full and compare published tables")
    parser.add_argument("--profile", action="store_true", help="write a pyinstrument profile per run (dev tool)")
    parser.add_argument("--keep", action="store_true", help="keep the landing folders")
    parser.add_argument("--suppression-threshold", type=int, default=None,
                        help="override measures.small_number_threshold (1 switches suppression off)")
    args = parser.parse_args(argv)
    if args.command == "run-once":
        print(json.dumps(run_once(args)))
        return 0
    if args.command == "floor":
        print(json.dumps(floor(args)))
        return 0
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
