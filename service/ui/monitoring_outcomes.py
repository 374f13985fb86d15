"""The Monitoring tab's outcome section: realized vs estimated performance, label coverage, calibration,
fairness over time and score PSI, from the runner's latest result.

Its own section with its own timer, so the tab's first screen can change without touching it: it
reads `runner.latest()` like the rest of the tab and never waits for an analysis.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from monitoring.drift.realized import ACCEPTS_ONLY
from monitoring.outcome_plots import CAPTIONS, OUTCOME_CHARTS
from monitoring.plots import message_figure
from monitoring.report import OUTCOME_CARDS, format_kpi
from monitoring.runner import AnalysisRunner, RunnerState
from service.ui.common import html_escape


def _shown(key: str, value: Any) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:.1%}" if key in {"coverage", "default_rate"} else format_kpi(key, value)


def outcome_status(state: RunnerState) -> str:
    """Label coverage and whether there are enough labels, in one paragraph."""
    outcomes = state.result.outcomes if state.result is not None else None
    if outcomes is None:
        return "No outcome analysis yet: record outcomes (Outcomes tab or `POST /api/v1/outcomes`), then refresh."
    overall, rules = outcomes.overall, outcomes.rules
    coverage = _shown("coverage", overall.get("coverage"))
    line = (
        f"**Label coverage {coverage}**: {overall['labelled']:,} of {overall['rows']:,} predictions in the window "
        f"have an outcome ({_shown('coverage', overall.get('approved_coverage'))} of the approved). "
    )
    if not overall["enough_labels"]:
        line += f"⚠️ **Not enough labels** for realized figures (at least {rules.min_labels} needed). "
    reference = outcomes.reference
    line += (
        f"Reference, accepts-only: ROC AUC {reference['roc_auc']:.3f}, cost {reference['cost_per_1000']:.0f} "
        f"per 1,000.  \n<small>{html_escape(ACCEPTS_ONLY)}</small>"
    )
    return line


def outcome_cards(state: RunnerState) -> str:
    outcomes = state.result.outcomes if state.result is not None else None
    if outcomes is None:
        return ""
    style = "display:inline-block;border:1px solid #ddd;border-radius:8px;padding:6px 12px;margin:4px"
    cards = [
        f'<div class="card" style="{style}">{html_escape(label)}'
        f'<b style="display:block">{html_escape(_shown(key, outcomes.overall.get(key)))}</b></div>'
        for key, label in OUTCOME_CARDS.items()
    ]
    return f'<div id="mon-outcome-cards">{"".join(cards)}</div>'


def render_outcomes(state: RunnerState) -> list[Any]:
    figures = [
        chart(state.result) if state.result is not None else message_figure("No analysis yet.")
        for chart in OUTCOME_CHARTS.values()
    ]
    return [outcome_status(state), outcome_cards(state), *figures]


def _stamp(state: RunnerState) -> str:
    return state.result.computed_at if state.result is not None else ""


def build_outcomes_section(runner: AnalysisRunner, *, tab: gr.Tab | None = None, poll_seconds: float = 3.0) -> None:
    """Realized performance and friends, below the drift charts; updates when a new result lands."""
    gr.Markdown("### Outcomes: realized vs estimated performance")
    status = gr.Markdown(elem_id="mon-outcomes-status")
    cards = gr.HTML(elem_id="mon-outcomes-kpis")
    plots = []
    for name in OUTCOME_CHARTS:
        plots.append(gr.Plot(label=name.replace("_", " "), elem_id=f"mon-{name}"))
        gr.Markdown(f"<small>{CAPTIONS[name]}</small>")
    shown = gr.State("")
    outputs = [status, cards, *plots, shown]

    def on_tick(last: str) -> list[Any]:
        state = runner.latest()
        if _stamp(state) == last and last:
            return [gr.skip()] * len(outputs)
        return [*render_outcomes(state), _stamp(state)]

    gr.Timer(poll_seconds).tick(on_tick, [shown], outputs, api_visibility="private", show_progress="hidden")
    if tab is not None:
        tab.select(on_tick, [gr.State("")], outputs, api_visibility="private")
