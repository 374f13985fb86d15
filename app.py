"""Crédit Express scoring service: the composition root.

Reads the settings, loads the model once, opens the prediction log (and its Hub sync), starts the
monitoring worker, builds the REST API and the Gradio Blocks, and serves both with uvicorn on 0.0.0.0:$PORT.

    python app.py          # http://localhost:7860 (UI), /docs (REST), /api/v1/score
"""

from __future__ import annotations

from service.lean_imports import prepare_serving_process

if __name__ == "__main__":  # the serving process: a lighter lightgbm import, before anything imports it
    prepare_serving_process()

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import gradio as gr
import uvicorn
from fastapi import FastAPI

from monitoring.alerts.watch import AlertWatcher
from monitoring.log.writer import PredictionLog
from monitoring.notify import WebhookNotifier
from monitoring.outcomes.store import OutcomeStore
from monitoring.runner import AnalysisJob, AnalysisRunner
from monitoring.sync.scheduler import HubSync
from scoring.errors import ModelLoadError
from scoring.model import ScoringModel, load_model
from scoring.predict import Scorer
from scoring.registry import resolve_model
from service.api.auth import BearerToken
from service.api.factory import create_api
from service.build_info import read_build_info
from service.metrics import Metrics
from service.oplog import configure_logging
from service.readiness import Readiness
from service.scoring import ScoringService
from service.security import secure_app, server_options
from service.settings import Settings
from service.shadow import ShadowScorer
from service.timing import ArrivalClock
from service.ui.assembly import build_blocks, mount_ui, speed_up_gradio_calls
from service.ui.roles import show_tabs_by_role
from service.ui.sessions import GradioSessionJanitor

log = logging.getLogger("app")


@dataclass
class Monitoring:
    """The background side: NannyML and the alert rules in one spawned, niced worker, never on the scoring path."""

    runner: AnalysisRunner
    watcher: AlertWatcher


def build_app(settings: Settings) -> FastAPI:
    started = time.perf_counter()
    model = _load_model(settings.model_uri, settings, role="model")
    batches = model.batch_runtime(mode=settings.batch_runtime, folder=settings.model_cache_dir / "compiled")
    challenger = _load_model(settings.challenger_uri, settings, role="challenger") if settings.challenger_uri else None
    prediction_log, hub = _open_prediction_log(settings)
    service = _scoring_service(settings, model, prediction_log, challenger=challenger)
    monitoring = _start_monitoring(
        settings,
        service,
        prediction_log,
        hub,
        model_dir=str(model.path),
        challenger_dir=str(challenger.path) if challenger else None,
    )
    build = read_build_info(model_version=model.version)
    log.info("build", extra=build.as_dict())
    readiness = Readiness(
        model_version=model.version,
        model=model.source,
        challenger=(challenger.source | {"model_version": challenger.version}) if challenger else None,
        build=build.as_dict(),
        log_health=prediction_log.health,
        hub_status=hub.status,
        log_write_policy=settings.log_write_policy,
        batch_runtime=model.batch_status,
    )
    outcomes = _outcome_store(settings, prediction_log)
    api = create_api(service, settings=settings, readiness=readiness, outcomes=outcomes)
    token = BearerToken(settings.token, settings.analyst)
    analyst_tabs: list[gr.Tab] = []
    blocks = build_blocks(
        settings,
        service,
        monitoring.runner,
        monitoring.watcher,
        prediction_log,
        hub,
        outcomes,
        analyst_tabs=analyst_tabs,
        footer=build.label,
    )
    reveal = show_tabs_by_role(blocks, analyst_tabs, token)
    janitor = GradioSessionJanitor(blocks, gauges=service.metrics.gauges)
    api.router.lifespan_context = _lifespan(
        janitor, monitoring, hub, prediction_log, shadow=service.shadow, start_batches=batches.start
    )
    app = mount_ui(api, blocks, token, max_file_size=settings.max_upload_bytes)
    speed_up_gradio_calls(settings, blocks, app, gauges=service.metrics.gauges)
    secure_app(
        app, blocks, token=token, service=service, settings=settings, analyst_tabs=analyst_tabs, reveal_fns=reveal
    )
    app.add_middleware(ArrivalClock)  # added last, so outermost: latency_ms starts when the request arrived
    log.info("app built", extra={"seconds": round(time.perf_counter() - started, 3)})
    return app


