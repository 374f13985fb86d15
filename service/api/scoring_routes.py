"""POST /api/v1/score and /api/v1/score/batch: read the body strictly, hand it to the ScoringService."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.params import Depends
from fastapi.responses import Response

from scoring.tables import ARROW, CSV, PARQUET, TABLE_TYPES
from service.api.body import JSON_TYPES, batch_rows, decode_json, media_type, read_body, read_json
from service.api.docs import COMMON_RESPONSES
from service.api.pool import BatchPool
from service.api.problems import RequestRefused, start_clock
from service.api.responses import FastJSON
from service.api.tables import answer_type, table_answer, table_rows
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
    batch_docs = _batch_docs(settings)

    @router.post("/score", summary="Score one application", openapi_extra=score_docs)
    async def score(request: Request, explain: bool = False) -> Response:
        started = start_clock(request)
        payload = await read_json(request, settings.max_body_bytes)
        return FastJSON(service.score(payload, channel="rest", explain=explain, started=started))

    @router.post(
        "/score/batch",
        summary=f"Score up to {settings.max_batch_rows:,} applications; bad rows are reported by index",
        openapi_extra=batch_docs,
    )
    async def score_batch(request: Request, explain: bool = False) -> Response:
        started = start_clock(request)
        kind = media_type(request)
        if kind not in JSON_TYPES + TABLE_TYPES:
            accepted = ", ".join((JSON_TYPES[0], *TABLE_TYPES))
            raise RequestRefused(415, "wrong_content_type", f"send one of {accepted}, not {kind[:60]!r}")
        answer_as = None
        if kind in TABLE_TYPES:  # a table body: both refusals come before the body is read
            if explain:
                raise RequestRefused(422, "wrong_type", "explanations are given for JSON batches only", field="explain")
            answer_as = answer_type(request)
        ticket = pool.reserve()  # 503 at once when full: the body is not even read
        try:
            body = await read_body(request, settings.max_batch_body_bytes, types=JSON_TYPES + TABLE_TYPES)
        except BaseException:
            ticket.release()
            raise

        def work() -> Response:  # decoding, scoring, logging and encoding: all off the event loop
            if answer_as is not None:
                frame = table_rows(
                    body, kind, max_rows=settings.max_batch_rows, max_bytes=settings.max_batch_body_bytes
                )
                return table_answer(service.score_columns(frame, channel="rest_batch", started=started), answer_as)
            rows = batch_rows(decode_json(body), settings.max_batch_rows)
            result = service.score_batch(rows, channel="rest_batch", explain=explain, started=started)
            # orjson: a 10,000-row answer is one C call that holds the GIL; it is ~5x shorter than json's
            return Response(orjson.dumps(result), media_type="application/json")

        return await pool.run(ticket, work)

    return router


def _batch_docs(settings: Settings) -> dict[str, object]:
    """The batch route's bodies, answers and limits, as /docs and /openapi.json show them."""
    rows, size = settings.max_batch_rows, settings.max_batch_body_bytes
    binary = {"schema": {"type": "string", "format": "binary"}}
    csv_example = pd.DataFrame([EXAMPLE_LOW_RISK]).to_csv(index=False)
    table_answer_content = {CSV: {"schema": {"type": "string"}}, PARQUET: binary}
    return {
        "description": (
            f"Limits: at most **{rows:,} rows** (`max_batch_rows`; past it 413 `batch_too_large`) and "
            f"**{size:,} bytes** (`max_batch_body_bytes`; past it 413 `too_large`) per call.\n\n"
            'The body is JSON (`{"applications": [...]}`) or a table: CSV with a header row, Parquet, or an '
            "Arrow IPC stream, one application per row, Home Credit field names as columns. A table is validated "
            "on its columns with the same rules and messages as JSON rows; a null, NaN or empty cell is a missing "
            "field. Choose the answer with `Accept`: JSON (the default), `text/csv` or "
            f"`{PARQUET}` (one row per input row; the totals in `X-Batch-*` headers)."
        ),
        "x-limits": {"max_rows": rows, "max_body_bytes": size},
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Batch"},
                    "example": {"applications": [EXAMPLE_LOW_RISK]},
                },
                CSV: {"schema": {"type": "string"}, "example": csv_example},
                PARQUET: binary,
                ARROW: binary,
            },
        },
        "responses": {
            "200": {
                "description": "one result per row, in order",
                "content": {"application/json": {}, **table_answer_content},
            },
            **COMMON_RESPONSES,
            "406": {"description": "an `Accept` this route cannot answer (JSON, CSV or Parquet)"},
            "413": {
                **COMMON_RESPONSES["413"],
                "description": f"more than {rows:,} rows (`batch_too_large`) or {size:,} bytes (`too_large`)",
            },
        },
    }
