"""The `journeys` command: every stage, runnable by hand exactly as the DAGs run it.

Exit codes: 0 success; 1 pipeline error; 2 usage or configuration error; 3 an extract
could not be read; 4 a critical expectation failed (nothing published); 5 publishing
failed (previous publication intact); 6 `journeys health` found a problem.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console

from pipeline.config import ConfigError, load_config
from pipeline.errors import PipelineError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="council-journeys: end-to-end customer journeys from a council's extracts.")
identity_app = typer.Typer(no_args_is_help=True, help="People: the identity model.")
db_app = typer.Typer(no_args_is_help=True, help="Warehouse set-up.")
app.add_typer(identity_app, name="identity")
app.add_typer(db_app, name="db")

console = Console(stderr=True)
out = Console()

ConfigOpt = typer.Option(None, "--config", help="Council config YAML (overrides pipeline/defaults.yaml).")
WarehouseOpt = typer.Option(None, "--warehouse", help="SQLAlchemy URL; default from config / JOURNEYS_WAREHOUSE_URL.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress output.")
FullOpt = typer.Option(False, "--full", help="Rebuild everything (run: restage every source from the landing folder) "
                                             "instead of only what changed since the last publication.")


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known failures into one clear line and a documented exit code."""
    try:
        yield
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    except PipelineError as exc:
        console.print(f"[red]{type(exc).__name__}:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None


@contextmanager
def _progress(quiet: bool) -> Iterator:
    """A spinner naming the current stage (nothing when quiet or not a terminal)."""
    if quiet:
        yield None
        return
    with console.status("starting") as status:
        yield lambda stage: (status.update(f"[bold]{stage}[/bold]"), console.log(stage))


@contextmanager
def _generation_bar(quiet: bool) -> Iterator:
    """A rich progress bar over the generator's stages (simulate, truth, extracts, write)."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:>10}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield update


def _run_date(as_of: Optional[str]) -> dt.date:
    from pipeline.clock import today_local

    if as_of is None:
        return today_local()
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter(f"--as-of must be YYYY-MM-DD, got {as_of!r}") from None


def _logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Libraries that set their own loggers to INFO: keep only their warnings.
    noisy = ("great_expectations", "splink", "airflow")
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda r: r.levelno >= logging.WARNING or not r.name.startswith(noisy))


@app.command()
def generate(out_dir: Path = typer.Option(..., "--out", help="Folder for landing/ and truth/."),
             people: int = typer.Option(2000, help="Simulated people."),
             days: int = typer.Option(120, help="Days of activity."),
             seed: int = typer.Option(42, help="Random seed (same seed, same bytes)."),
             end: Optional[str] = typer.Option(None, help="Last day YYYY-MM-DD (default fixed, 2026-11-20, so runs reproduce)."),
             quiet: bool = QuietOpt) -> None:
    """Write a synthetic council's extracts and their ground truth."""
    from pipeline.generate.council import generate_council

    end_date = dt.date.fromisoformat(end) if end else None
    with _generation_bar(quiet) as bar:
        summary = generate_council(out_dir, people=people, days=days, seed=seed, end=end_date, progress=bar)
    if not quiet:
        out.print(f"landing: {summary.landing_dir}\ntruth:   {summary.truth_dir}")
        out.print(json.dumps(summary.row_counts, indent=2))


@app.command()
def run(landing: Optional[Path] = typer.Option(None, "--landing", help="Landing folder (default from config)."),
        warehouse: Optional[str] = WarehouseOpt,
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Run date YYYY-MM-DD; as-of = its end, Europe/London. Default today."),
        config: Optional[Path] = ConfigOpt,
        full: bool = FullOpt,
        quiet: bool = QuietOpt) -> None:
    """Run the whole pipeline in-process: ingest, identity, journeys, measures, validate, publish."""
    from pipeline.stages import run_pipeline

    _logging(quiet)
    with _errors(), _progress(quiet) as progress:
        summary = run_pipeline(_run_date(as_of), config_file=config, warehouse_url=warehouse,
                               landing_dir=landing, progress=progress, full=full)
    _print_summary(summary, quiet)


@app.command()
def stage(source: str = typer.Argument(..., help="crm_cases, crm_case_events, call_logs or works_orders."),
          as_of: Optional[str] = typer.Option(None, "--as-of"), config: Optional[Path] = ConfigOpt,
          quiet: bool = QuietOpt) -> None:
    """Ingest, validate and stage one source (what an ingest DAG task does)."""
    from pipeline.stages import stage_source

    _logging(quiet)
    with _errors():
        summary = stage_source(source, _run_date(as_of), config_file=config)
    if not quiet:
        out.print_json(json.dumps(summary, default=str))


@app.command("build")
def build_cmd(as_of: Optional[str] = typer.Option(None, "--as-of"), config: Optional[Path] = ConfigOpt,
              full: bool = FullOpt,
              partitions: Optional[int] = typer.Option(
                  None, "--partitions", min=1,
                  help="A full rebuild in N partitions, one after another in this process (what the "
                       "journeys_build_partitioned DAG spreads over workers; docs/scale.md). Implies --full."),
              quiet: bool = QuietOpt) -> None:
    """Build and publish from what is staged (what the build DAG does)."""
    from pipeline.stages import build

    _logging(quiet)
    with _errors(), _progress(quiet) as progress:
        if partitions:
            from pipeline.partitions import run_partitioned

            summary = run_partitioned(_run_date(as_of), partitions, config_file=config, progress=progress)
        else:
            summary = build(_run_date(as_of), config_file=config, progress=progress, full=full)
    _print_summary(summary, quiet)


@app.command()
def demo(out_dir: Path = typer.Option(Path("demo"), "--out", help="Folder for the demo council, warehouse and report."),
         people: int = typer.Option(2000), days: int = typer.Option(120), seed: int = typer.Option(42),
         quiet: bool = QuietOpt) -> None:
    """Generate a synthetic council, run the pipeline into DuckDB, write the report."""
    from pipeline.generate.council import generate_council
    from pipeline.report import build_report
    from pipeline.stages import run_pipeline

    _logging(True)
    out_dir = out_dir.resolve()
    _demo_secret(out_dir)
    with _errors(), _progress(quiet) as progress:
        if progress:
            progress(f"generating a synthetic council ({people} people, {days} days, seed {seed})")
        gen = generate_council(out_dir, people=people, days=days, seed=seed)
        warehouse = f"duckdb:///{out_dir / 'warehouse.duckdb'}"
        summary = run_pipeline(gen.end, warehouse_url=warehouse, landing_dir=gen.landing_dir, progress=progress)
        if progress:
            progress("writing the report")
        cfg = load_config()
        report = build_report(warehouse, out_dir / "report",
                              small_number_threshold=cfg.measures.small_number_threshold)
    _print_summary(summary, quiet)
    out.print(f"\n[bold]Outputs[/bold]\n  extracts:   {gen.landing_dir}\n  truth:      {gen.truth_dir}"
              f"\n  warehouse:  {warehouse}\n  data docs:  {summary['data_docs_path']}\n  report:     {report}")


def _demo_secret(out_dir: Path) -> None:
    """The demo needs an HMAC key; it makes a local one (never for production) and says so."""
    if os.environ.get("JOURNEYS_HMAC_SECRET"):
        return
    key_file = out_dir / ".hmac_secret"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    os.environ["JOURNEYS_HMAC_SECRET"] = key_file.read_text().strip()
    console.print(f"[yellow]demo:[/yellow] JOURNEYS_HMAC_SECRET not set; using a local demo key in {key_file}"
                  " (set your own secret in production)")


def _print_summary(summary: dict, quiet: bool) -> None:
    if quiet:
        return
    keys = ("run_id", "run_date", "status", "mode", "partitions", "journeys", "events", "people",
            "proactive_works_orders", "rows_quarantined", "validation_outcome")
    out.print("[bold]Run[/bold]")
    for k in keys:
        if k in summary:
            out.print(f"  {k:24} {summary[k]}")
    if summary.get("timings"):
        out.print("  timings (s)              " + ", ".join(f"{k} {v}" for k, v in summary["timings"].items()))


@identity_app.command("train")
def identity_train(warehouse: Optional[str] = WarehouseOpt, config: Optional[Path] = ConfigOpt) -> None:
    """Retrain the Splink model from currently staged CRM cases and save its JSON."""
    from pipeline.identity.training import train_model
    from pipeline.warehouse import io
    from pipeline.warehouse import tables as t

    with _errors():
        cfg = load_config(config, **({"warehouse_url": warehouse} if warehouse else {}))
        engine = io.create_engine(cfg.warehouse_url)
        with engine.connect() as conn:
            cases = io.read_frame(conn, t.staging_tables["crm_cases"])
        if cases.empty:
            raise PipelineError("no staged CRM cases to train on: run `journeys stage crm_cases` first")
        report = train_model(cases, cfg.identity)
    out.print(str(report))


@db_app.command("init")
def db_init(warehouse: Optional[str] = WarehouseOpt, config: Optional[Path] = ConfigOpt) -> None:
    """Create schemas, tables and roles (idempotent)."""
    from pipeline.warehouse.roles import init_database

    with _errors():
        cfg = load_config(config, **({"warehouse_url": warehouse} if warehouse else {}))
        for line in init_database(cfg.warehouse_url):
            out.print(line)


@app.command()
def health(warehouse: Optional[str] = WarehouseOpt, config: Optional[Path] = ConfigOpt) -> None:
    """Check the last runs: exits 6 when anything needs attention."""
    from pipeline.health import check_health, format_problems

    with _errors():
        cfg = load_config(config, **({"warehouse_url": warehouse} if warehouse else {}))
        problems = check_health(cfg.warehouse_url, cfg.health)
    out.print(format_problems(problems))
    if problems:
        raise typer.Exit(6)


@app.command()
def report(warehouse: Optional[str] = WarehouseOpt, out_dir: Path = typer.Option(Path("report"), "--out"),
           config: Optional[Path] = ConfigOpt) -> None:
    """Write the self-contained HTML report for the latest run."""
    from pipeline.report import build_report

    with _errors():
        cfg = load_config(config, **({"warehouse_url": warehouse} if warehouse else {}))
        path = build_report(cfg.warehouse_url, out_dir, small_number_threshold=cfg.measures.small_number_threshold)
    out.print(f"report: {path}")


@app.command()
def export(fmt: str = typer.Option(..., "--format", help="xes or ocel2 (.json or .sqlite by --out suffix)."),
           out_file: Path = typer.Option(..., "--out"), warehouse: Optional[str] = WarehouseOpt,
           config: Optional[Path] = ConfigOpt) -> None:
    """Export the published journeys as a process-mining event log."""
    from pipeline.export import export_log, ocel_format_for

    if fmt not in ("xes", "ocel2"):
        raise typer.BadParameter("--format must be xes or ocel2")
    with _errors():
        if fmt == "ocel2":
            try:
                fmt = ocel_format_for(out_file)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
        cfg = load_config(config, **({"warehouse_url": warehouse} if warehouse else {}))
        path = export_log(cfg.warehouse_url, fmt, out_file)
    out.print(f"export: {path}")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
