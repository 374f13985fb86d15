"""Crédit Express scoring service: the composition root.

Reads the settings, loads the model once, opens the prediction log (and its Hub sync), builds the
REST API and the Gradio Blocks, and serves both with uvicorn on 0.0.0.0:$PORT.

    python app.py          # http://localhost:7860 (UI), /docs (REST), /api/v1/score
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

from monitoring.alerts.watch import AlertWatcher
from monitoring.log.writer import PredictionLog
from monitoring.notify import WebhookNotifier
from monitoring.runner import AnalysisJob, AnalysisRunner
from monitoring.sync.scheduler import HubSync
from scoring.errors import ModelLoadError
from scoring.model import load_model
from scoring.predict import Scorer
from service.api import create_api
from service.metrics import Metrics
from service.oplog import configure_logging
from service.scoring import ScoringService
from service.settings import Settings
from service.ui.blocks import build_ui
from service.ui.data_tab import build_data_tab
from service.ui.monitoring_tab import build_monitoring_tab
from service.ui.sessions import GradioSessionJanitor

log = logging.getLogger("app")


def build_app(settings: Settings) -> FastAPI:
    started = time.perf_counter()
    model = load_model(settings.model_dir)
    log.info("model ready", extra={"model_version": model.version, "load_seconds": round(model.load_seconds, 3)})

    prediction_log = PredictionLog(settings.prediction_log_dir, replica_id=settings.replica_id)
    hub = HubSync.from_config(settings.hub_sync(), prediction_log)
    hub.restore_history()
    hub.start()

    service = ScoringService(
        Scorer(model),
        prediction_log,
        Metrics(),
        id_salt=settings.log_id_salt.get_secret_value() if settings.log_id_salt else None,
        refuse_when_unlogged=settings.log_write_policy == "refuse",
        extra_latency_s=settings.debug_extra_latency_ms / 1000,
    )

    log_dirs = (str(settings.prediction_log_dir), str(settings.history_dir))
    # NannyML and the alert rules run in one spawned, niced worker process, never on the scoring path.
    runner = AnalysisRunner(AnalysisJob(log_dirs=log_dirs, model_dir=str(settings.model_dir)))
    watcher = AlertWatcher(
        log_dirs=log_dirs,
        rules=settings.alert_rules(),
        submit=runner.submit,
        hub_status=hub.status,
        log_health=prediction_log.health,
        drift_alerts=lambda: state.result.alerts if (state := runner.latest()).result else [],
        gauges=service.metrics.gauges,
        notifier=_notifier(settings),
        every_s=settings.alert_every_s,
    )
    watcher.start()

    def readiness() -> dict[str, Any]:
        health = asdict(prediction_log.health())
        health.pop("directory", None)  # /readyz is open: no paths
        hub_state = {k: v for k, v in hub.status().items() if k != "repo_id"}
        return {
            "ready": health["writable"] or settings.log_write_policy == "serve",
            "model_version": model.version,
            "log": health,
            "log_write_policy": settings.log_write_policy,
            "hub": hub_state,
        }

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        janitor.start()
        yield
        log.info("shutting down: final push of the prediction log")
        await janitor.stop()
        watcher.stop()
        runner.close()
        hub.stop(push=True, timeout=8)  # well inside a container's 10 s stop grace period
        prediction_log.close()

    api = create_api(service, settings=settings, readiness=readiness)
    api.router.lifespan_context = lifespan
    blocks = build_ui(
        service,
        max_rows=settings.max_batch_rows,
        concurrency=settings.gradio_concurrency,
        extra_tabs=[
            ("Monitoring", lambda tab: build_monitoring_tab(tab, runner, operational=watcher.operational)),
            ("Production data", lambda tab: build_data_tab(tab, prediction_log, hub, history_dir=settings.history_dir)),
        ],
    )
    janitor = GradioSessionJanitor(blocks, gauges=service.metrics.gauges)
    token = settings.token
    if token is None:
        log.warning("API_TOKEN is not set: the API and the UI are OPEN to anyone who can reach them (demo mode)")
    app = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=(lambda _user, password: _same(password, token)) if token else None,
        auth_message="Log in with any user name and the service's API token as the password." if token else None,
        enable_monitoring=False,
        mcp_server=True,
        footer_links=["api"],
        show_error=True,
    )
    if token:
        _protect_mcp(app, token)
    log.info("app built", extra={"seconds": round(time.perf_counter() - started, 3)})
    return app


def _protect_mcp(app: FastAPI, token: str) -> None:
    """Gradio's login covers the UI and its API, not its MCP routes: require the bearer token there."""
    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def mcp_bearer(request, call_next):  # noqa: ANN001, ANN202 - Starlette middleware signature
        if request.url.path.startswith("/gradio_api/mcp"):
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not _same(given.strip(), token):
                return JSONResponse(
                    {
                        "error": "missing or wrong bearer token",
                        "detail": [
                            {"field": None, "kind": "auth", "message": "MCP needs Authorization: Bearer <API_TOKEN>"}
                        ],
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await call_next(request)


def _notifier(settings: Settings) -> WebhookNotifier | None:
    if settings.alert_webhook_url is None:
        return None
    return WebhookNotifier(
        settings.alert_webhook_url.get_secret_value(),
        cooldown_s=settings.alert_webhook_cooldown_s,
        min_severity=settings.alert_webhook_min_severity,
    )


def _same(given: str, expected: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), expected.encode())


def main() -> int:
    settings = Settings()
    secrets = [s.get_secret_value() for s in (settings.api_token, settings.hf_token, settings.log_id_salt) if s]
    configure_logging(settings.log_level, secrets=secrets)
    try:
        app = build_app(settings)
    except ModelLoadError as exc:
        log.error("cannot start: the model did not load", extra={"reason": str(exc)})
        return 2
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5, access_log=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
