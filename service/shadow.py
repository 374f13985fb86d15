"""The challenger in shadow: every logged prediction scored again by a second model, off the answer's path.

`ScoringService` hands each logged batch of predictions (their request ids, ts, channel and model
matrix) to `ShadowScorer.submit`, which only puts it on a bounded queue: `put_nowait`, so a request
never waits for the challenger. One worker thread takes jobs off the queue, predicts them with the
challenger on one LightGBM thread (the champion's requests keep the cores) and writes one `shadow`
row per prediction through the same log writer (`monitoring.log.records.build_shadow_row`), which
`read_log` joins onto the predictions.

What can go wrong, and what it costs: a full queue drops the job (counted as `dropped`), a
challenger or write failure drops it too (counted as `failed`, logged): the champion's row is
already written, so a lost shadow row never loses a prediction. On shutdown `close` lets the worker
finish what is queued within a deadline; jobs still queued after it, and the one in the worker's
hands, are dropped (and counted): a shadow row in flight at shutdown may be lost, by design.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from monitoring.log.records import build_shadow_row
from scoring.model import ScoringModel

log = logging.getLogger(__name__)

DEFAULT_QUEUE = 256  # jobs (a single request or a whole batch each) waiting for the challenger


class ShadowSink(Protocol):
    def append_many(self, rows: Sequence[dict[str, Any]]) -> None: ...


class ShadowCounter(Protocol):
    def count_shadow(self, outcome: str, rows: int = 1) -> None: ...


@dataclass(frozen=True, slots=True)
class ShadowJob:
    """Predictions already logged by the champion, to be scored again: one entry per row."""

    request_ids: Sequence[str]
    ts: Sequence[str]
    channel: str
    features: np.ndarray | Sequence[np.ndarray]  # the model matrix the champion scored, row by row


class ShadowScorer:
    """A bounded queue and one worker thread scoring with the challenger; `submit` never blocks."""

    def __init__(
        self,
        model: ScoringModel,
        sink: ShadowSink,
        counter: ShadowCounter,
        *,
        max_queue: int = DEFAULT_QUEUE,
    ) -> None:
        self.model = model
        model.threads = 1  # a background model never competes with the answers for cores
        self._sink = sink
        self._counter = counter
        self._queue: queue.Queue[ShadowJob | None] = queue.Queue(maxsize=max_queue)
        self._closed = threading.Event()  # no new jobs (shutdown began)
        self._abandoned = threading.Event()  # the drain deadline passed: what is left is dropped
        self._thread = threading.Thread(target=self._run, name="shadow-challenger", daemon=True)
        self._thread.start()

    @property
    def version(self) -> str:
        return self.model.version

    def submit(self, job: ShadowJob) -> bool:
        """Queue `job` for the challenger; False (and counted as dropped) when the queue is full or closed."""
        if not job.request_ids:
            return True
        if self._closed.is_set():
            self._counter.count_shadow("dropped", len(job.request_ids))
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._counter.count_shadow("dropped", len(job.request_ids))
            return False
        return True

    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while not self._abandoned.is_set():
            job = self._queue.get()
            if job is None:
                return
            self._score(job)

    def _score(self, job: ShadowJob) -> None:
        try:
            features = job.features if isinstance(job.features, np.ndarray) else np.vstack(job.features)
            started = time.perf_counter()
            probabilities = np.asarray(self.model.predict(features), dtype=np.float64)
            if self._abandoned.is_set():  # finished after the shutdown deadline: counted, not written
                self._counter.count_shadow("dropped", len(job.request_ids))
                return
            per_row_ms = (time.perf_counter() - started) * 1000 / max(len(probabilities), 1)
            rows = [
                build_shadow_row(
                    request_id=request_id,
                    ts=ts,
                    channel=job.channel,  # type: ignore[arg-type]  # the champion's row already checked it
                    challenger_version=self.model.version,
                    challenger_probability=float(p),
                    challenger_decision="refuse" if p >= self.model.threshold else "approve",
                    challenger_ms=per_row_ms,
                )
                for request_id, ts, p in zip(job.request_ids, job.ts, probabilities, strict=True)
            ]
            self._sink.append_many(rows)
        except Exception as exc:  # a broken challenger must never reach the champion's requests
            self._counter.count_shadow("failed", len(job.request_ids))
            log.error("challenger scoring failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        self._counter.count_shadow("scored", len(rows))

    def close(self, *, timeout: float = 5.0) -> int:
        """Stop taking jobs, let the worker finish the queue within `timeout`; the rows left unscored."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        while True:  # the stop marker goes behind the queued jobs, so they are scored first
            try:
                self._queue.put(None, timeout=max(deadline - time.monotonic(), 0.01))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._thread.join(max(deadline - time.monotonic(), 0))
        if not self._thread.is_alive():
            return 0
        self._abandoned.set()
        return self._discard()

    def _discard(self) -> int:
        """Empty what is still queued after the deadline (counted as dropped); the rows dropped.

        The job the worker holds, if any, is dropped when its prediction returns; the stop marker
        is put back so the worker then ends.
        """
        dropped = 0
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                dropped += len(job.request_ids)
        self._queue.put_nowait(None)
        if dropped:
            self._counter.count_shadow("dropped", dropped)
            log.warning("shutdown: challenger rows not scored", extra={"rows": dropped})
        return dropped
