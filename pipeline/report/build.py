"""The static HTML report: published tables in, one self-contained ``index.html`` out.

Self-contained means it opens from a file share or an e-mail attachment with no
network: plotly.js is inlined from the installed ``plotly`` package, and there are no
CDN links or web fonts. Nothing restricted is read (see ``load.py``), and no
``person_key`` is shown.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from plotly.offline import get_plotlyjs

from pipeline.report import charts, summaries
from pipeline.report.load import Published, read_published

REPORT_TABLES = ["journey", "journey_event", "measure_capability", "measure_capability_point", "measure_wip"]
TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TITLE = "Customer journeys: the work as the customer lives it"
NO_SERVICE = "(no service)"


def _fmt_count(n: object) -> str:
    return charts.SUPPRESSED_LABEL if n is None or pd.isna(n) else f"{int(n):,}"


def _fmt_share(x: object) -> str:
    return charts.SUPPRESSED_LABEL if x is None or pd.isna(x) else f"{float(x):.0%}"


def _fmt_time(ts: object) -> str:
    return "" if ts is None or pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} UTC"


class _Figures:
    """Turns figures into div snippets with ids unique within the page."""

    def __init__(self, threshold: int) -> None:
        self._ids = itertools.count(1)
        self.threshold = threshold

    def html(self, fig: go.Figure) -> str:
        return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{next(self._ids)}",
                           config={"displaylogo": False, "responsive": True})

    def bars(self, x, series: dict[str, list], title: str, empty: str, **kwargs) -> dict:
        """A bar chart slot: the figure, or a note when there is nothing (unsuppressed) to draw."""
        if len(x) == 0:
            return {"title": title, "figure": None, "note": empty}
        if charts.all_suppressed(series):
            return {"title": title, "figure": None,
                    "note": f"suppressed: every count is below {self.threshold} (or zero)"}
        return {"title": title, "figure": self.html(charts.bar_figure(x, series, title, **kwargs)), "note": None}


def _run_header(published: Published, tz: str) -> dict:
    run = published.run
    as_of = pd.Timestamp(run["as_of"]).tz_localize("UTC").tz_convert(tz)
    docs = run.get("data_docs_path")
    docs_href = None
    if docs:
        docs_href = Path(docs).as_uri() if Path(docs).is_absolute() else docs
    later = published.later_run
    return {
        "run_id": run["run_id"], "status": run["status"], "as_of_date": f"{as_of:%Y-%m-%d}",
        "as_of_utc": _fmt_time(run["as_of"]), "validation_outcome": run.get("validation_outcome") or "not recorded",
        "data_docs_path": docs, "data_docs_href": docs_href,
        "later_run": None if later is None else {"run_id": later["run_id"], "status": later["status"],
                                                  "started_at": _fmt_time(later["started_at"])},
    }


def _capability(groups: list[dict], figures: _Figures, threshold: int) -> list[dict]:
    out = []
    for group in groups:
        title = f"{group['category']}: end-to-end days of journeys met"
        if group["suppressed"]:
            out.append({"category": group["category"], "figure": None,
                        "note": f"suppressed: fewer than {threshold} journeys met in the window"})
            continue
        limits = group["limits"]
        out.append({"category": group["category"], "note": None,
                    "figure": figures.html(charts.capability_figure(limits, group["points"], title)),
                    "journeys": _fmt_count(summaries.suppress_count(limits["journeys"], threshold)),
                    "mean": f"{limits['mean_days']:.1f}", "unpl": f"{limits['unpl']:.1f}",
                    "lnpl": f"{limits['lnpl']:.1f}",
                    "above": _fmt_count(summaries.suppress_count(limits.get("points_above_unpl"), threshold)),
                    "runs": _fmt_count(summaries.suppress_count(limits.get("runs"), threshold))})
    return out


def _demand(service: str, weekly: pd.DataFrame, by_type: pd.DataFrame, by_channel: pd.DataFrame,
            figures: _Figures) -> dict:
    mine = weekly[weekly["service"] == service]
    types = by_type[by_type["service"] == service]
    channels = by_channel[by_channel["service"] == service]
    return {
        "weekly": figures.bars(mine["week"], {"value": mine["value"].tolist(), "failure": mine["failure"].tolist()},
                               "Value and failure demand per week", "No contacts.", x_title="ISO week",
                               y_title="contacts", stacked=True),
        "by_type": figures.bars(types["failure_type"], {"failure contacts": types["failure_contacts"].tolist()},
                                "Failure demand by type", "No failure demand.", y_title="contacts"),
        "by_channel": figures.bars(channels["channel"], {"failure contacts": channels["failure_contacts"].tolist()},
                                   "Failure demand by channel", "No failure demand.", y_title="contacts"),
    }


def _flow(service: str, handoffs: pd.DataFrame, teams: pd.DataFrame, sequences: pd.DataFrame,
          rates: pd.DataFrame, figures: _Figures) -> dict:
    h = handoffs[handoffs["service"] == service]
    t = teams[teams["service"] == service]
    seqs = sequences[sequences["service"] == service]
    links = summaries.sequence_links(seqs)
    rate = rates[rates["service"] == service]
    rate_row = rate.iloc[0].to_dict() if not rate.empty else {}
    return {
        "handoffs": figures.bars(h["handoffs"], {"journeys": h["journeys"].tolist()}, "Hand-offs per journey",
                                 "No journeys.", x_title="hand-offs"),
        "teams": figures.bars(t["teams"], {"journeys": t["journeys"].tolist()}, "Teams per journey",
                              "No journeys.", x_title="distinct teams"),
        "sankey": figures.html(charts.sankey_figure(links, "Most common paths through teams"))
        if not links.empty else None,
        "sequences": [{"sequence": s, "journeys": _fmt_count(n)} for s, n in zip(seqs["sequence"], seqs["journeys"])],
        "met_journeys": _fmt_count(rate_row.get("met_journeys")),
        "first_contact_resolution": _fmt_share(rate_row.get("first_contact_resolution")),
        "share_clean": _fmt_share(rate_row.get("share_clean")),
    }


def _wip(service: str, cells: pd.DataFrame, bands: list[str], figures: _Figures) -> dict:
    mine = cells[cells["service"] == service]
    grid = {(c, b): n for c, b, n in zip(mine["category"], mine["age_band"], mine["open_journeys"])}
    categories = sorted(mine["category"].unique())
    rows = [{"category": c, "cells": [_fmt_count(grid[(c, b)]) if (c, b) in grid else "0" for b in bands]}
            for c in categories]
    series = {c: [grid.get((c, b), 0) for b in bands] for c in categories}
    chart = figures.bars(bands if rows else [], series, "Open journeys by age band", "No open journeys.",
                         x_title="age (days)", y_title="open journeys", stacked=True)
    return {"bands": bands, "rows": rows, "chart": chart}


def _study(service: str, chosen: pd.DataFrame, journey: pd.DataFrame, journey_event: pd.DataFrame,
           figures: _Figures) -> list[dict]:
    out = []
    for reason, journey_id in chosen.loc[chosen["service"] == service, ["reason", "journey_id"]].itertuples(index=False):
        j = journey[journey["journey_id"] == journey_id].iloc[0]
        events = journey_event[journey_event["journey_id"] == journey_id].sort_values("seq").reset_index(drop=True)
        out.append({
            "reason": reason, "journey_id": journey_id, "category": j["category"] or "(none)",
            "status": j["status"], "e2e_days": "" if pd.isna(j["e2e_days"]) else f"{j['e2e_days']:.1f}",
            "handoffs": int(j["handoffs"]), "teams": int(j["teams"]), "contacts": int(j["contacts"]),
            "failure_contacts": int(j["failure_contacts"]),
            "figure": figures.html(charts.timeline_figure(events, f"{journey_id}: {reason}")),
            "events": [{"seq": int(e["seq"]), "at": _fmt_time(e["event_at"]), "system": e["system"],
                        "event_type": e["event_type"], "team": e["team"] or "",
                        "demand": (e["demand_type"] or "") + (f" ({e['failure_type']})" if e["failure_type"] else "")}
                       for e in events.to_dict("records")],
        })
    return out


def report_context(published: Published, threshold: int, title: str, tz: str) -> dict:
    """Everything the template shows, from the published frames (no I/O)."""
    journey = published["journey"].assign(service=lambda f: f["service"].fillna(NO_SERVICE))
    events = published["journey_event"]
    contacts = summaries.contact_events(journey, events)
    weekly = summaries.weekly_demand(contacts, threshold, tz)
    by_type = summaries.failure_by(contacts, "failure_type", threshold)
    by_channel = summaries.failure_by(contacts, "channel", threshold)
    handoffs = summaries.distribution(journey, "handoffs", threshold)
    teams = summaries.distribution(journey, "teams", threshold)
    sequences = summaries.team_sequences(journey, events, threshold)
    rates = summaries.resolution_rates(journey, threshold)
    cells = summaries.wip_cells(published["measure_wip"], threshold)
    bands = summaries.age_bands(published["measure_wip"])
    capability = summaries.capability_groups(published["measure_capability"],
                                             published["measure_capability_point"], threshold)
    chosen = summaries.study_journeys(journey)
    figures = _Figures(threshold)
    services = sorted(set(journey["service"]) | {g["service"] for g in capability} | set(cells["service"]))
    sections = []
    for n, service in enumerate(services, start=1):
        sections.append({
            "anchor": f"service-{n}", "service": service,
            "journeys": _fmt_count(summaries.suppress_count(int((journey["service"] == service).sum()), threshold)),
            "capability": _capability([g for g in capability if g["service"] == service], figures, threshold),
            "demand": _demand(service, weekly, by_type, by_channel, figures),
            "flow": _flow(service, handoffs, teams, sequences, rates, figures),
            "wip": _wip(service, cells, bands, figures),
            "study": _study(service, chosen, journey, events, figures),
        })
    return {"title": title, "run": _run_header(published, tz), "threshold": threshold, "timezone": tz,
            "sections": sections}


def render_report(context: dict) -> str:
    """The report page: the template filled in, with plotly.js inlined."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(plotly_js=get_plotlyjs(), **context)


def build_report(warehouse_url: str, out_dir: Path, *, small_number_threshold: int = 5,
                 title: str = DEFAULT_TITLE, timezone: str = "Europe/London") -> Path:
    """Write the report of the latest publication to ``out_dir/index.html`` and return its path."""
    if small_number_threshold < 1:
        raise ValueError(f"small_number_threshold must be at least 1, got {small_number_threshold}")
    published = read_published(warehouse_url, REPORT_TABLES)
    html = render_report(report_context(published, small_number_threshold, title, timezone))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
