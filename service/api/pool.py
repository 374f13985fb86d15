"""Heavy REST work off the event loop: a bounded pool of batch workers with back-pressure.

A 10,000-row batch takes seconds to decode, validate, score, log and encode; run on the event loop it
froze every door, `/healthz` included. Here it runs on one of `workers` threads (LightGBM and the log's
file writes release the GIL, so the loop keeps answering), at most `queue` more wait for a thread, and
any batch past that is refused at once with 503 and `Retry-After`, before its body is read.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from service.api.problems import RequestRefused

T = TypeVar("T")
RETRY_AFTER_S = 5
# A thread waiting for the GIL asks for it after this long (CPython's default: 5 ms). The event loop asks
# after every socket wait, so with a batch thread running each of those waits cost up to 5 ms.
SWITCH_INTERVAL_S = 0.001


class Ticket:
    """A reserved place in the pool; released once (when the work ends, or if it never starts)."""

    def __init__(self, pool: BatchPool):
        self._pool, self._held = pool, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._pool.free += 1


class BatchPool:
    """`workers` threads and `queue` waiting places; `reserve` is called on the event loop only."""

    def __init__(self, *, workers: int, queue: int):
        self.capacity = workers + queue
        self.free = self.capacity
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rest-batch")
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))

    @property
    def busy(self) -> int:
        return self.capacity - self.free

    def reserve(self) -> Ticket:
        """A place for one batch, or 503 + Retry-After when every worker and waiting place is taken."""
        if self.free <= 0:
            raise RequestRefused(
                503,
                "overloaded",
                f"{self.capacity} batches are already running or waiting; retry in {RETRY_AFTER_S} s",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self.free -= 1
        return Ticket(self)

    async def run(self, ticket: Ticket, work: Callable[[], T]) -> T:
        """Run `work` on a worker thread; its place is freed when it ends, even if the client has gone."""
        loop = asyncio.get_running_loop()
        try:
            future = self._executor.submit(work)
        except BaseException:
            ticket.release()
            raise
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(ticket.release))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
