"""The Monitoring tab's "Champion vs challenger" section: agreement, swaps, scores and performance of both.

Like the outcome section it reads `runner.latest()` on its own timer and never waits for an analysis.
Without a challenger it is one line ("no challenger configured"); its charts stay hidden until a
result holds rows both models scored.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from monitoring.pair_plots import CAPTIONS, PAIR_CHARTS
from monitoring.report import PAIR_CARDS, pair_figures
from monitoring.runner import AnalysisRunner, RunnerState
from service.ui.common import html_escape

NO_CHALLENGER = "No challenger configured: set `CHALLENGER_URI` to score every application in shadow as well."
CARD = "display:inline-block;border:1px solid #ddd;border-radius:8px;padding:6px 12px;margin:4px"


def pair_status(state: RunnerState, *, configured: bool) -> str:
    """One paragraph: no challenger, no both-scored rows yet, or how many rows and which versions."""
    pair = state.result.pair if state.result is not None else None
    if pair is None:
        if not configured:
            return NO_CHALLENGER
        return "A challenger is configured; no row of this window was scored by both models yet (refresh later)."
    versions = pair.versions
    line = (
        f"**{pair.overall['rows']:,} rows scored by both**: champion {', '.join(versions['champion']) or '—'}, "
        f"challenger {', '.join(versions['challenger']) or '—'}; realized figures on "
        f"{pair.realized['labelled']:,} labelled rows (loans the champion approved)."
    )
    if not pair.challenger_reference:
        line += " The challenger's model folder is unknown to the analysis: no CBPE for it."
    return line


def pair_cards(state: RunnerState) -> str:
    pair = state.result.pair if state.result is not None else None
    if pair is None:
        return ""
    shown = pair_figures(pair)
    cards = [
        f'<div class="card" style="{CARD}">{html_escape(label)}'
        f'<b style="display:block">{html_escape(shown[key])}</b></div>'
        for key, label in PAIR_CARDS.items()
    ]
    return f'<div id="mon-pair-cards">{"".join(cards)}</div>'


def render_pair(state: RunnerState, *, configured: bool) -> list[Any]:
    """Status, then (visible only with a pair) the cards and every pair chart."""
    result = state.result
    if result is None or result.pair is None:
        return [pair_status(state, configured=configured), gr.update(visible=False), "", *[None] * len(PAIR_CHARTS)]
    figures = [chart(result) for chart in PAIR_CHARTS.values()]
    return [pair_status(state, configured=configured), gr.update(visible=True), pair_cards(state), *figures]


def build_pair_section(runner: AnalysisRunner, *, tab: gr.Tab | None = None, poll_seconds: float = 3.0) -> None:
    """The section, in its own accordion below the outcomes (one line without a pair); updates with each result."""
    configured = runner.job.challenger_dir is not None
    with gr.Accordion("Champion vs challenger", open=True):
        status = gr.Markdown(NO_CHALLENGER if not configured else "", elem_id="mon-pair-status")
        with gr.Column(visible=False) as body:
            cards = gr.HTML(elem_id="mon-pair-kpis")
            plots = []
            for name in PAIR_CHARTS:
                plots.append(gr.Plot(label=name.replace("_", " "), elem_id=f"mon-{name.replace('_', '-')}"))
                gr.Markdown(f"<small>{CAPTIONS[name]}</small>")
    shown = gr.State("")
    outputs = [status, body, cards, *plots, shown]

    def on_tick(last: str) -> list[Any]:
        state = runner.latest()
        stamp = state.result.computed_at if state.result is not None else ""
        if stamp == last and last:
            return [gr.skip()] * len(outputs)
        return [*render_pair(state, configured=configured), stamp]

    gr.Timer(poll_seconds).tick(on_tick, [shown], outputs, api_visibility="private", show_progress="hidden")
    if tab is not None:
        tab.select(on_tick, [gr.State("")], outputs, api_visibility="private")
