"""The call + SSE route (`POST /gradio_api/call/<name>`, then `GET` its event stream) without its idle waits.

Two costs of that route that the run route does not pay (profiled in docs/optimization.md):

1. Gradio's queue loop polls: with nothing queued it sleeps 1 ms and looks again, so a pushed event waits
   up to a millisecond (longer on a busy machine, where the timer fires late) before it starts, and the
   idle server wakes 1,000 times a second. `wake_driven_queue` runs the same loop, woken by the push and
   by a job's end instead (and every 50 ms regardless, so a missed wake-up only delays).
2. The event stream is written in three pieces for one answer (the headers as soon as the GET arrives,
   the `complete` event, then the end of the chunked body), each a socket write that wakes the client.
   `EventStreamWrites` (plain ASGI) sends the headers with the first event and the last event with the
   end of the stream: two writes. The bytes the client reads are the same.

1 replaces `Queue.start_processing`, a Gradio internal (pinned in requirements.txt): it is installed only
when Gradio's loop is, to the character, the one it was written from (`LOOP_SOURCE_SHA256`); otherwise it
logs a warning and Gradio's own polling stays (slower, never wrong). `tests/service/test_fastpath.py`
fails when an upgrade changes that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gradio import queueing
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("service.fastcall")

# sha256 of `inspect.getsource(gradio.queueing.Queue.start_processing)` in Gradio 6.31.0
LOOP_SOURCE_SHA256 = "d65be5a5cbed97d75e13233ab7d0dfc9f347c4ffd33bdcb47293d696f38aaa1f"
SAFETY_WAKE_S = 0.05  # the longest a missed wake-up can delay an event (Gradio's own poll on Windows)
HEADERS_HELD_S = 0.005  # the event-stream headers wait at most this long for the first event
CALL_STREAM = "/gradio_api/call/"


def loop_source_digest() -> str:
    """The digest of the queue loop of the installed Gradio (what `LOOP_SOURCE_SHA256` must equal)."""
    return hashlib.sha256(inspect.getsource(queueing.Queue.start_processing).encode()).hexdigest()


async def _start_processing(queue: Any) -> None:
    # Gradio 6.31's Queue.start_processing, statement for statement, its three 1 ms sleeps replaced by
    # `_idle`; the digest check above keeps it in step with the installed Gradio. The event belongs to
    # this loop (an app served twice, as tests do, starts the queue once per event loop).
    queue._fast_wake = wake = asyncio.Event()
    try:
        while not queue.stopped:
            wake.clear()  # cleared before looking, so a push from here on is never missed
            if len(queue) == 0 or None not in queue.active_jobs:
                await _idle(wake)
                continue
            async with queue.delete_lock:
                event_batch = queue.get_events()
            if event_batch:
                events, batch, concurrency_id = event_batch
                queue.active_jobs[queue.active_jobs.index(None)] = events
                event_queue = queue.event_queue_per_concurrency_id[concurrency_id]
                event_queue.current_concurrency += 1
                start_time = time.time()
                fn = events[0].fn
                event_queue.start_times_per_fn[fn].add(start_time)
                for event in events:
                    if (a := queue.event_analytics.get(event._id)) is not None:
                        a["status"] = "processing"
                task = queueing.run_coro_in_background(queue.process_events, events, batch, start_time, fn)
                queueing.set_task_name(task, events[0].session_hash, fn._id, events[0]._id, batch)
                queue._asyncio_tasks.add(task)
                task.add_done_callback(queue._asyncio_tasks.discard)
                if queue.live_updates:
                    queue.broadcast_estimations(concurrency_id)
            else:
                await _idle(wake)
    finally:
        queue.stopped = True
        queue._cancel_asyncio_tasks()


async def _idle(wake: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SAFETY_WAKE_S):
            await wake.wait()


def _waking(fn: Callable[..., Awaitable[Any]], queue: Any) -> Callable[..., Awaitable[Any]]:
    """`fn` (the queue's push or process_events), waking the queue's loop once it is done, however it ends."""

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        finally:
            if queue._fast_wake is not None:
                queue._fast_wake.set()

    return wrapped


def wake_driven_queue(queue: Any) -> bool:
    """Make `queue` (a `Blocks._queue` not started yet: `start()` fills `active_jobs`) wait for work on an event."""
    if getattr(queue, "_wake_driven", False):
        return True
    try:
        same = loop_source_digest() == LOOP_SOURCE_SHA256
    except (OSError, TypeError):  # no source to compare (a stripped install)
        same = False
    needed = ("push", "process_events", "get_events", "active_jobs", "delete_lock", "_asyncio_tasks")
    if not same or not all(hasattr(queue, name) for name in needed) or queue.active_jobs:
        log.warning("Gradio's queue loop changed: it still polls every millisecond")
        return False
    queue._fast_wake = None
    queue.push = _waking(queue.push, queue)
    queue.process_events = _waking(queue.process_events, queue)
    queue.start_processing = lambda: _start_processing(queue)
    queue._wake_driven = True
    return True


def fewer_stream_writes(app: Any) -> bool:
    """Install `EventStreamWrites` on `app` (the FastAPI app serving the Gradio routes), before it starts."""
    if getattr(app, "middleware_stack", None) is not None:
        log.warning("the app already serves: its event streams keep Gradio's three writes")
        return False
    app.add_middleware(EventStreamWrites)
    return True


class EventStreamWrites:
    """ASGI middleware: a `GET /gradio_api/call/...` event stream in as few socket writes as its timing allows.

    The headers are held until the first event (at most `HEADERS_HELD_S`), and each event until the app's
    next message or its next turn of the event loop: the stream's last event leaves with its end, a
    stream that keeps going (heartbeats, generators) is written as before, a few microseconds later.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(CALL_STREAM):
            await self.app(scope, receive, send)
            return
        writer = _HeldWrites(send)
        try:
            await self.app(scope, receive, writer.send)
        except BaseException:
            with contextlib.suppress(Exception):
                await writer.close()  # what the app sent before it failed goes out, as it would have
            raise
        await writer.close()


class _HeldWrites:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = b""
        self._held = False  # a body part is waiting
        self._timer: asyncio.Handle | None = None
        self._writing: asyncio.Future[None] | None = None  # a write the timer started

    async def send(self, message: Message) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing is not None:
            await self._writing
        if message["type"] == "http.response.start" and self._start is None:
            self._start = message
            self._arm(HEADERS_HELD_S)
            return
        if message["type"] != "http.response.body":
            await self.flush(more_body=True)
            await self._send(message)
            return
        self._body += message.get("body", b"")
        self._held = True
        if message.get("more_body", False):
            self._arm(0)
            return
        await self.flush(more_body=False)

    def _arm(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._write_soon) if delay else loop.call_soon(self._write_soon)

    def _write_soon(self) -> None:
        self._timer = None
        self._writing = asyncio.ensure_future(self.flush(more_body=True))
        self._writing.add_done_callback(self._written)

    def _written(self, future: asyncio.Future[None]) -> None:
        self._writing = None
        if not future.cancelled():
            future.exception()  # seen here; the app's next send meets the broken connection itself

    async def close(self) -> None:
        """The app is done: write anything still held (nothing, when it ended its body)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing is not None:
            await self._writing
        await self.flush(more_body=True)

    async def flush(self, *, more_body: bool) -> None:
        """Write what is held: the headers, then the body parts as one (the end of the body if not `more_body`)."""
        start, self._start = self._start, None
        if start is not None:
            await self._send(start)
        if self._held:
            body, self._body, self._held = self._body, b"", False
            await self._send({"type": "http.response.body", "body": body, "more_body": more_body})
