"""Forget finished Gradio API sessions, so API traffic cannot grow the process without bound.

Every `/gradio_api/call/<name>` request is a session of its own, and Gradio's queue keeps two entries per
session after the answer has been delivered: a message queue (an LRU of 2,000, ~35 kB each with its
asyncio primitives) and an empty set of pending event ids (never removed, and scanned linearly by every
later `/call/.../<event_id>` read). Its per-event analytics for the built-in dashboard (off here) keep
10,000 more entries. Measured before this sweep: +28 MB per 800 calls until the LRU fills, then still
climbing. A session with no pending event, no undelivered message and no reader is exactly what Gradio
itself re-creates on the next join, so dropping it loses nothing.

These are Gradio internals (pinned in requirements.txt); if they move, the janitor logs it once and stops,
and `tests/service/test_gradio.py` fails on the bounded-bookkeeping test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import gradio as gr

log = logging.getLogger("service.sessions")

ANALYTICS_CAP = 1_000


class GradioSessionJanitor:
    def __init__(self, blocks: gr.Blocks, *, every_s: float = 5.0, gauges: dict[str, float] | None = None) -> None:
        self._blocks = blocks
        self._every_s = every_s
        self._gauges = gauges if gauges is not None else {}
        self._task: asyncio.Task[None] | None = None
        self._idle_before: dict[str, int] = {}  # session -> id() of its message queue at the last sweep
        self.swept = 0

    def sweep(self) -> int:
        """Drop finished sessions; runs on the server's event loop, so no Gradio coroutine is mid-update.

        A session goes only when two sweeps in a row saw it idle with the same message queue and nobody
        waiting on that queue: a stream still reading it (a second `/call` read, a reconnect) would
        otherwise find its session gone when it closes.
        """
        queue: Any = self._blocks._queue
        pending: dict[str, set[str]] = queue.pending_event_ids_session
        messages: dict[str, Any] = queue.pending_messages_per_session
        idle = {
            s: id(q)
            for s, q in messages.items()
            if not pending.get(s) and q.empty() and not q._getters  # asyncio.Queue's waiting readers
        }
        idle.update({s: 0 for s, ids in pending.items() if not ids and s not in messages})
        done = [s for s, marker in idle.items() if self._idle_before.get(s) == marker]
        for session in done:
            pending.pop(session, None)
            messages.pop(session, None)
            del idle[session]
        self._idle_before = idle
        queue.ANALYTICS_MAX_EVENTS = min(queue.ANALYTICS_MAX_EVENTS, ANALYTICS_CAP)
        self.swept += len(done)
        self._gauges["gradio_sessions_tracked"] = len(pending)
        return len(done)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                self.sweep()
            except Exception:  # a Gradio upgrade moved its internals: say so once, keep serving
                log.exception("gradio session janitor stopped: Gradio's queue internals changed")
                return

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gradio-session-janitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
