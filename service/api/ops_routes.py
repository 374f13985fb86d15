"""Operations: /healthz (liveness, open), /readyz (readiness, open, no paths), /metrics (Prometheus, token)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.params import Depends
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from service.metrics import Metrics

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def ops_router(
    registry: Metrics, *, readiness: Callable[[], dict[str, Any]], protected: Sequence[Depends]
) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: model loaded and prediction log writable")
    async def readyz() -> Response:
        state = readiness()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    @router.get(
        "/metrics", summary="Prometheus metrics", response_class=PlainTextResponse, dependencies=list(protected)
    )
    async def metrics() -> Response:
        return PlainTextResponse(registry.render(), media_type=PROMETHEUS_TEXT)

    return router
