"""The REST door's body rules on Gradio's doors (its API, its queue, MCP): one ASGI middleware in front of them.

Gradio parses JSON bodies itself, so a duplicate key keeps its last value, NaN becomes a float (or, over
MCP, a missing value) and deep nesting reaches a `RecursionError`. Here every JSON POST under
/gradio_api/ is read first with the REST door's strict decoder and refused the same way: 400 for a
duplicate key or nesting past MAX_DEPTH; over MCP, 422 naming the field of a NaN/Infinity (the Gradio
API leaves that to validation, which names it too). Named calls (`/run/<name>`, `/call/<name>`) must
name a public endpoint (else 404, no traceback: a private callback such as a tab's refresh is not an
API), and a validation error raised by a handler on `/run` answers 422 with its problems instead of
Gradio's blanket 500.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import gradio as gr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring.errors import Problem
from scoring.validation import NonFinite
from service.api.body import decode_json
from service.api.problems import RequestRefused
from service.ui.roles import RoleGate

PREFIX = "/gradio_api/"
MAX_DEPTH = 32  # an MCP call nests an application 4 levels deep, a Gradio call 3
_NAMED = re.compile(r"^/gradio_api/(?:run|api|call/v2|call)/([^/]+)/?$")

# problems of an InvalidInput raised by a handler during this request (the /run answer's detail)
REQUEST_PROBLEMS: ContextVar[list[dict[str, Any]] | None] = ContextVar("gradio_request_problems", default=None)

Reject = Callable[..., None]  # ScoringService.reject


def record_problems(problems: list[Problem]) -> None:
    """Called by a Gradio handler before it raises: the guard turns /run's 500 into a 422 carrying these."""
    sink = REQUEST_PROBLEMS.get()
    if sink is not None:
        sink.extend(p.as_dict() for p in problems)


def _non_finite_field(value: Any, depth: int = 0) -> tuple[str, str] | None:
    """The first key whose value is a NaN/Infinity literal, with the literal (any nesting)."""
    if depth > 64:
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(item, NonFinite):
            return str(key)[:100], item.literal
        found = _non_finite_field(item, depth + 1)
        if found:
            return found
    return None


class GradioApiGuard:
    """ASGI middleware; `blocks` tells which endpoint names are public, `reject` logs a refusal event."""

    def __init__(
        self, app: ASGIApp, *, blocks: gr.Blocks, reject: Reject, max_body_bytes: int, gate: RoleGate | None = None
    ) -> None:
        self.app, self.blocks, self.reject, self.limit, self.gate = app, blocks, reject, max_body_bytes, gate

    def _public(self) -> dict[str, int]:
        return {
            fn.api_name: index
            for index, fn in self.blocks.fns.items()
            if fn.api_visibility == "public" and isinstance(fn.api_name, str)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        named = _NAMED.match(path)
        if named and named.group(1) not in self._public():
            await self._refuse(scope, send, RequestRefused(404, "unknown_endpoint", "no such API endpoint", "api_name"))
            return
        try:
            body = await self._read(receive)
            value = self._check(body, scope)
            index = value.get("fn_index") if isinstance(value, dict) else None
            if named and index is not None and self._public()[named.group(1)] != index:
                raise RequestRefused(404, "unknown_endpoint", "fn_index does not name this endpoint", "fn_index")
            if named and index is None:
                index = self._public()[named.group(1)]
            if self.gate is not None and not (self.gate.allows(index, scope) and self._tool_allowed(value, scope)):
                raise RequestRefused(403, "forbidden", "this part of the app needs the analyst role (ANALYST_TOKEN)")
        except RequestRefused as refused:
            await self._refuse(scope, send, refused)
            return
        await self._forward(scope, _replay(body, receive), send, rewrite=bool(named))

    def _tool_allowed(self, value: Any, scope: Scope) -> bool:
        calls = value if isinstance(value, list) else [value]  # JSON-RPC may batch
        return all(
            not isinstance(call, dict)
            or call.get("method") != "tools/call"
            or self.gate.allows_tool((call.get("params") or {}).get("name"), scope)
            for call in calls
        )

    async def _read(self, receive: Receive) -> bytes:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestRefused(400, "empty_body", "the client went away before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise RequestRefused(413, "too_large", f"the body exceeds the limit of {self.limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _check(self, body: bytes, scope: Scope) -> Any:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if not content_type.endswith(b"json") or not body.strip():
            return None  # uploads (multipart) and empty pings are Gradio's to judge
        value = decode_json(body, max_depth=MAX_DEPTH)
        # Gradio's own parser keeps NaN as a float, which validation names per field (and per row in a
        # batch); the MCP route loses it on the way (a missing value), so it is refused here, naming the field.
        found = _non_finite_field(value) if scope["path"].startswith(PREFIX + "mcp") else None
        if found:
            field, literal = found
            raise RequestRefused(422, "wrong_type", f"expected a finite number, got {literal}", field=field)
        return value

    async def _forward(self, scope: Scope, receive: Receive, send: Send, *, rewrite: bool) -> None:
        if not rewrite:
            await self.app(scope, receive, send)
            return
        problems: list[dict[str, Any]] = []
        token = REQUEST_PROBLEMS.set(problems)
        start: Message | None = None
        held: list[bytes] = []

        async def send_rewritten(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 500:
                start = message  # held until we know whether a validation error caused it
                return
            if start is not None and message["type"] == "http.response.body":
                held.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await _send_json(send, *self._answer(problems, b"".join(held), start))
                return
            await send(message)

        try:
            await self.app(scope, receive, send_rewritten)
        finally:
            REQUEST_PROBLEMS.reset(token)

    @staticmethod
    def _answer(problems: list[dict[str, Any]], body: bytes, start: Message) -> tuple[int, dict[str, Any]]:
        try:
            original = json.loads(body or b"{}")
        except ValueError:
            original = {"error": None}
        if not problems:
            return start["status"], original
        first = problems[0]
        error = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
        return 422, {"error": error, "detail": problems}

    async def _refuse(self, scope: Scope, send: Send, refused: RequestRefused) -> None:
        channel = "mcp" if scope["path"].startswith(PREFIX + "mcp") else "gradio_api"
        self.reject(
            refused.message,
            channel=channel,
            started=time.perf_counter(),
            kind=refused.kind,
            field=refused.field,
            http_status=refused.status,
        )
        error = f"{refused.field}: {refused.message}" if refused.field else refused.message
        await _send_json(send, refused.status, {"error": error, "detail": [refused.problem()]})


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the real channel (a streamed answer listens on it for the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    data = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def guard_gradio_api(
    app: Any, blocks: gr.Blocks, *, reject: Reject, max_body_bytes: int, gate: RoleGate | None = None
) -> None:
    """Install the guard on the app that mounts `blocks`, and make Gradio's start-up route a no-op.

    `gr.mount_gradio_app` runs the queue's start-up in the lifespan but leaves the flag of the open
    `GET /gradio_api/startup-events` unset, so anyone could run it a second time.
    """
    for route in app.routes:
        mounted = getattr(route, "app", None)
        if hasattr(mounted, "startup_events_triggered"):
            mounted.startup_events_triggered = True
            if gate is not None:
                gate.gradio_app = mounted
    app.add_middleware(GradioApiGuard, blocks=blocks, reject=reject, max_body_bytes=max_body_bytes, gate=gate)
