"""POST /api/v1/outcomes: what happened to scored loans, up to `MAX_OUTCOME_ROWS` per call, one answer per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from monitoring.outcomes.store import ANSWERS, OutcomeStore
from scoring.errors import LogWriteError, ServiceUnavailable
from service.api.body import read_json
from service.api.docs import COMMON_RESPONSES
from service.api.problems import RequestRefused, start_clock
from service.settings import Settings

EXAMPLE = {
    "outcomes": [
        {"request_id": "3f9c2a6e0b7d4c1e9a8b5d2f6e1c0a47", "defaulted": False, "observed_at": "2027-03-01"},
        {"client_id": "100002", "defaulted": True, "observed_at": "2027-03-01"},
    ]
}


def outcome_schemas(max_rows: int) -> dict[str, Any]:
    """The request and answer bodies, for /docs (the handler reads the raw body, FastAPI cannot infer them)."""
    row = {
        "type": "object",
        "description": "One outcome: exactly one of request_id or client_id, and defaulted.",
        "properties": {
            "request_id": {"type": "string", "description": "the request_id the scoring answer returned"},
            "client_id": {
                "type": ["string", "integer"],
                "description": "SK_ID_CURR sent when scoring; matched through its keyed hash, never stored",
            },
            "defaulted": {"type": "boolean", "description": "true: the loan defaulted; false: repaid (1/0 accepted)"},
            "observed_at": {"type": "string", "format": "date", "description": "when the outcome was known"},
        },
        "required": ["defaulted"],
        "additionalProperties": False,
    }
    answer = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "status": {"type": "string", "enum": list(ANSWERS)},
            "request_id": {"type": "string"},
            "field": {"type": "string", "description": "the field at fault (invalid, conflict)"},
            "reason": {"type": "string"},
        },
        "required": ["index", "status"],
    }
    return {
        "Outcomes": {
            "type": "object",
            "properties": {"outcomes": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}},
            "required": ["outcomes"],
            "additionalProperties": False,
        },
        "OutcomesAnswer": {
            "type": "object",
            "properties": {
                "counts": {"type": "object", "properties": {k: {"type": "integer"} for k in ANSWERS}},
                "results": {"type": "array", "items": answer},
            },
        },
    }


def outcome_rows(body: Any, max_rows: int) -> list[Any]:
    """The rows of an `{"outcomes": [...]}` envelope; anything else refused naming `outcomes`."""
    if not isinstance(body, dict) or "outcomes" not in body:
        raise RequestRefused(422, "wrong_type", 'expected {"outcomes": [...]}', field="outcomes")
    extra = [k for k in body if k != "outcomes"]
    if extra:
        raise RequestRefused(422, "unknown_field", "unknown field in the outcomes envelope", field=str(extra[0])[:100])
    rows = body["outcomes"]
    if not isinstance(rows, list) or not rows:
        raise RequestRefused(422, "wrong_type", "expected a non-empty list of outcome objects", field="outcomes")
    if len(rows) > max_rows:
        raise RequestRefused(413, "batch_too_large", f"{len(rows)} rows; at most {max_rows} per call", field="outcomes")
    return rows


def record_or_503(store: OutcomeStore, rows: Sequence[Any], *, channel: str) -> dict[str, Any]:
    """Record, or say that nothing was (the log cannot be written): the caller may simply retry."""
    try:
        return store.record(rows, channel=channel)  # type: ignore[arg-type]
    except LogWriteError as exc:
        raise ServiceUnavailable("the outcome log cannot be written; nothing was recorded, retry later") from exc


def outcomes_router(store: OutcomeStore, *, settings: Settings, dependencies: Sequence[Depends]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=dependencies)
    docs = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcomes"}, "example": EXAMPLE}},
        },
        "responses": {
            "200": {
                "description": "one answer per row: recorded, duplicate, conflict, unknown_request or invalid",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OutcomesAnswer"}}},
            },
            **COMMON_RESPONSES,
        },
    }

    @router.post(
        "/outcomes",
        summary=f"Record what happened to scored loans (up to {settings.max_outcome_rows:,} per call)",
        description=(
            "Each row names a scored loan by `request_id` or by `client_id` and says whether it defaulted. "
            "Idempotent: an outcome already known is a `duplicate`; a different one is a `conflict`, refused "
            "and kept in the audit trail. Realized performance in the Monitoring tab is computed on these."
        ),
        openapi_extra=docs,
    )
    async def outcomes(request: Request) -> Response:
        start_clock(request)
        rows = outcome_rows(await read_json(request, settings.max_outcome_body_bytes), settings.max_outcome_rows)
        # matching reads the log (the first call of a process parses it): off the event loop
        return JSONResponse(await run_in_threadpool(record_or_503, store, rows, channel="rest"))

    return router
