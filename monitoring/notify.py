"""Webhook notifications of alerts: one message per incident, sent off the request path.

`WebhookNotifier.notify(alerts)` only decides what is new and puts messages on a bounded queue; one
daemon thread POSTs them. So a slow or dead webhook can cost the caller nothing but a queue put, a
failed POST is logged and never raised, and a full queue drops messages rather than block scoring.

The payload is Slack-compatible (`text` is what Slack, Mattermost and Teams' incoming webhooks show);
the same alert as structured fields sits under `alert` for receivers that want to route on it.
The webhook URL usually embeds a secret token: it is never logged.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from monitoring.alerts.model import SEVERITY_RANK, Alert

logger = logging.getLogger(__name__)

_STOP = object()
_SCHEME = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,15}):/{2}")


def slack_escape(text: str) -> str:
    """Text that a Slack-compatible receiver shows as it is: no mention, link or markup of the caller's.

    `&`, `<` and `>` become entities (so `<!channel>` and `<https://x|label>` are inert), control
    characters are dropped, and a URL scheme is broken (`https://` -> `https[:]//`) so no bare link is
    auto-linked either.
    """
    text = "".join(ch for ch in str(text) if ch.isprintable() or ch == " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SCHEME.sub(lambda m: m.group(1) + "[:]//", text)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return slack_escape(value)
    if isinstance(value, dict):
        return {slack_escape(str(k)): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


class WebhookNotifier:
    """POST one JSON message per new alert key, at most once per `cooldown_s` per key.

    A key that comes back within its cooldown stays silent, unless its severity went up (a warning
    that became critical is news). A POST that fails releases the key, so the next `notify` retries it.
    """

    def __init__(
        self,
        url: str,
        *,
        cooldown_s: float = 900.0,
        timeout_s: float = 2.0,
        min_severity: str = "warning",
        service: str = "credit-scoring",
        max_queue: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_severity not in SEVERITY_RANK:
            raise ValueError(f"min_severity must be one of {sorted(SEVERITY_RANK)}")
        self.url = url
        self.cooldown_s = cooldown_s
        self.timeout_s = timeout_s
        self.min_rank = SEVERITY_RANK[min_severity]
        self.service = service
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}  # key -> (when queued, severity rank)
        self._thread: threading.Thread | None = None

    def notify(self, alerts: Iterable[Alert]) -> int:
        """Queue a message for every alert that is new or out of its cooldown. Never blocks, never raises."""
        queued = 0
        try:
            for alert in alerts:
                if SEVERITY_RANK[alert.severity] <= self.min_rank and self._claim(alert):
                    queued += self._enqueue(alert)
        except Exception:  # a notifier bug must not break the caller (the tab, the metrics refresher)
            logger.exception("webhook notifier: notify failed")
        return queued

    def _claim(self, alert: Alert) -> bool:
        now, rank = self.clock(), SEVERITY_RANK[alert.severity]
        with self._lock:
            last = self._last.get(alert.key)
            if last is not None and now - last[0] < self.cooldown_s and rank >= last[1]:
                return False
            self._last[alert.key] = (now, rank)
            return True

    def _release(self, key: str) -> None:
        with self._lock:
            self._last.pop(key, None)

    def _enqueue(self, alert: Alert) -> int:
        self._ensure_worker()
        try:
            self._queue.put_nowait((alert.key, self.payload(alert)))
        except queue.Full:
            logger.warning("webhook notifier: queue full, alert %s dropped (will retry on the next notify)", alert.key)
            self._release(alert.key)
            return 0
        return 1

    def payload(self, alert: Alert) -> dict[str, Any]:
        """Slack-compatible message; every text escaped, since alert texts quote what callers sent."""
        return {
            "text": slack_escape(f"[{alert.severity.upper()}] {self.service}: {alert.message}"),
            "alert": _escaped(alert.as_dict()),
        }

    def _ensure_worker(self) -> None:
        # Started on first use, not in __init__: building the notifier (at import of the app, in tests)
        # costs no thread.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-notifier", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            while True:
                item = self._queue.get()
                try:
                    if item is _STOP:
                        return
                    self._post(client, *item)
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, key: str, payload: dict[str, Any]) -> None:
        try:
            response = client.post(self.url, json=payload)
            ok, reason = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:  # refused, timeout, DNS: the same fact for us
            ok, reason = False, type(exc).__name__
        except Exception as exc:  # never let the worker die: later alerts still need it
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.sent += 1
            return
        self.failed += 1
        self._release(key)
        # The URL is a credential (Slack hooks embed their token): log the alert key and the reason only.
        logger.warning("webhook notifier: POST for alert %s failed (%s); retried at the next notify", key, reason)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued message was attempted (for tests and shutdown). True if drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (bounded by `timeout`), then stop the worker."""
        if self._thread is None or not self._thread.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return  # the daemon thread dies with the process
        self._thread.join(timeout)
