"""Plotly figures of champion vs challenger (`MonitoringResult.pair`): agreement, swaps, scores, performance.

Apart from `monitoring.plots` (the drift side) and `monitoring.outcome_plots` (the outcome side); each
figure is fail-safe through `monitoring.plots.failsafe` and says so in place when there is no pair.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.drift.chunking import MIN_CHUNK_ROWS
from monitoring.drift.pair import PROBABILITY
from monitoring.drift.result import MonitoringResult
from monitoring.plots import ALERT, MUTED, PRODUCTION, REFERENCE, failsafe, message_figure, titled

CHAMPION, CHALLENGER = PRODUCTION, "#ff7f0e"
NO_PAIR = "No challenger scored a row of this window (no CHALLENGER_URI, or no traffic since it was set)."
CAPTIONS: dict[str, str] = {
    "pair_agreement": (
        "Top: per chunk, the share of rows both models scored on which they take the same decision. Bottom: "
        "the two ways they part, as shares of those rows: approved by the champion but refused by the "
        "challenger, and the reverse. Grey: fewer than "
        f"{MIN_CHUNK_ROWS} rows scored by both (read with care). A falling agreement means the challenger would "
        "change decisions for more applicants: check which way before promoting."
    ),
    "pair_swaps": (
        "Decisions of both models on the same rows: the diagonal agrees, the off-diagonal cells are the applicants "
        "whose answer a promotion would change (count and share of the rows both scored)."
    ),
    "pair_scores": (
        "Each dot is an application scored by both (a sample): champion probability across, challenger up, "
        "with each decision threshold. Dots in the top-left and bottom-right boxes swap decision. "
        "Pearson measures a straight-line relation, Spearman the order, which is what a threshold uses."
    ),
    "pair_performance": (
        "Per chunk, CBPE's estimate (no labels) of ROC AUC and business cost per 1,000 for both models on the "
        "same rows, each from its own scores of the reference. Dotted: realized figures on the labelled rows "
        "both scored, which are loans the champion approved (accepts-only): the challenger is judged there "
        "only, never on the applicants the champion refused."
    ),
}


def _pair(result: MonitoringResult) -> go.Figure | None:
    return message_figure(NO_PAIR) if result.pair is None else None


def _layout(fig: go.Figure, title: str, *, height: int = 360) -> go.Figure:
    return titled(fig, title, height=height, top=60, left=55)


@failsafe
def pair_agreement(result: MonitoringResult) -> go.Figure:
    empty = _pair(result)
    if empty is not None:
        return empty
    table = result.pair.by_chunk
    x = table["key"].astype(str)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.08)
    colours = np.where(table["enough"], CHAMPION, MUTED)
    fig.add_scatter(
        x=x,
        y=table["agreement"],
        mode="lines+markers",
        marker={"color": colours, "size": 8},
        line={"color": CHAMPION},
        name="agreement",
        customdata=table["both"],
        hovertemplate="%{x}<br>agreement %{y:.1%}<br>%{customdata} rows scored by both<extra></extra>",
        row=1,
        col=1,
    )
    for name, label, colour in (
        ("approve_to_refuse", "champion approves, challenger refuses", ALERT),
        ("refuse_to_approve", "champion refuses, challenger approves", CHALLENGER),
    ):
        fig.add_bar(x=x, y=table[name], name=label, marker_color=colour, row=2, col=1)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=".0%", row=1, col=1, title_text="agreement")
    fig.update_yaxes(tickformat=".1%", row=2, col=1, title_text="swaps")
    overall = result.pair.overall
    return _layout(fig, f"Decision agreement over time ({overall['agreement']:.1%} over {overall['rows']:,} rows)")


@failsafe
def pair_swaps(result: MonitoringResult) -> go.Figure:
    empty = _pair(result)
    if empty is not None:
        return empty
    matrix = result.pair.matrix
    counts = matrix.to_numpy()
    shares = counts / max(counts.sum(), 1)
    text = [
        [f"{c:,}<br>{s:.1%}" for c, s in zip(row, share, strict=True)]
        for row, share in zip(counts, shares, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=np.where(np.eye(2, dtype=bool), np.nan, shares),  # colour the swaps only: agreement needs no alarm
            x=[f"challenger {c}s" for c in matrix.columns],
            y=[f"champion {c}s" for c in matrix.index],
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "#fff5f0"], [1, ALERT]],
            zmin=0,
            zmax=max(0.05, 2 * float(shares[~np.eye(2, dtype=bool)].max())),  # a swap share never saturates
            showscale=False,
            hoverinfo="skip",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Approve ↔ refuse swap matrix (rows both scored)", height=320)


@failsafe
def pair_scores(result: MonitoringResult) -> go.Figure:
    empty = _pair(result)
    if empty is not None:
        return empty
    pair = result.pair
    sample = pair.scores
    fig = go.Figure(
        go.Scattergl(
            x=sample["probability"],
            y=sample[PROBABILITY],
            mode="markers",
            marker={"size": 4, "color": CHAMPION, "opacity": 0.45},
            name="applications",
        )
    )
    line = {"color": REFERENCE, "dash": "dot"}
    if np.isfinite(pair.thresholds.get("champion", np.nan)):
        fig.add_vline(x=pair.thresholds["champion"], line=line)
    if np.isfinite(pair.thresholds.get("challenger", np.nan)):
        fig.add_hline(y=pair.thresholds["challenger"], line=line)
    fig.update_xaxes(title_text="champion probability", range=[0, 1])
    fig.update_yaxes(title_text="challenger probability", range=[0, 1])
    overall = pair.overall
    title = f"Scores of both models: Pearson {overall['pearson']:.3f}, Spearman {overall['spearman']:.3f}"
    return _layout(fig, title, height=420)


@failsafe
def pair_performance(result: MonitoringResult) -> go.Figure:
    empty = _pair(result)
    if empty is not None:
        return empty
    pair = result.pair
    table = pair.by_chunk
    if not pair.challenger_reference and table["champion_estimated_roc_auc"].isna().all():
        return message_figure(
            f"No CBPE for the pair: every chunk has fewer than {MIN_CHUNK_ROWS} rows scored by both, "
            "or the challenger's model folder is not known to the analysis."
        )
    x = table["key"].astype(str)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("estimated ROC AUC", "estimated cost per 1,000"))
    for col, metric in ((1, "roc_auc"), (2, "cost_per_1000")):
        for model, colour in (("champion", CHAMPION), ("challenger", CHALLENGER)):
            fig.add_scatter(
                x=x,
                y=table[f"{model}_estimated_{metric}"],
                mode="lines+markers",
                line={"color": colour},
                name=f"{model} (CBPE)",
                showlegend=col == 1,
                row=1,
                col=col,
            )
            realized = pair.realized.get(f"{model}_{metric}")
            if realized is not None and np.isfinite(realized):
                fig.add_hline(
                    y=realized,
                    line={"color": colour, "dash": "dot"},
                    annotation_text=f"{model} realized",
                    annotation_position="top left" if model == "champion" else "bottom right",  # apart when equal
                    row=1,
                    col=col,
                )
    if not pair.challenger_reference:
        fig.add_annotation(
            text="challenger: no reference scores, no CBPE", xref="paper", yref="paper", x=0, y=1.15, showarrow=False
        )
    fig = _layout(fig, "Estimated (and realized) performance of both models", height=420)
    fig.update_layout(legend={"y": -0.4})  # below the slanted chunk labels
    return fig


PAIR_CHARTS: dict[str, Callable[[MonitoringResult], go.Figure]] = {
    "pair_agreement": pair_agreement,
    "pair_swaps": pair_swaps,
    "pair_scores": pair_scores,
    "pair_performance": pair_performance,
}
