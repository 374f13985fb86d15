"""Plotly figures of the outcome side of a result: realized vs estimated, calibration, fairness, score PSI.

Kept apart from `monitoring.plots` (which draws the drift side) so each stays one screen of charts;
both share its layout helpers. Every figure says on itself that realized metrics are accepts-only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.drift.result import MonitoringResult
from monitoring.drift.stability import PSI_SHIFT, PSI_WATCH
from monitoring.plots import failsafe, message_figure, titled

ACCEPTS_ONLY = "Accepts-only: realized metrics are on approved loans (only they get an outcome)."
CAPTIONS: dict[str, str] = {
    "realized_performance": (
        "Per chunk, on the rows with an outcome: realized ROC AUC and business cost per 1,000 (solid) beside "
        "CBPE's estimate on the same rows (dashed), the reference's accepts-only value (grey) and the alert "
        "limit (red); bottom, label coverage (share of rows with an outcome). Grey 'not enough labels' marks a "
        "chunk below the minimum count: no realized figure there. If solid and dashed part, the estimate did "
        "not hold: the relation between inputs and defaults changed (retrain; check upstream sources). " + ACCEPTS_ONLY
    ),
    "calibration": (
        "Predicted vs observed default rate by score decile of the labelled rows; on the diagonal the score means "
        "what it says. Red: the binomial test rejects the predicted rate (p < alpha). " + ACCEPTS_ONLY
    ),
    "fairness": (
        "Approval rate per chunk by CODE_GENDER and by age band (groups with enough rows); dotted, the reference. "
        "An alert fires when the gap between groups moves beyond the tolerance from the reference's gap."
    ),
    "score_psi": (
        "Population stability of the score on the reference's deciles, per chunk: below 0.10 stable, 0.10-0.25 "
        "worth a look, above 0.25 a population the model was not built on."
    ),
}


def _outcomes(result: MonitoringResult) -> go.Figure | None:
    if result.outcomes is None:
        return message_figure("No outcome analysis in this result.")
    if not len(result.outcomes.realized):
        return message_figure("No predictions in this window.")
    return None


def _layout(fig: go.Figure, title: str, *, height: int = 380) -> go.Figure:
    return titled(fig, title, height=height, top=60, left=55)


@failsafe
def realized_performance(result: MonitoringResult) -> go.Figure:
    empty = _outcomes(result)
    if empty is not None:
        return empty
    out = result.outcomes
    table, ref, rules = out.realized, out.reference, out.rules
    x = table["key"].astype(str)
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.4, 0.4, 0.2],
        vertical_spacing=0.06,
        subplot_titles=("ROC AUC", "business cost per 1,000 (10·FN + FP)", "label coverage"),
    )
    specs = [
        (1, "roc_auc", ref["roc_auc"], rules.auc_floor),
        (2, "cost_per_1000", ref["cost_per_1000"], ref["cost_per_1000"] * (1 + rules.cost_margin)),
    ]
    for row, metric, reference, limit in specs:
        fig.add_trace(go.Scatter(x=x, y=table[metric], name=f"realized {metric}", mode="lines+markers"), row=row, col=1)
        fig.add_trace(
            go.Scatter(x=x, y=table[f"estimated_{metric}"], name=f"CBPE estimate {metric}", line={"dash": "dash"}),
            row=row,
            col=1,
        )
        fig.add_hline(y=reference, line={"color": "#888", "dash": "dot"}, row=row, col=1)
        fig.add_hline(y=limit, line={"color": "#c33", "dash": "dot"}, row=row, col=1)
        short = table[~table["enough_labels"]]
        if len(short):
            y = np.full(len(short), reference)
            fig.add_trace(
                go.Scatter(
                    x=short["key"].astype(str),
                    y=y,
                    mode="markers+text",
                    text=["not enough labels"] * len(short),
                    textposition="top center",
                    marker={"color": "#bbb", "symbol": "x"},
                    name="not enough labels",
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
    fig.add_trace(go.Bar(x=x, y=table["coverage"], name="label coverage", marker_color="#7a9"), row=3, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=3, col=1)
    fig.add_annotation(text=ACCEPTS_ONLY, xref="paper", yref="paper", x=0, y=1.09, showarrow=False, font={"size": 11})
    return _layout(fig, "Realized vs estimated performance (labelled rows)", height=620)


@failsafe
def calibration(result: MonitoringResult) -> go.Figure:
    empty = _outcomes(result)
    if empty is not None:
        return empty
    table = result.outcomes.calibration
    if not len(table):
        return message_figure(f"Not enough labels for calibration (at least {result.outcomes.rules.min_labels}).")
    top = float(max(table["predicted"].max(), table["observed"].max()) * 1.1)
    colours = np.where(table["off"].astype(bool), "#c33", "#36a")
    fig = go.Figure(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": "#aaa", "dash": "dot"}, name="ideal")
    )
    fig.add_trace(
        go.Scatter(
            x=table["predicted"],
            y=table["observed"],
            mode="markers+lines",
            marker={"color": colours, "size": 9},
            text=[
                f"decile {d}: {n} rows, p={p:.3g}"
                for d, n, p in zip(table["decile"], table["rows"], table["p_value"], strict=True)
            ],
            name="deciles",
        )
    )
    hl = result.outcomes.hosmer_lemeshow
    if hl.get("p_value") is not None:
        fig.add_annotation(
            text=f"Hosmer–Lemeshow {hl['statistic']:.1f} (dof {hl['dof']}), p = {hl['p_value']:.3g}",
            xref="paper",
            yref="paper",
            x=0.02,
            y=0.98,
            showarrow=False,
        )
    fig.update_xaxes(title="predicted default rate", tickformat=".0%")
    fig.update_yaxes(title="observed default rate", tickformat=".0%")
    return _layout(fig, "Calibration by score decile (labelled rows, accepts-only)")


@failsafe
def fairness(result: MonitoringResult) -> go.Figure:
    empty = _outcomes(result)
    if empty is not None:
        return empty
    groups, rules = result.outcomes.groups, result.outcomes.rules
    if not len(groups):
        return message_figure("No CODE_GENDER or age in the logged rows.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("by CODE_GENDER", "by age band"), shared_yaxes=True)
    for col, attribute in enumerate(("CODE_GENDER", "age_band"), start=1):
        part = groups[(groups["attribute"] == attribute) & (groups["rows"] >= rules.fairness_min_rows)]
        for group, rows in part.groupby("group", sort=True):
            fig.add_trace(
                go.Scatter(
                    x=rows["key"].astype(str),
                    y=rows["approval_rate"],
                    mode="lines+markers",
                    name=f"{attribute}={group}",
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(tickformat=".0%", title="approval rate", row=1, col=1)
    gaps = result.outcomes.reference_gaps
    note = ", ".join(f"{k} {v:.1%}" for k, v in gaps.items() if pd.notna(v))
    fig.add_annotation(
        text=f"reference gaps: {note}; tolerance ±{rules.fairness_tolerance:.0%}",
        xref="paper",
        yref="paper",
        x=0,
        y=1.12,
        showarrow=False,
    )
    return _layout(fig, "Approval rate by group over time")


@failsafe
def score_psi(result: MonitoringResult) -> go.Figure:
    empty = _outcomes(result)
    if empty is not None:
        return empty
    table = result.outcomes.stability
    colours = np.where(table["psi"] > PSI_SHIFT, "#c33", np.where(table["psi"] > PSI_WATCH, "#e90", "#7a9"))
    fig = go.Figure(go.Bar(x=table["key"].astype(str), y=table["psi"], marker_color=colours, name="score PSI"))
    fig.add_hline(y=PSI_WATCH, line={"color": "#e90", "dash": "dot"})
    fig.add_hline(y=PSI_SHIFT, line={"color": "#c33", "dash": "dot"})
    return _layout(fig, "Score PSI on the reference deciles", height=300)


OUTCOME_CHARTS: dict[str, Callable[[MonitoringResult], go.Figure]] = {
    "realized_performance": realized_performance,
    "calibration": calibration,
    "fairness": fairness,
    "score_psi": score_psi,
}
