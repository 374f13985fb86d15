"""The REST door's one error translation: every refusal becomes a JSON problem with its HTTP status.

Handlers raise (`RequestRefused` from the door's own checks, `InvalidInput` and `ServiceUnavailable` from
the scoring service); the handlers installed here turn each into the service's error shape
`{"error": <first problem, readable>, "detail": [{field, kind, message}, ...]}` and log door refusals as
rejection events.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from scoring.errors import InvalidInput, ServiceError, ServiceUnavailable
from service.scoring import ScoringService
from service.timing import started_clock

AUTH_HEADERS = {"WWW-Authenticate": "Bearer"}


class RequestRefused(ServiceError):
    """A request the door refuses before validation (body, content type, size, envelope, token)."""

    def __init__(
        self, status: int, kind: str, message: str, field: str | None = None, *, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field
        self.headers = AUTH_HEADERS if status == 401 else headers

    def problem(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "message": self.message}


def problem_response(
    status: int, problems: list[dict[str, Any]], *, headers: dict[str, str] | None = None, error: str | None = None
) -> JSONResponse:
    """The error shape; `error` defaults to the first problem as `field: message`."""
    first = problems[0]
    if error is None:
        error = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
    return JSONResponse({"error": error, "detail": problems}, status_code=status, headers=headers)


def start_clock(request: Request) -> float:
    """The request's start: its arrival in the app (service/timing.py); a refusal and a score measure alike."""
    request.state.started = started = started_clock(request)
    return started


def started_at(request: Request) -> float:
    """When the request arrived, for a refusal raised before the handler too (the token check)."""
    return getattr(request.state, "started", None) or started_clock(request)


def channel_of(request: Request) -> str:
    return "rest_batch" if request.url.path.endswith("/batch") else "rest"


def install_error_handlers(api: FastAPI, service: ScoringService) -> None:
    """Register the translation of every error a REST handler may raise."""

    @api.exception_handler(RequestRefused)
    async def refused(request: Request, exc: RequestRefused) -> JSONResponse:
        if exc.kind == "auth":  # counted and sampled into the log by the throttle, not one row per 401
            return problem_response(exc.status, [exc.problem()], headers=AUTH_HEADERS)
        service.reject(
            exc.message,
            channel=channel_of(request),
            started=started_at(request),
            kind=exc.kind,
            field=exc.field,
            http_status=exc.status,
        )
        return problem_response(exc.status, [exc.problem()], headers=exc.headers)

    @api.exception_handler(InvalidInput)
    async def invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        # the scoring service has already logged the rejection with its problems
        return problem_response(422, [p.as_dict() for p in exc.problems])

    @api.exception_handler(ServiceUnavailable)
    async def unavailable(_: Request, exc: ServiceUnavailable) -> JSONResponse:
        return problem_response(503, [{"field": None, "kind": "log_unavailable", "message": str(exc)}])

    @api.exception_handler(RequestValidationError)
    async def query_errors(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own checks (e.g. `?explain=maybe`) answer in the service's error format, and are logged."""
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        problem = {"field": field, "kind": "wrong_type", "message": str(first.get("msg", "invalid request"))}
        service.reject(
            problem["message"],
            channel=channel_of(request),
            started=time.perf_counter(),
            kind="wrong_type",
            field=field,
            http_status=422,
        )
        return problem_response(422, [problem])
