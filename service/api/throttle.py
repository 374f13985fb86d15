"""Failed logins and tokens, throttled per client address on every door; unauthenticated traffic counted, sampled.

One ASGI middleware in front of the whole app watches the answers: a 401 (REST bearer, MCP, Gradio API
without a login) or a refused Gradio login (`POST /login` answering 400) is a failure of that address.
After `max_failures` within `window_s` the address gets 429 with `Retry-After` for `block_s` on the
guarded paths, before any secret is compared. Each failure is counted in /metrics
(`scoring_unauthenticated_total{door}`); the prediction log gets one rejection row per door and
`sample_s` seconds (not one per 401: a flood must not fill the disk), and the operations log one line per
failure until the address is blocked (never the attempted secret).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.auth import MCP_PREFIX

log = logging.getLogger(__name__)

Reject = Callable[..., None]  # ScoringService.reject


def door_of(path: str, method: str) -> str | None:
    """Which door a path belongs to, for the paths where a secret is checked (None: not guarded)."""
    if path.startswith(MCP_PREFIX):
        return "mcp"
    if path.startswith(("/api/", "/metrics")):
        return "rest"
    if path.rstrip("/") == "/login" and method == "POST":
        return "gradio_login"
    if path.startswith("/gradio_api/"):
        return "gradio_api"
    return None


@dataclass
class FailureThrottle:
    """Failures per address in a sliding window; an address over the limit is blocked for `block_s`."""

    max_failures: int = 10
    window_s: float = 60.0
    block_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _blocked: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None if it is not blocked."""
        with self._lock:
            until = self._blocked.get(address)
            if until is None:
                return None
            left = until - self.clock()
            if left <= 0:
                del self._blocked[address]
                return None
            return max(1, int(left + 0.999))

    def fail(self, address: str) -> bool:
        """Record one failure; True when it puts the address over the limit (it is then blocked)."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a spread-out attack
                self._failures = {a: q for a, q in self._failures.items() if q and now - q[-1] < self.window_s}
            recent = self._failures.setdefault(address, deque())
            recent.append(now)
            while recent and now - recent[0] > self.window_s:
                recent.popleft()
            if len(recent) < self.max_failures:
                return False
            self._blocked[address] = now + self.block_s
            recent.clear()
            return True


class AuthThrottle:
    """The ASGI middleware: 429 for blocked addresses; failures counted, sampled into the log, logged."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        throttle: FailureThrottle,
        count: Callable[[str], None],
        reject: Reject,
        sample_s: float = 60.0,
    ) -> None:
        self.app, self.throttle, self.count, self.reject, self.sample_s = app, throttle, count, reject, sample_s
        self._last_row: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = door_of(scope.get("path", ""), scope.get("method", "")) if scope["type"] == "http" else None
        if door is None:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        retry = self.throttle.retry_after(address)
        if retry is not None:
            await _too_many(send, retry)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401 or (door == "gradio_login" and status == 400):
            self._failed(door, address, scope["path"])

    def _failed(self, door: str, address: str, path: str) -> None:
        self.count(door)
        blocked = self.throttle.fail(address)
        if blocked:
            log.warning(
                "authentication throttled",
                extra={"door": door, "client": address, "block_s": self.throttle.block_s},
            )
        else:
            log.warning("authentication failed", extra={"door": door, "client": address, "path": path[:200]})
        now = time.monotonic()
        if now - self._last_row.get(door, -1e9) >= self.sample_s:  # one log row per door and period
            self._last_row[door] = now
            channel = {"rest": "rest", "mcp": "mcp"}.get(door, "gradio_api")
            self.reject("missing or wrong credentials", channel=channel, started=now, kind="auth", http_status=401)


async def _too_many(send: Send, retry_after: int) -> None:
    message = f"too many failed logins or tokens from this address; retry in {retry_after} s"
    body = json.dumps({"error": message, "detail": [{"field": None, "kind": "throttled", "message": message}]})
    data = body.encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": data})
