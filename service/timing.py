"""When a request reached the application: an ASGI middleware stamps it, every door reads it.

`latency_ms` in the prediction log runs from this stamp to the moment the prediction row is built
(just before the log write), so it includes routing, body reading, validation and the framework's own
handling, not only the handler (docs/monitoring.md, "What latency_ms measures").
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import HTTPConnection

ARRIVAL = "credit_express.arrived_at"  # a key of the ASGI scope: time.perf_counter() at arrival


class ArrivalClock:
    """Pure ASGI middleware (no response wrapping, nothing buffered): stamps the scope of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[ARRIVAL] = time.perf_counter()
        await self.app(scope, receive, send)


def arrival_of(request: Any) -> float | None:
    """The arrival stamp of a Starlette request or a `gr.Request` (None when no middleware stamped it).

    A `gr.Request` is read through its own `__dict__`: its `__getattr__` JSON-encodes whatever it is
    asked for, and an ASGI scope holds bytes (that raised on every /gradio_api/run and /call request).
    """
    inner = vars(request).get("request") if hasattr(request, "__dict__") else None
    for holder in (inner, request):
        scope = vars(holder).get("scope") if hasattr(holder, "__dict__") else None
        if scope is None and isinstance(holder, HTTPConnection):
            scope = holder.scope
        if isinstance(scope, dict) and ARRIVAL in scope:
            return float(scope[ARRIVAL])
    return None


def started_clock(request: Any) -> float:
    """The arrival stamp, or now (a request that did not come through the middleware: tests, scripts)."""
    arrived = arrival_of(request)
    return time.perf_counter() if arrived is None else arrived
