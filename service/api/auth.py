"""Access control: one bearer-token check for the REST routes, the MCP routes and the Gradio login.

With `API_TOKEN` unset every door is open (demo mode); with it set, `/api/*` and `/metrics` need
`Authorization: Bearer <token>`, MCP needs the same header, and the Gradio UI takes it as the password.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from starlette.responses import Response

from service.api.problems import AUTH_HEADERS, RequestRefused, problem_response

MCP_PREFIX = "/gradio_api/mcp"


@dataclass(frozen=True)
class BearerToken:
    """The service's token (None: open); a FastAPI dependency that refuses requests without it."""

    expected: str | None

    @property
    def required(self) -> bool:
        return self.expected is not None

    def matches(self, given: str) -> bool:
        """Constant-time comparison with the token; always true when no token is set."""
        if self.expected is None:
            return True
        return hmac.compare_digest(given.encode(), self.expected.encode())

    def accepts(self, authorization: str) -> bool:
        """Whether an `Authorization` header value carries the token as a bearer credential."""
        if self.expected is None:
            return True
        scheme, _, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.matches(value.strip())

    async def __call__(self, request: Request) -> None:
        if not self.accepts(request.headers.get("authorization", "")):
            raise RequestRefused(401, "auth", "missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)")


def protect_mcp(app: FastAPI, token: BearerToken) -> None:
    """Gradio's login covers the UI and its API, not its MCP routes: require the bearer token there."""
    if not token.required:
        return

    @app.middleware("http")
    async def mcp_bearer(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path.startswith(MCP_PREFIX) and not token.accepts(request.headers.get("authorization", "")):
            problem = {"field": None, "kind": "auth", "message": "MCP needs Authorization: Bearer <API_TOKEN>"}
            return problem_response(401, [problem], headers=AUTH_HEADERS, error="missing or wrong bearer token")
        return await call_next(request)
