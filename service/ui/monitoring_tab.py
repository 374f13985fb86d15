"""Tab "Monitoring": the overall status and KPI cards first, then alerts, drift, data quality, performance, latency.

The analysis runs in the background (`monitoring.runner.AnalysisRunner`): "Refresh" starts it (or queues
it behind the running one: a refresh is never dropped) and the tab shows the latest finished result with
its own settings on screen; a timer picks up the new one when it lands. Nothing here ever waits for
NannyML, so the tab cannot slow the scoring path down.

The tab is a list of `Section`s, each a collapsible part with its own components and render function:
another part (e.g. realised performance from outcomes) plugs in with `extra_sections`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from monitoring.alerts.model import Alert
from monitoring.alerts.operational import merge_alerts
from monitoring.drift.chunking import WINDOWS, Chunking
from monitoring.overview import Overview, build_overview
from monitoring.plots import CAPTIONS, CHARTS, message_figure
from monitoring.plots import failsafe as failsafe_plot
from monitoring.runner import AnalysisRunner, RunnerState
from service.ui.common import html_escape
from service.ui.monitoring_outcomes import build_outcomes_section
from service.ui.monitoring_pair import build_pair_section
from service.ui.monitoring_view import CSS, alerts_html, cards_html, overall_html, settings_line

OperationalAlerts = Callable[[], list[Alert]]
AUTO = "auto (hour up to 24 h, else day)"
CHUNKINGS: dict[str, Chunking | None] = {
    AUTO: None,
    "hour": Chunking(period="h"),
    "day": Chunking(period="D"),
    "500 rows": Chunking(size=500),
    "2,000 rows": Chunking(size=2_000),
}


@dataclass(frozen=True)
class Section:
    """One collapsible part of the tab: `build` lays out its components (inside its accordion) and returns
    them; `render` gives their values for a runner state and the merged alerts, in the same order."""

    title: str
    build: Callable[[], list[gr.components.Component]]
    render: Callable[[RunnerState, list[Alert]], list[Any]]
    open: bool = False


def chunking_for(window: str, choice: str) -> Chunking:
    chosen = CHUNKINGS.get(choice)
    if chosen is not None:
        return chosen
    span = WINDOWS.get(window)
    return Chunking(period="h") if span is not None and span.total_seconds() <= 86_400 else Chunking(period="D")


def choice_for(chunking: Chunking) -> str:
    """The dropdown entry of a result's chunking ("auto" results show what auto chose)."""
    return next((name for name, c in CHUNKINGS.items() if c == chunking), AUTO)


@failsafe_plot
def _chart(name: str, state: RunnerState) -> Any:
    if state.result is None:
        return message_figure("Working: the first analysis is running." if state.running else "No analysis yet.")
    return CHARTS[name](state.result)


def chart_section(title: str, names: Sequence[str], *, open: bool = False) -> Section:
    """A section of charts of the result, each with its how-to-read caption."""

    def build() -> list[gr.components.Component]:
        plots = []
        for name in names:
            plots.append(gr.Plot(label=name.replace("_", " "), elem_id=f"mon-{name}"))
            gr.Markdown(f"<small>{CAPTIONS[name]}</small>")
        return plots

    return Section(title, build, lambda state, _alerts: [_chart(name, state) for name in names], open)


def alerts_section() -> Section:
    def build() -> list[gr.components.Component]:
        return [gr.HTML(elem_id="mon-alerts")]

    return Section("Alerts: operational and drift, most severe first", build, lambda _s, a: [alerts_html(a)], True)


DEFAULT_SECTIONS: tuple[Section, ...] = (
    alerts_section(),
    chart_section("Score and decisions", ["score_distribution", "probability_over_time"], open=True),
    chart_section("Drift by feature", ["drift_heatmap", "drift_table", "multivariate"], open=True),
    chart_section("Data quality", ["missing_rates"]),
    chart_section("Estimated performance", ["performance"]),
    chart_section("Latency", ["latency_over_time", "latency_histograms"]),
)


def merged_alerts(state: RunnerState, operational: OperationalAlerts | None) -> list[Alert]:
    """Operational alerts (latency, errors, traffic, storage) and drift alerts, most severe first."""
    drift = state.result.alerts if state.result is not None else []
    return merge_alerts(operational() if operational else [], drift)


def overview_of(state: RunnerState, alerts: list[Alert], slo: tuple[float, float] | None) -> Overview | None:
    if state.result is None:
        return None
    p95, p99 = slo if slo is not None else (None, None)
    return build_overview(state.result.kpis, alerts, slo_p95_ms=p95, slo_p99_ms=p99)


