"""Putting the UI together: the Blocks with every tab, mounted under the REST API, with the Gradio fast path.

The composition root (`app.py`) calls these three in order; each tab's own module builds its content.
"""

from __future__ import annotations

import logging

import gradio as gr
from fastapi import FastAPI

from monitoring.alerts.watch import AlertWatcher
from monitoring.log.writer import PredictionLog
from monitoring.outcomes.store import OutcomeStore
from monitoring.runner import AnalysisRunner
from monitoring.sync.scheduler import HubSync
from service.api.auth import BearerToken
from service.scoring import ScoringService
from service.settings import Settings
from service.ui import fastpath
from service.ui.blocks import PRODUCT, build_ui
from service.ui.data_tab import build_data_tab
from service.ui.monitoring_tab import build_monitoring_tab
from service.ui.outcomes_tab import build_outcomes_tab

log = logging.getLogger("app")


def build_blocks(
    settings: Settings,
    service: ScoringService,
    runner: AnalysisRunner,
    watcher: AlertWatcher,
    prediction_log: PredictionLog,
    hub: HubSync,
    outcomes: OutcomeStore,
    *,
    analyst_tabs: list[gr.Tab],
    footer: str,
) -> gr.Blocks:
    """The UI; the tabs of the analyst role (monitoring, outcomes, personal data) are collected in `analyst_tabs`."""
    rules = settings.alert_rules()

    def monitoring_tab(tab: gr.Tab) -> None:
        analyst_tabs.append(tab)
        build_monitoring_tab(
            tab,
            runner,
            operational=watcher.operational,
            history=lambda: hub.restore_status().as_dict(),
            slo=(rules.slo_p95_ms, rules.slo_p99_ms),
        )

    def data_tab(tab: gr.Tab) -> None:
        analyst_tabs.append(tab)
        build_data_tab(tab, prediction_log, hub, history_dir=settings.history_dir)

    def outcomes_tab(tab: gr.Tab) -> None:
        analyst_tabs.append(tab)
        build_outcomes_tab(outcomes, max_rows=settings.max_outcome_rows)

    return build_ui(
        service,
        max_rows=settings.max_batch_rows,
        concurrency=settings.gradio_concurrency,
        extra_tabs=[
            ("Monitoring", monitoring_tab),
            ("Outcomes", outcomes_tab),
            ("Production data", data_tab),
        ],
        logout=settings.token is not None or settings.analyst is not None,
        max_upload_bytes=settings.max_upload_bytes,
        upload_ttl_s=settings.upload_ttl_s,
        footer=footer,
    )


def speed_up_gradio_calls(settings: Settings, blocks: gr.Blocks, app: FastAPI, *, gauges: dict[str, float]) -> None:
    """service/ui/fastpath.py on the mounted Blocks; `gradio_fast_path` on /metrics says whether it is all on."""
    fast = fastpath.apply(blocks, app) if settings.gradio_fast_path else {}
    gauges["gradio_fast_path"] = float(bool(fast) and all(fast.values()))
    if fast and not all(fast.values()):
        log.warning("Gradio fast path incomplete: its API calls are slower", extra=fast)


def mount_ui(api: FastAPI, blocks: gr.Blocks, token: BearerToken, *, max_file_size: int) -> FastAPI:
    """Serve the Blocks (UI, Gradio API, MCP) under the REST API; the token is the UI password and guards MCP."""
    if not token.required:
        log.warning("API_TOKEN is not set: the API and the UI are OPEN to anyone who can reach them (demo mode)")
    elif token.analyst is None:
        log.warning("ANALYST_TOKEN is not set: the Monitoring and Production data tabs are shown to no one")
    app = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=token.login if token.required else None,
        auth_message=f"**{PRODUCT}** (Prêt à Dépenser). Log in with any user name and the API token to score;"
        " as `analyst` with the analyst token to see the monitoring and production data too."
        if token.required
        else None,
        enable_monitoring=False,
        mcp_server=True,
        footer_links=["api"],
        run_history=False,  # it records only public API calls, which the prediction log already has
        show_error=True,
        max_file_size=max_file_size,
    )
    return app
