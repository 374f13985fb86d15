"""Plotly figures of a `MonitoringResult`, shared by the UI tab, the HTML report and the notebook.

Every figure function is fail-safe: a failure returns a figure that states the error instead of
raising, so one broken chart never takes the page (or the report) down with it. `CAPTIONS` holds
the one line that tells a reader how to read each chart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.drift.chunking import MIN_CHUNK_ROWS
from monitoring.drift.result import MonitoringResult

log = logging.getLogger(__name__)
P = ParamSpec("P")

PRODUCTION, REFERENCE, ALERT, MUTED = "#1f77b4", "#7f7f7f", "#d62728", "#c7c7c7"

CAPTIONS: dict[str, str] = {
    "score_distribution": "Share of applications per score bin, production vs the model's holdout: a shifted or "
    "reshaped curve means the applicants (or the inputs) changed.",
    "probability_over_time": "Mean predicted default probability (left) and approval rate (right) per time bucket: "
    "a step here changes the business outcome even if no single feature alerts.",
    "latency_over_time": "API latency (request in to response out) and model inference time percentiles per bucket; "
    "p99 is what the slowest 1% of clients wait.",
    "latency_histograms": "Distribution of API latency and inference time over the window (clipped at p99.5).",
    "drift_heatmap": "Each cell is a feature's drift statistic in a chunk divided by its alert threshold: above 1 "
    f"(red, marked ✕) is an alert; grey cells had fewer than {MIN_CHUNK_ROWS} rows (not enough data).",
    "drift_table": "Features ranked by the number of chunks in alert, with the method and NannyML's threshold "
    "(mean + 3 sd of the statistic over reference chunks).",
    "multivariate": "PCA reconstruction error of the monitored inputs per chunk, with its reference band: it rises "
    "when the relationships between features change, even if each one looks normal.",
    "performance": "CBPE estimates, without labels, of ROC AUC and of the business cost per 1,000 applications "
    "(10 x missed defaulter + 1 x refused good client), with their confidence band and the "
    "reference range (dashed); crosses are realised values when labels are known.",
    "missing_rates": "Missing-value rate per monitored feature: reference vs the worst chunk of the window; red bars "
    "crossed their threshold (a broken upstream source often shows here first).",
}


def message_figure(text: str, *, height: int = 260) -> go.Figure:
    """An empty figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14, "color": "#a33"}
    )
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False}, height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}
    )
    return fig


def failsafe(fn: Callable[P, go.Figure]) -> Callable[P, go.Figure]:
    """A chart that fails shows its error in place instead of raising."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> go.Figure:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # any failure of one chart becomes a message, never a dead page
            log.exception("chart failed", extra={"chart": fn.__name__})
            return message_figure(f"{fn.__name__} failed: {type(exc).__name__}: {exc}"[:300])

    return wrapper


def titled(fig: go.Figure, title: str, *, height: int = 340, top: int = 50, left: int = 50) -> go.Figure:
    """The house layout of every monitoring chart: a title at the left, white template, legend below."""
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        template="plotly_white",
        margin={"l": left, "r": 20, "t": top, "b": 40},
        legend={"orientation": "h", "y": -0.2 if top <= 50 else -0.15},
    )
    return fig


def _no_rows(result: MonitoringResult) -> go.Figure | None:
    return message_figure("No logged predictions in this window.") if result.kpis.get("predictions", 0) == 0 else None


@failsafe
def score_distribution(result: MonitoringResult) -> go.Figure:
    if (empty := _no_rows(result)) is not None:
        return empty
    score = result.histograms["score"]
    edges = np.asarray(score["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for name, counts, colour in (
        ("reference", score["reference"], REFERENCE),
        ("production", score["production"], PRODUCTION),
    ):
        counts = np.asarray(counts, dtype=float)
        fig.add_bar(x=centres, y=counts / max(counts.sum(), 1), name=name, marker_color=colour, opacity=0.6)
    threshold = result.kpis.get("threshold")
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color=ALERT, annotation_text="refuse at")
    fig.update_layout(barmode="overlay", xaxis_title="predicted probability of default", yaxis_title="share")
    return titled(fig, "Score distribution: production vs reference")


def _buckets(result: MonitoringResult) -> list[str]:
    """Time buckets as labels (a category axis): one bucket is still a readable point, not a 1 ms-wide axis."""
    return [str(v) for v in result.timeline.get("label", result.timeline["start"].astype(str))]


@failsafe
def probability_over_time(result: MonitoringResult) -> go.Figure:
    if (empty := _no_rows(result)) is not None:
        return empty
    t, x = result.timeline, _buckets(result)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=x, y=t["mean_probability"], name="mean probability", mode="lines+markers", line_color=PRODUCTION)
    fig.add_scatter(
        x=x,
        y=t["approval_rate"],
        name="approval rate",
        mode="lines+markers",
        line_color="#2ca02c",
        secondary_y=True,
    )
    fig.update_yaxes(title_text="mean probability", secondary_y=False)
    fig.update_yaxes(title_text="approval rate", range=[0, 1], secondary_y=True)
    return titled(fig, "Predicted probability and approval rate over time")


@failsafe
def latency_over_time(result: MonitoringResult) -> go.Figure:
    if (empty := _no_rows(result)) is not None:
        return empty
    t, x = result.timeline, _buckets(result)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("API latency (ms)", "inference (ms)"))
    for col, prefix in ((1, "latency_ms"), (2, "inference_ms")):
        for q, dash in ((50, "solid"), (95, "dash"), (99, "dot")):
            fig.add_scatter(
                x=x,
                y=t[f"{prefix}_p{q}"],
                name=f"{prefix.split('_')[0]} p{q}",
                mode="lines+markers",
                line={"dash": dash},
                row=1,
                col=col,
            )
    return titled(fig, "Latency percentiles over time")


@failsafe
def latency_histograms(result: MonitoringResult) -> go.Figure:
    if (empty := _no_rows(result)) is not None:
        return empty
    fig = make_subplots(rows=1, cols=2, subplot_titles=("API latency (ms)", "inference (ms)"))
    for col, name in ((1, "latency_ms"), (2, "inference_ms")):
        hist = result.histograms.get(name, {})
        edges = np.asarray(hist.get("edges", []))
        if len(edges) > 1:
            fig.add_bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=hist["counts"],
                name=name,
                row=1,
                col=col,
                marker_color=PRODUCTION,
                showlegend=False,
            )
    return titled(fig, "Latency distributions")


def _ratio_matrix(result: MonitoringResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature x chunk: worst value/threshold over the feature's methods, and the alert flag."""
    uni = result.univariate.copy()
    uni["ratio"] = uni["value"] / uni["threshold"].where(uni["threshold"] > 0)
    order = list(dict.fromkeys(uni["feature"]))
    keys = list(result.chunks["key"])
    ratio = uni.pivot_table(index="feature", columns="key", values="ratio", aggfunc="max", dropna=False)
    alert = uni.assign(alert=uni["alert"].astype("float")).pivot_table(
        index="feature", columns="key", values="alert", aggfunc="max", dropna=False
    )
    return ratio.reindex(index=order, columns=keys), alert.reindex(index=order, columns=keys)


