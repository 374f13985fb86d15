"""Tab "Monitoring": KPIs, drift, data quality and estimated performance of the logged predictions.

The analysis runs in the background (`monitoring.runner.AnalysisRunner`): "Refresh" only starts it
and the tab shows the latest finished result; a timer picks up the new one when it lands. Nothing
here ever waits for NannyML, so the tab cannot slow the scoring path down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from monitoring.alerts.model import Alert
from monitoring.alerts.operational import merge_alerts
from monitoring.drift.chunking import MIN_CHUNK_ROWS, WINDOWS, Chunking
from monitoring.plots import CAPTIONS, CHARTS, message_figure
from monitoring.plots import failsafe as failsafe_plot
from monitoring.report import kpi_cards
from monitoring.runner import AnalysisRunner, RunnerState
from service.ui.common import html_escape
from service.ui.monitoring_outcomes import build_outcomes_section

OperationalAlerts = Callable[[], list[Alert]]
CHUNKINGS: dict[str, Chunking | None] = {
    "auto (hour up to 24 h, else day)": None,
    "hour": Chunking(period="h"),
    "day": Chunking(period="D"),
    "500 rows": Chunking(size=500),
    "2,000 rows": Chunking(size=2_000),
}
ALERT_COLUMNS = ["severity", "source", "kind", "since", "feature", "message"]


def chunking_for(window: str, choice: str) -> Chunking:
    chosen = CHUNKINGS.get(choice)
    if chosen is not None:
        return chosen
    span = WINDOWS.get(window)
    return Chunking(period="h") if span is not None and span.total_seconds() <= 86_400 else Chunking(period="D")


def _status(state: RunnerState) -> str:
    parts = []
    if state.running:
        parts.append("⏳ **Analysis running** in the background; the page updates when it ends.")
    if state.error:
        parts.append(f"⚠️ Last run failed: `{html_escape(state.error)}` (showing the previous result).")
    result = state.result
    if result is None:
        parts.append("No analysis yet: pick a window and press **Refresh analysis**.")
    else:
        chunks = result.chunks
        parts.append(
            f"Window **{html_escape(result.window.get('name', '?'))}**, chunks by "
            f"**{result.chunking.label()}**: {int(chunks['enough'].sum())}/{len(chunks)} chunks with at "
            f"least {MIN_CHUNK_ROWS} rows (others: not enough data). Computed {result.computed_at} in "
            f"{result.compute_seconds:.1f} s; reference {result.reference_rows:,} rows."
        )
    return "  \n".join(parts)


def _alerts(state: RunnerState, operational: OperationalAlerts | None) -> pd.DataFrame:
    """Operational alerts (latency, errors, traffic, storage) and drift alerts, most severe first."""
    drift = state.result.alerts if state.result is not None else []
    merged = merge_alerts(operational() if operational else [], drift)
    return pd.DataFrame([a.as_dict() for a in merged], columns=ALERT_COLUMNS)


@failsafe_plot
def _chart(name: str, state: RunnerState) -> Any:
    if state.result is None:
        return message_figure("No analysis yet.")
    return CHARTS[name](state.result)


def render(state: RunnerState, operational: OperationalAlerts | None = None) -> list[Any]:
    cards = kpi_cards(state.result.kpis) if state.result is not None else ""
    return [_status(state), cards, _alerts(state, operational), *[_chart(name, state) for name in CHARTS]]


def history_line(status: dict[str, Any]) -> str:
    """One line on the history restored from the Hub: still loading, failed, or what it covers."""
    state, since = status.get("state"), status.get("since") or "?"
    if state == "loading":
        return f"⏳ **History is still loading** from the Hub (days since {since}): the analysis sees recent rows only."
    if state == "failed":
        return (
            f"⚠️ History restore failed (`{html_escape(str(status.get('error')))}`): the analysis sees local rows only."
        )
    if state == "done":
        return f"History restored from the Hub: {status.get('files', 0)} file(s), days since {since}."
    return ""


def _stamp(state: RunnerState, operational: OperationalAlerts | None = None) -> str:
    keys = ",".join(a.key for a in operational()) if operational else ""
    return f"{state.result.computed_at if state.result else ''}|{state.running}|{state.error}|{keys}"


def build_monitoring_tab(
    tab: gr.Tab,
    runner: AnalysisRunner,
    *,
    operational: OperationalAlerts | None = None,
    default_window: str = "last 24 h",
    poll_seconds: float = 3.0,
    history: Callable[[], dict[str, Any]] | None = None,
) -> None:
    gr.Markdown(
        "Drift, data quality and estimated performance of the logged predictions against the model's "
        "holdout (NannyML), and operational alerts on latency, errors, traffic and storage. See "
        "`docs/monitoring.md` and `docs/alerts.md` for what to do when an alert fires."
    )
    if history is not None:  # the restore runs after startup: say so while it does
        gr.Markdown(lambda: history_line(history()), every=5.0, elem_id="mon-history")
    with gr.Row():
        window = gr.Dropdown(list(WINDOWS), value=default_window, label="Window", elem_id="mon-window")
        chunk = gr.Dropdown(list(CHUNKINGS), value=next(iter(CHUNKINGS)), label="Chunks", elem_id="mon-chunks")
        refresh = gr.Button("Refresh analysis", variant="primary", elem_id="mon-refresh")
    alerts = gr.Dataframe(
        label="Alerts: operational and drift (most severe first, then newest)",
        interactive=False,
        wrap=True,
        elem_id="mon-alerts",
    )
    status = gr.Markdown(elem_id="mon-status")
    cards = gr.HTML(elem_id="mon-kpis")
    plots = []
    for name in CHARTS:
        plots.append(gr.Plot(label=name.replace("_", " "), elem_id=f"mon-{name}"))
        gr.Markdown(f"<small>{CAPTIONS[name]}</small>")
    build_outcomes_section(runner, tab=tab, poll_seconds=poll_seconds)
    shown = gr.State("")
    timer = gr.Timer(poll_seconds)
    outputs = [status, cards, alerts, *plots, shown]

    def on_refresh(window_name: str, chunk_choice: str) -> list[Any]:
        runner.refresh(window_name, chunking_for(window_name, chunk_choice))
        state = runner.latest()
        return [*render(state, operational), _stamp(state, operational)]

    def on_tick(last: str) -> list[Any]:
        state = runner.latest()
        if _stamp(state, operational) == last:
            return [gr.skip()] * len(outputs)
        return [*render(state, operational), _stamp(state, operational)]

    def on_select(window_name: str, chunk_choice: str) -> list[Any]:
        state = runner.latest()
        if state.result is None and not state.running:
            runner.refresh(window_name, chunking_for(window_name, chunk_choice))
            state = runner.latest()
        return [*render(state, operational), _stamp(state, operational)]

    refresh.click(on_refresh, [window, chunk], outputs, api_visibility="private")
    tab.select(on_select, [window, chunk], outputs, api_visibility="private")
    timer.tick(on_tick, [shown], outputs, api_visibility="private", show_progress="hidden")