def _load_model(uri: str, settings: Settings, *, role: str) -> ScoringModel:
    """Resolve `uri` (a folder or a registry URI) once and load it once; ModelLoadError names the role."""
    try:
        resolved = resolve_model(uri, tracking_uri=settings.mlflow_tracking_uri, cache_dir=settings.model_cache_dir)
        model = load_model(resolved.path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{role} {uri}: {exc}") from exc
    model.source = resolved.as_dict()
    log.info(
        f"{role} ready",
        extra={"model_version": model.version, "load_seconds": round(model.load_seconds, 3)}
        | {f"registry_{key}": value for key, value in model.source.items()},
    )
    return model


def _open_prediction_log(settings: Settings) -> tuple[PredictionLog, HubSync]:
    """The log of this replica and its Hub sync; the sync starts once serving (see `_lifespan`)."""
    prediction_log = PredictionLog(settings.prediction_log_dir, replica_id=settings.replica_id)
    hub = HubSync.from_config(settings.hub_sync(), prediction_log)
    return prediction_log, hub


def _scoring_service(
    settings: Settings, model: ScoringModel, prediction_log: PredictionLog, *, challenger: ScoringModel | None
) -> ScoringService:
    """The one scoring path; with a challenger, its shadow worker (no queue and no thread without one)."""
    metrics = Metrics()
    shadow = None
    if challenger is not None:
        shadow = ShadowScorer(challenger, prediction_log, metrics, max_queue=settings.shadow_queue)
    return ScoringService(
        Scorer(model),
        prediction_log,
        metrics,
        shadow=shadow,
        id_salt=settings.log_id_salt.get_secret_value() if settings.log_id_salt else None,
        refuse_when_unlogged=settings.log_write_policy == "refuse",
        extra_latency_s=settings.debug_extra_latency_ms / 1000,
    )


def _outcome_store(settings: Settings, prediction_log: PredictionLog) -> OutcomeStore:
    """Outcomes go into the same log (their own shards), matched against live and restored predictions."""
    return OutcomeStore(
        prediction_log,
        dirs=(settings.prediction_log_dir, settings.history_dir),
        salt=settings.log_id_salt.get_secret_value() if settings.log_id_salt else None,
        max_rows=settings.max_outcome_rows,
    )


def _start_monitoring(
    settings: Settings,
    service: ScoringService,
    prediction_log: PredictionLog,
    hub: HubSync,
    *,
    model_dir: str,
    challenger_dir: str | None,
) -> Monitoring:
    """The analysis worker on the served model's folder (and the challenger's, for the pair analysis)."""
    log_dirs = (str(settings.prediction_log_dir), str(settings.history_dir))
    job = AnalysisJob(
        log_dirs=log_dirs,
        model_dir=model_dir,
        challenger_dir=challenger_dir,
        outcome_rules=settings.outcome_rules(),
        agreement_floor=settings.pair_agreement_floor,
        sample_rows=settings.monitoring_sample_rows,
    )
    runner = AnalysisRunner(job)
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
    return Monitoring(runner, watcher)


def _notifier(settings: Settings) -> WebhookNotifier | None:
    if settings.alert_webhook_url is None:
        return None
    return WebhookNotifier(
        settings.alert_webhook_url.get_secret_value(),
        cooldown_s=settings.alert_webhook_cooldown_s,
        min_severity=settings.alert_webhook_min_severity,
    )


def _lifespan(
    janitor: GradioSessionJanitor,
    monitoring: Monitoring,
    hub: HubSync,
    prediction_log: PredictionLog,
    *,
    shadow: ShadowScorer | None,
    start_batches: Callable[[], object],
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the session sweep and the Hub sync with the server; on shutdown stop everything and push once more.

    Every answered request's row is written before its answer, so nothing of the champion is in
    flight at shutdown; the challenger's queue gets 2 s to drain (what is left is dropped, counted)
    before the final push, which then carries the shadow rows too.

    The sync restores the monitoring window's history in the background, then starts pushing: the
    service answers (and scores) while the history loads. The compiled batch runtime (BATCH_RUNTIME)
    is built in the background too: batches use the Booster until it is ready.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        janitor.start()
        hub.start_background()
        start_batches()
        yield
        log.info("shutting down: final push of the prediction log")
        await janitor.stop()
        monitoring.watcher.stop()
        monitoring.runner.close()
        if shadow is not None:
            shadow.close(timeout=2)
        hub.stop(push=True, timeout=8)  # well inside a container's 10 s stop grace period
        prediction_log.close()

    return lifespan


def main() -> int:
    prepare_serving_process()  # a no-op when done above; lightgbm's part still applies when app was imported
    settings = Settings()
    secrets = [
        s.get_secret_value()
        for s in (settings.api_token, settings.analyst_token, settings.hf_token, settings.log_id_salt)
        if s
    ]
    configure_logging(settings.log_level, secrets=secrets)
    refusal = settings.open_refusal()
    if refusal:
        log.error("cannot start: %s", refusal)
        sys.stderr.write(f"cannot start: {refusal}\n")
        return 2
    try:
        app = build_app(settings)
    except ModelLoadError as exc:
        log.error("cannot start: the model did not load: %s", exc, extra={"reason": str(exc)})
        return 2
    # The start-up heap (model, Gradio, pandas: ~350k objects) out of the collector's reach: a full
    # collection during a 10,000-row batch otherwise stops every thread, the event loop too, for ~1 s.
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        access_log=False,
        **server_options(settings),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
