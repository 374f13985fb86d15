"""POST /api/v1/score and /api/v1/score/batch: read the body strictly, hand it to the ScoringService."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from fastapi import APIRouter, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse, Response

from service.api.body import batch_rows, decode_json, read_body, read_json
from service.api.docs import COMMON_RESPONSES
from service.api.pool import BatchPool
from service.api.problems import start_clock
from service.openapi import EXAMPLE_LOW_RISK
from service.scoring import ScoringService
from service.settings import Settings

_APPLICATION = {"$ref": "#/components/schemas/Application"}
_SCORE = {"$ref": "#/components/schemas/Score"}


def scoring_router(
    service: ScoringService, *, settings: Settings, dependencies: Sequence[Depends], pool: BatchPool
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=dependencies)
    score_docs = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _APPLICATION, "example": EXAMPLE_LOW_RISK}},
        },
        "responses": {
            "200": {"description": "the score", "content": {"application/json": {"schema": _SCORE}}},
            **COMMON_RESPONSES,
        },
    }
    batch_docs = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Batch"},
                    "example": {"applications": [EXAMPLE_LOW_RISK]},
                }
            },
        },
        "responses": COMMON_RESPONSES,
    }

    @router.post("/score", summary="Score one application", openapi_extra=score_docs)
    async def score(request: Request, explain: bool = False) -> Response:
        started = start_clock(request)
        payload = await read_json(request, settings.max_body_bytes)
        return JSONResponse(service.score(payload, channel="rest", explain=explain, started=started))

    @router.post(
        "/score/batch",
        summary=f"Score up to {settings.max_batch_rows:,} applications; bad rows are reported by index",
        openapi_extra=batch_docs,
    )
    async def score_batch(request: Request, explain: bool = False) -> Response:
        started = start_clock(request)
        ticket = pool.reserve()  # 503 at once when full: the body is not even read
        try:
            body = await read_body(request, settings.max_batch_body_bytes)
        except BaseException:
            ticket.release()
            raise

        def work() -> Response:  # decoding, scoring, logging and encoding: all off the event loop
            rows = batch_rows(decode_json(body), settings.max_batch_rows)
            result = service.score_batch(rows, channel="rest_batch", explain=explain, started=started)
            # orjson: a 10,000-row answer is one C call that holds the GIL; it is ~5x shorter than json's
            return Response(orjson.dumps(result), media_type="application/json")

        return await pool.run(ticket, work)

    return router
