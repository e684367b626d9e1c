"""Plotly figures for the report (pure: prepared frames in, figures out).

A suppressed count is ``None`` in the frames; a bar chart draws it as an empty bar
labelled "suppressed" (never as a zero), so a reader can tell "none" from "too few
to show".
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

SUPPRESSED_LABEL = "suppressed"
SYSTEM_COLOURS = {"telephony": "#1f77b4", "crm": "#2ca02c", "works": "#ff7f0e"}
DEMAND_SYMBOLS = {"value": "circle", "failure": "x", None: "circle-open"}
_LAYOUT = dict(template="plotly_white", height=340, margin=dict(l=60, r=20, t=50, b=60),
               font=dict(family="system-ui, sans-serif", size=12))


def _layout(fig: go.Figure, title: str, x_title: str = "", y_title: str = "") -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0), xaxis_title=x_title, yaxis_title=y_title, **_LAYOUT)
    return fig


def bar_figure(x: Sequence, series: dict[str, Sequence[int | None]], title: str, *,
               x_title: str = "", y_title: str = "journeys", stacked: bool = False,
               horizontal: bool = False) -> go.Figure:
    """Bars per series; ``None`` values are drawn as empty bars labelled "suppressed"."""
    fig = go.Figure()
    labels = [str(v) for v in x]
    for name, values in series.items():
        suppressed = [v is None or pd.isna(v) for v in values]
        heights = [0 if s else int(v) for s, v in zip(suppressed, values)]
        text = [SUPPRESSED_LABEL if s else f"{h:,}" for s, h in zip(suppressed, heights)]
        axes = dict(x=heights, y=labels, orientation="h") if horizontal else dict(x=labels, y=heights)
        fig.add_trace(go.Bar(name=name, text=text, hovertext=text, cliponaxis=False,
                             textposition=["outside" if s else "auto" for s in suppressed],
                             hovertemplate="%{hovertext}<extra>" + name + "</extra>", **axes))
    fig.update_layout(barmode="stack" if stacked else "group", showlegend=len(series) > 1)
    category_axis, value_axis = (fig.update_yaxes, fig.update_xaxes) if horizontal else (fig.update_xaxes, fig.update_yaxes)
    category_axis(type="category", **({"autorange": "reversed"} if horizontal else {}))
    value_axis(rangemode="tozero")
    return _layout(fig, title, y_title, x_title) if horizontal else _layout(fig, title, x_title, y_title)


def all_suppressed(series: dict[str, Sequence[int | None]]) -> bool:
    """True when a chart would show nothing but suppressed (or zero) bars."""
    return all(v is None or pd.isna(v) or v == 0 for values in series.values() for v in values)


def capability_figure(limits: dict, points: pd.DataFrame, title: str) -> go.Figure:
    """XmR individuals chart: each met journey's end-to-end days in order of completion,
    the mean and natural process limits, and the signals marked."""
    fig = go.Figure()
    hover = [f"{j}<br>met {e:%Y-%m-%d}" for j, e in zip(points["journey_id"], points["ended_at"])]
    fig.add_trace(go.Scatter(x=points["seq"], y=points["e2e_days"], mode="lines+markers", name="end-to-end days",
                             line=dict(color="#444"), marker=dict(size=6), hovertext=hover,
                             hovertemplate="%{y:.1f} days<br>%{hovertext}<extra></extra>"))
    signal = points["above_unpl"].fillna(False).astype(bool) | points["in_run"].fillna(False).astype(bool)
    if signal.any():
        fig.add_trace(go.Scatter(x=points.loc[signal, "seq"], y=points.loc[signal, "e2e_days"], mode="markers",
                                 name="signal", marker=dict(color="#d62728", size=11, symbol="diamond")))
    x_range = [points["seq"].min(), points["seq"].max()] if len(points) else [0, 1]
    for name, key, dash, colour in (("mean", "mean_days", "solid", "#2ca02c"),
                                    ("UNPL", "unpl", "dash", "#d62728"), ("LNPL", "lnpl", "dash", "#d62728")):
        value = limits.get(key)
        if value is not None and not pd.isna(value):
            fig.add_trace(go.Scatter(x=x_range, y=[value, value], mode="lines", name=f"{name} {value:.1f}",
                                     line=dict(dash=dash, color=colour), hoverinfo="name"))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, title, "journeys met, in order of completion", "end-to-end days")


def sankey_figure(links: pd.DataFrame, title: str) -> go.Figure:
    """Team paths as a Sankey diagram (nodes are 'step. team')."""
    nodes = sorted(set(links["source"]) | set(links["target"]), key=lambda n: (int(n.split(".")[0]), n))
    index = {n: i for i, n in enumerate(nodes)}
    fig = go.Figure(go.Sankey(
        node=dict(label=nodes, pad=12, thickness=14),
        link=dict(source=[index[s] for s in links["source"]], target=[index[t] for t in links["target"]],
                  value=links["journeys"].astype(int).tolist()),
    ))
    return _layout(fig, title)


def timeline_figure(events: pd.DataFrame, title: str) -> go.Figure:
    """One journey as it moved between teams over time; colour = system, cross = failure demand."""
    teams = events["team"].fillna("(no team)")
    fig = go.Figure(go.Scatter(x=events["event_at"], y=teams, mode="lines", line=dict(color="#bbb", shape="hv"),
                               hoverinfo="skip", showlegend=False))
    for system, group in events.groupby("system", sort=True):
        hover = [f"#{s} {t}" + (f" ({d}{': ' + f if f else ''})" if d else "")
                 for s, t, d, f in zip(group["seq"], group["event_type"], group["demand_type"], group["failure_type"])]
        fig.add_trace(go.Scatter(
            x=group["event_at"], y=teams[group.index], mode="markers", name=system, hovertext=hover,
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{hovertext}<extra>" + system + "</extra>",
            marker=dict(size=10, color=SYSTEM_COLOURS.get(system, "#777"),
                        symbol=[DEMAND_SYMBOLS.get(d, "circle") for d in group["demand_type"]]),
        ))
    fig.update_yaxes(type="category")
    first, last = events["event_at"].min(), events["event_at"].max()
    if last - first < pd.Timedelta(hours=2):  # a journey of one moment: give it a readable axis
        fig.update_xaxes(range=[first - pd.Timedelta(hours=6), last + pd.Timedelta(hours=6)])
    return _layout(fig, title, "time (UTC)", "team")
