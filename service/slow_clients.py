"""Slow-client protection: bounded time to send the headers and the body, bounded concurrent connections.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) and, with `limit_concurrency`, the
connections and tasks (503 beyond), but not the time a client takes to send its headers or its body: a
client trickling one byte every 2 s would hold a connection (and a task) for as long as it likes.

- `GuardedHttpToolsProtocol`: the connection is closed when a request's headers are not complete
  `header_timeout_s` after its first byte (or after the connection opened);
- `BodyDeadline`: an ASGI middleware answering 408 (and closing) when a body is not complete
  `body_timeout_s` after the request reached the app.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on the request headers."""

    header_timeout_s: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(header_timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class uvicorn is given (`http=`), with this header deadline."""
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"header_timeout_s": header_timeout_s})


class BodyDeadline:
    """ASGI middleware: a body must arrive within `timeout_s`, else the answer is 408 and the connection closes."""

    def __init__(self, app: ASGIApp, *, timeout_s: float) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        complete, expired, started = False, False, False

        async def timed_receive() -> Message:
            nonlocal complete, expired
            if complete or expired:
                return await receive()  # after the body: the disconnect watch of a streamed answer, untimed
            try:
                async with asyncio.timeout_at(deadline):  # a scheduled callback, no extra task per receive
                    message = await receive()
            except TimeoutError:
                expired = True
                return {"type": "http.disconnect"}
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if expired:
                return  # the app's answer to a body it never got is replaced by the 408 below
            started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not expired:
                raise
        if expired and not started:
            await _request_timeout(send, self.timeout_s)


async def _request_timeout(send: Send, timeout_s: float) -> None:
    message = f"the request body did not arrive within {timeout_s:g} s"
    data = json.dumps({"error": message, "detail": [{"field": None, "kind": "timeout", "message": message}]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": data})
