"""REST routes: /api/v1/score, /api/v1/score/batch, /api/v1/model, /healthz, /readyz, /metrics.

Handlers are thin: read the body within a size limit, decode JSON strictly, hand the payload to
the ScoringService, translate its errors into 4xx answers that name the field and the reason.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from scoring.errors import InvalidInput, ServiceUnavailable
from scoring.validation import NonFinite
from service.openapi import EXAMPLE_LOW_RISK, application_schema, components
from service.scoring import ScoringService
from service.settings import Settings

JSON_TYPES = ("application/json", "application/problem+json")


class BadRequest(Exception):
    def __init__(self, status: int, kind: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field


def _error(status: int, problems: list[dict[str, Any]], headers: dict[str, str] | None = None) -> JSONResponse:
    first = problems[0]
    text = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
    return JSONResponse({"error": text, "detail": problems}, status_code=status, headers=headers)


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def decode_json(body: bytes) -> Any:
    """Strict JSON: duplicate keys refused; NaN/Infinity kept as markers so validation names the field."""
    if not body.strip():
        raise BadRequest(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        value = json.loads(body, object_pairs_hook=_object_without_duplicates, parse_constant=NonFinite)
    except _DuplicateKey as exc:
        key = str(exc)[:100].encode("utf-8", "replace").decode("utf-8")
        raise BadRequest(400, "duplicate_key", "the key appears twice in one object", field=key) from exc
    except RecursionError as exc:
        raise BadRequest(400, "invalid_json", "the JSON is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(400, "invalid_json", f"the body is not valid JSON ({str(exc)[:120]})") from exc
    return value


async def read_body(request: Request, limit: int) -> bytes:
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise BadRequest(415, "wrong_content_type", f"send application/json, not {content_type[:60]!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, "too_large", f"the body is {int(declared)} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, "too_large", f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise BadRequest(401, "auth", "missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)")


def create_api(service: ScoringService, *, settings: Settings, readiness: Callable[[], dict[str, Any]]) -> FastAPI:
    api = FastAPI(
        title="Crédit Express scoring API",
        version=service.model.version,
        description="Scores loan applications with Prêt à Dépenser's default-risk model. Send Home Credit "
        "`application_train` fields; get the probability of default and the decision at the business "
        "threshold. With `API_TOKEN` set, every /api route needs `Authorization: Bearer <token>`.",
        docs_url="/docs",
        redoc_url=None,
    )
    router = APIRouter(prefix="/api/v1")
    token = settings.token
    body_ref = {"$ref": "#/components/schemas/Application"}
    errors = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    common_responses = {
        "400": {"description": "malformed JSON", **errors},
        "401": {"description": "missing or wrong token", **errors},
        "413": {"description": "body too large", **errors},
        "415": {"description": "not application/json", **errors},
        "422": {"description": "invalid application: the field and the reason", **errors},
        "503": {"description": "the prediction log cannot be written", **errors},
    }

    def _fail(exc: BadRequest, channel: str, started: float) -> JSONResponse:
        service.reject(
            exc.message, channel=channel, started=started, kind=exc.kind, field=exc.field, http_status=exc.status
        )
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, [{"field": exc.field, "kind": exc.kind, "message": exc.message}], headers)

    @router.post(
        "/score",
        summary="Score one application",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_ref, "example": EXAMPLE_LOW_RISK}},
            },
            "responses": {
                "200": {
                    "description": "the score",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Score"}}},
                },
                **common_responses,
            },
        },
    )
    async def score(request: Request, explain: bool = False) -> Response:
        started = time.perf_counter()
        try:
            _check_token(request, token)
            payload = decode_json(await read_body(request, settings.max_body_bytes))
        except BadRequest as exc:
            return _fail(exc, "rest", started)
        try:
            result = service.score(payload, channel="rest", explain=explain, started=started)
        except InvalidInput as exc:
            return _error(422, [p.as_dict() for p in exc.problems])
        except ServiceUnavailable as exc:
            return _error(503, [{"field": None, "kind": "log_unavailable", "message": str(exc)}])
        return JSONResponse(result)

    @router.post(
        "/score/batch",
        summary="Score up to 10,000 applications; bad rows are reported by index",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Batch"},
                        "example": {"applications": [EXAMPLE_LOW_RISK]},
                    }
                },
            },
            "responses": common_responses,
        },
    )
    async def score_batch(request: Request, explain: bool = False) -> Response:
        started = time.perf_counter()
        try:
            _check_token(request, token)
            body = decode_json(await read_body(request, settings.max_batch_body_bytes))
            rows = _batch_rows(body, settings.max_batch_rows)
        except BadRequest as exc:
            return _fail(exc, "rest_batch", started)
        try:
            result = service.score_batch(rows, channel="rest_batch", explain=explain, started=started)
        except ServiceUnavailable as exc:
            return _error(503, [{"field": None, "kind": "log_unavailable", "message": str(exc)}])
        return JSONResponse(result)

    @router.get("/model", summary="The model: version, threshold, metrics, fairness and the input schema")
    async def model_info(request: Request) -> Response:
        started = time.perf_counter()
        try:
            _check_token(request, token)
        except BadRequest as exc:
            return _fail(exc, "rest", started)
        meta = service.model.metadata
        return JSONResponse(
            {
                "model_version": service.model.version,
                "threshold": service.model.threshold,
                "trained_at": meta.get("trained_at"),
                "metrics": meta.get("metrics"),
                "fairness": meta.get("fairness"),
                "input_importance": meta.get("input_importance", [])[:20],
                "data": meta.get("data"),
                "input_schema": application_schema(),
            }
        )

    api.include_router(router)

    @api.exception_handler(RequestValidationError)
    async def query_errors(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own checks (e.g. `?explain=maybe`) answer in the service's error format, and are logged."""
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        problem = {"field": field, "kind": "wrong_type", "message": str(first.get("msg", "invalid request"))}
        channel = "rest_batch" if request.url.path.endswith("/batch") else "rest"
        service.reject(
            problem["message"],
            channel=channel,
            started=time.perf_counter(),
            kind="wrong_type",
            field=field,
            http_status=422,
        )
        return _error(422, [problem])

    @api.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", summary="Readiness: model loaded and prediction log writable")
    async def readyz() -> Response:
        state = readiness()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    @api.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        started = time.perf_counter()
        try:
            _check_token(request, token)
        except BadRequest as exc:
            return _fail(exc, "rest", started)
        return PlainTextResponse(service.metrics.render(), media_type="text/plain; version=0.0.4")

    base_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components())
            if token:
                schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                schema["security"] = [{"bearer": []}]
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def _batch_rows(body: Any, max_rows: int) -> list[Any]:
    if not isinstance(body, dict) or "applications" not in body:
        raise BadRequest(422, "wrong_type", 'expected {"applications": [...]}', field="applications")
    extra = [k for k in body if k != "applications"]
    if extra:
        field = str(extra[0])[:100].encode("utf-8", "replace").decode("utf-8")
        raise BadRequest(422, "unknown_field", "unknown field in the batch envelope", field=field)
    rows = body["applications"]
    if not isinstance(rows, list):
        raise BadRequest(422, "wrong_type", "expected a list of application objects", field="applications")
    if not rows:
        raise BadRequest(422, "wrong_type", "the batch is empty", field="applications")
    if len(rows) > max_rows:
        raise BadRequest(
            413, "batch_too_large", f"{len(rows)} rows; at most {max_rows} per batch", field="applications"
        )
    return rows
