"""Access control: two roles, each with its own secret, checked the same way on every door.

- **scoring** (`API_TOKEN`): the form, REST scoring, the Gradio API and MCP;
- **analyst** (`ANALYST_TOKEN`): also the Monitoring and Production data tabs (applicants' inputs) and the
  analyst routes; an analyst may score too.

With neither secret set every door is open (demo mode). Otherwise `/api/*` and `/metrics` need
`Authorization: Bearer <token>`, MCP needs the same header, and the Gradio login takes the token as the
password: the user name `analyst` logs in with the analyst token only, any other name is a scoring login
(so the role of a Gradio session follows from its user name, which Gradio keeps, and cannot be borrowed).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Literal

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.problems import AUTH_HEADERS, RequestRefused, problem_response

MCP_PREFIX = "/gradio_api/mcp"
Role = Literal["scoring", "analyst"]
SCORING: Role = "scoring"
ANALYST: Role = "analyst"
ANALYST_USER = "analyst"  # the Gradio user name of the analyst role
_RANK = {SCORING: 1, ANALYST: 2}


def _same(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class BearerToken:
    """The service's secrets (both None: open) and, as a FastAPI dependency, the role a route needs."""

    expected: str | None  # API_TOKEN, the scoring role
    analyst: str | None = None  # ANALYST_TOKEN
    needs: Role = SCORING

    @property
    def required(self) -> bool:
        return self.expected is not None or self.analyst is not None

    def for_role(self, role: Role) -> BearerToken:
        """The same secrets as a dependency that demands `role`."""
        return replace(self, needs=role)

    def role_of(self, given: str) -> Role | None:
        """The role a secret grants (constant-time comparisons); everything when no secret is set."""
        if not self.required:
            return ANALYST
        if _same(given, self.analyst):
            return ANALYST
        return SCORING if _same(given, self.expected) else None

    def matches(self, given: str) -> bool:
        """Whether `given` grants at least the role this dependency needs."""
        role = self.role_of(given)
        return role is not None and _RANK[role] >= _RANK[self.needs]

    def bearer(self, authorization: str) -> str:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def accepts(self, authorization: str) -> bool:
        """Whether an `Authorization` header value carries a token of a sufficient role."""
        return not self.required or self.matches(self.bearer(authorization))

    def login(self, username: str, password: str) -> bool:
        """The Gradio login: `analyst` needs the analyst token; any other name a token of either role."""
        role = self.role_of(password)
        return role == ANALYST if username == ANALYST_USER else role is not None

    def role_of_user(self, username: str | None) -> Role | None:
        """The role of a logged-in Gradio session (None: not logged in)."""
        if not self.required:
            return ANALYST
        if username is None:
            return None
        return ANALYST if username == ANALYST_USER else SCORING

    async def __call__(self, request: Request) -> None:
        role = self.role_of(self.bearer(request.headers.get("authorization", "")))
        if role is None:
            raise RequestRefused(401, "auth", "missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)")
        if _RANK[role] < _RANK[self.needs]:
            raise RequestRefused(403, "forbidden", f"this route needs the {self.needs} role (ANALYST_TOKEN)")


def protect_mcp(app: FastAPI, token: BearerToken) -> None:
    """Gradio's login covers the UI and its API, not its MCP routes: require a bearer token there."""
    if token.required:
        app.add_middleware(_McpBearer, token=token)


class _McpBearer:
    """Plain ASGI, not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware wraps every request of
    every door in extra tasks and streams, which doubled the server time of a REST score with a token."""

    def __init__(self, app: ASGIApp, *, token: BearerToken) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["path"].startswith(MCP_PREFIX)
        if guarded and not self.token.accepts(Headers(scope=scope).get("authorization", "")):
            problem = {"field": None, "kind": "auth", "message": "MCP needs Authorization: Bearer <API_TOKEN>"}
            response = problem_response(401, [problem], headers=AUTH_HEADERS, error="missing or wrong bearer token")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