@failsafe
def drift_heatmap(result: MonitoringResult) -> go.Figure:
    if result.univariate.empty:
        return message_figure(f"No chunk with at least {MIN_CHUNK_ROWS} rows: not enough data for a drift verdict.")
    ratio, alert = _ratio_matrix(result)
    text = np.where(alert.to_numpy() == 1, "✕", np.where(np.isnan(ratio.to_numpy(dtype=float)), "·", ""))
    fig = go.Figure(
        go.Heatmap(
            z=ratio.to_numpy(dtype=float),
            x=list(ratio.columns),
            y=list(ratio.index),
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=2,
            zmid=1,
            colorscale=[[0, "#f7fbff"], [0.5, "#fdd49e"], [1, ALERT]],
            colorbar={"title": "value / threshold"},
            hoverongaps=False,
            hovertemplate="%{y}<br>chunk %{x}<br>value/threshold %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(plot_bgcolor=MUTED, yaxis={"autorange": "reversed"}, xaxis_title="chunk")
    return titled(
        fig,
        "Univariate drift: features x chunks (✕ = alert, grey = not enough data)",
        height=max(340, 22 * len(ratio) + 120),
    )


@failsafe
def drift_table(result: MonitoringResult) -> go.Figure:
    table = result.drift_ranking()
    if table.empty:
        return message_figure("No drift statistics: not enough data in every chunk.")
    cells = [
        table["feature"],
        table["kind"],
        table["method"],
        table["threshold"].round(4),
        table["alert_chunks"].astype(str) + " / " + table["valid_chunks"].astype(str),
        table["max_value"].round(4),
        table["max_ratio"].round(2),
    ]
    colours = [[("#fde0dd" if n else "white") for n in table["alert_chunks"]]] * len(cells)
    fig = go.Figure(
        go.Table(
            header={
                "values": [
                    "feature",
                    "kind",
                    "method",
                    "threshold",
                    "chunks in alert",
                    "max value",
                    "max value / threshold",
                ],
                "fill_color": "#eeeeee",
                "align": "left",
            },
            cells={"values": cells, "fill_color": colours, "align": "left"},
        )
    )
    return titled(fig, "Drifting features, ranked", height=min(900, 28 * len(table) + 120))


@failsafe
def multivariate(result: MonitoringResult) -> go.Figure:
    data = result.multivariate
    if data.empty or data["value"].isna().all():
        return message_figure(f"Not enough data for the multivariate drift (every chunk under {MIN_CHUNK_ROWS} rows).")
    fig = go.Figure()
    fig.add_scatter(x=data["key"], y=data["upper_band"], mode="lines", line={"width": 0}, showlegend=False)
    fig.add_scatter(
        x=data["key"],
        y=data["lower_band"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(31,119,180,0.15)",
        name="sampling band",
    )
    fig.add_scatter(
        x=data["key"], y=data["value"], mode="lines+markers", name="reconstruction error", line_color=PRODUCTION
    )
    _thresholds(fig, data["key"], data["lower_threshold"], data["upper_threshold"])
    _alert_markers(fig, data["key"], data["value"], data["alert"])
    fig.update_layout(xaxis_title="chunk", yaxis_title="reconstruction error")
    return titled(fig, "Multivariate drift (PCA data reconstruction)")


def _thresholds(fig: go.Figure, x: pd.Series, lower: pd.Series, upper: pd.Series, **where: int) -> None:
    for values, name in ((upper, "upper threshold"), (lower, "lower threshold")):
        if values.notna().any():
            fig.add_scatter(  # one chunk: a line of one point is invisible, so draw a dash-shaped marker
                x=x,
                y=values,
                mode="lines" if len(x) > 1 else "lines+markers",
                marker={"symbol": "line-ew-open", "size": 28, "color": ALERT},
                name=name,
                line={"dash": "dash", "color": ALERT},
                showlegend=name == "upper threshold" and not where.get("col", 1) - 1,
                **where,
            )


def _alert_markers(fig: go.Figure, x: pd.Series, y: pd.Series, alert: pd.Series, **where: int) -> None:
    flagged = alert.fillna(False).astype(bool).to_numpy()
    if flagged.any():
        fig.add_scatter(
            x=x[flagged],
            y=y[flagged],
            mode="markers",
            name="alert",
            marker={"color": ALERT, "size": 11, "symbol": "diamond"},
            **where,
        )


@failsafe
def performance(result: MonitoringResult) -> go.Figure:
    data = result.performance
    if data.empty or data["estimate"].isna().all():
        return message_figure(f"Not enough data for a performance estimate (every chunk under {MIN_CHUNK_ROWS} rows).")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("estimated ROC AUC", "estimated cost per 1,000 applications"))
    for col, metric in ((1, "roc_auc"), (2, "business_cost_per_1000")):
        part = data[data["metric"] == metric]
        where = {"row": 1, "col": col}
        fig.add_scatter(x=part["key"], y=part["upper_band"], mode="lines", line={"width": 0}, showlegend=False, **where)
        fig.add_scatter(
            x=part["key"],
            y=part["lower_band"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.15)",
            name="confidence band",
            showlegend=col == 1,
            **where,
        )
        fig.add_scatter(
            x=part["key"],
            y=part["estimate"],
            mode="lines+markers",
            name="CBPE estimate",
            line_color=PRODUCTION,
            showlegend=col == 1,
            **where,
        )
        _thresholds(fig, part["key"], part["lower_threshold"], part["upper_threshold"], **where)
        if part["realized"].notna().any():
            fig.add_scatter(
                x=part["key"],
                y=part["realized"],
                mode="markers",
                name="realised",
                marker={"symbol": "x", "color": "#2ca02c", "size": 9},
                showlegend=col == 1,
                **where,
            )
        _alert_markers(fig, part["key"], part["estimate"], part["alert"], **where)
    return titled(fig, "Estimated performance without labels (CBPE)")


@failsafe
def missing_rates(result: MonitoringResult) -> go.Figure:
    data = result.missing
    if data.empty or data["rate"].isna().all():
        return message_figure(f"Not enough data for missing-value rates (every chunk under {MIN_CHUNK_ROWS} rows).")
    worst = data.groupby("feature", sort=False).agg(
        rate=("rate", "max"), reference=("reference_rate", "first"), alert=("alert", "any")
    )
    fig = go.Figure()
    fig.add_bar(y=worst.index, x=worst["reference"], name="reference", orientation="h", marker_color=REFERENCE)
    fig.add_bar(
        y=worst.index,
        x=worst["rate"],
        name="production (worst chunk)",
        orientation="h",
        marker_color=[ALERT if a else PRODUCTION for a in worst["alert"].fillna(False)],
    )
    fig.update_layout(
        barmode="group", xaxis_title="missing rate", xaxis_tickformat=".0%", yaxis={"autorange": "reversed"}
    )
    return titled(fig, "Missing values: production vs reference", height=max(340, 24 * len(worst) + 120))


CHARTS: dict[str, Callable[[MonitoringResult], go.Figure]] = {
    "score_distribution": score_distribution,
    "probability_over_time": probability_over_time,
    "latency_over_time": latency_over_time,
    "latency_histograms": latency_histograms,
    "drift_heatmap": drift_heatmap,
    "drift_table": drift_table,
    "multivariate": multivariate,
    "performance": performance,
    "missing_rates": missing_rates,
}


def figure(kind: str, result: MonitoringResult) -> go.Figure:
    """The chart `kind` (a key of CHARTS) of a result; an unknown kind is a message figure too."""
    chart = CHARTS.get(kind)
    if chart is None:
        return message_figure(f"unknown chart {kind!r}; available: {', '.join(CHARTS)}")
    return chart(result)