def render(
    state: RunnerState,
    operational: OperationalAlerts | None = None,
    *,
    sections: Sequence[Section] = DEFAULT_SECTIONS,
    slo: tuple[float, float] | None = None,
) -> list[Any]:
    """Values of the first screen (banner, cards, settings line), then of every section in order."""
    alerts = merged_alerts(state, operational)
    overview = overview_of(state, alerts, slo)
    head = [f"<style>{CSS}</style>{overall_html(overview, state)}", cards_html(overview), settings_line(state)]
    return head + [value for section in sections for value in section.render(state, alerts)]


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
    keys = ",".join(f"{a.key}:{a.severity}" for a in operational()) if operational else ""
    computed = state.result.computed_at if state.result else ""
    return f"{computed}|{state.running}|{state.queued}|{state.error}|{keys}"


def build_monitoring_tab(
    tab: gr.Tab,
    runner: AnalysisRunner,
    *,
    operational: OperationalAlerts | None = None,
    default_window: str = "last 24 h",
    poll_seconds: float = 3.0,
    history: Callable[[], dict[str, Any]] | None = None,
    slo: tuple[float, float] | None = None,
    extra_sections: Sequence[Section] = (),
) -> None:
    """The tab; `slo` is the latency SLO (p95, p99 in ms) the cards compare with."""
    sections = [*DEFAULT_SECTIONS, *extra_sections]
    with gr.Row(equal_height=True):
        window = gr.Dropdown(list(WINDOWS), value=default_window, label="Window", elem_id="mon-window", scale=2)
        chunk = gr.Dropdown(list(CHUNKINGS), value=AUTO, label="Chunks", elem_id="mon-chunks", scale=2)
        refresh = gr.Button("Refresh analysis", variant="primary", elem_id="mon-refresh", scale=1)
    overall = gr.HTML(elem_id="mon-overall")
    cards = gr.HTML(elem_id="mon-kpis")
    status = gr.Markdown(elem_id="mon-status")
    if history is not None:  # the restore runs after startup: say so while it does
        gr.Markdown(lambda: history_line(history()), every=5.0, elem_id="mon-history")
    parts: list[gr.components.Component] = []
    for section in sections:
        with gr.Accordion(section.title, open=section.open):
            parts += section.build()
    with gr.Accordion("Outcomes: realized vs estimated performance", open=True):
        build_outcomes_section(runner, tab=tab, poll_seconds=poll_seconds)  # its own timer and outputs
    build_pair_section(runner, tab=tab, poll_seconds=poll_seconds)  # champion vs challenger, its own accordion
    gr.Markdown(
        "<small>Drift, data quality and estimated performance against the model's holdout (NannyML); operational "
        "alerts on latency, errors, traffic and storage. What to do when an alert fires: `docs/alerts.md`.</small>"
    )
    shown = gr.State("")
    timer = gr.Timer(poll_seconds)
    outputs = [overall, cards, status, *parts, shown]

    def view(state: RunnerState) -> list[Any]:
        return [*render(state, operational, sections=sections, slo=slo), _stamp(state, operational)]

    def on_refresh(window_name: str, chunk_choice: str) -> list[Any]:
        runner.refresh(window_name, chunking_for(window_name, chunk_choice))
        return view(runner.latest())

    def on_tick(last: str) -> list[Any]:
        state = runner.latest()
        if _stamp(state, operational) == last:
            return [gr.skip()] * len(outputs)
        return view(state)

    def on_select(window_name: str, chunk_choice: str) -> list[Any]:
        state = runner.latest()
        if state.result is None and not state.running:
            runner.refresh(window_name, chunking_for(window_name, chunk_choice))
            state = runner.latest()
        if state.result is None:  # nothing shown yet: the dropdowns are what is being computed
            return [gr.skip(), gr.skip(), *view(state)]
        # a new session shows the settings of the result on screen, not the defaults
        shown_window = str(state.result.window.get("name") or default_window)
        return [gr.update(value=shown_window), gr.update(value=choice_for(state.result.chunking)), *view(state)]

    refresh.click(on_refresh, [window, chunk], outputs, api_visibility="private")
    tab.select(on_select, [window, chunk], [window, chunk, *outputs], api_visibility="private")
    timer.tick(on_tick, [shown], outputs, api_visibility="private", show_progress="hidden")
