"""The alert loop: operational alerts from the log, drift alerts from the last analysis, one list.

Every `every_s` seconds the watcher evaluates the operational rules in the analysis worker (never on
the scoring path), merges the result with the drift alerts of the latest NannyML analysis, updates
the /metrics gauges and hands new alerts to the webhook notifier. The Monitoring tab reads
`latest()`; nothing there waits for an evaluation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitoring.alerts.model import Alert
from monitoring.alerts.operational import OPERATIONAL_COLUMNS, alerts_to_gauges, detect_operational, merge_alerts
from monitoring.alerts.rules import AlertRules
from monitoring.log.reader import SHARED_CACHE, read_log

log = logging.getLogger(__name__)


def evaluate_operational(
    log_dirs: Sequence[str],
    *,
    now: datetime,
    rules: AlertRules,
    hub_status: dict[str, Any] | None,
    log_health: dict[str, Any] | None,
) -> list[Alert]:
    """Read the log window the rules need (incrementally, through the process' shared read cache) and detect."""
    start, end = now - rules.history, now + timedelta(seconds=1)
    data = read_log(list(log_dirs), start=start, end=end, cache=SHARED_CACHE, columns=OPERATIONAL_COLUMNS)
    return detect_operational(data, now=now, rules=rules, hub_status=hub_status, log_health=log_health)


class AlertWatcher:
    def __init__(
        self,
        *,
        log_dirs: Sequence[str],
        rules: AlertRules,
        submit: Callable[..., Any],
        hub_status: Callable[[], dict[str, Any]],
        log_health: Callable[[], Any],
        drift_alerts: Callable[[], list[dict[str, Any]]],
        gauges: dict[str, float] | None = None,
        notifier: Any = None,
        every_s: float = 60.0,
    ) -> None:
        self.log_dirs, self.rules, self.every_s = tuple(str(d) for d in log_dirs), rules, every_s
        self._submit, self._hub_status, self._log_health = submit, hub_status, log_health
        self._drift_alerts, self._gauges, self._notifier = drift_alerts, gauges, notifier
        self._latest: list[Alert] = []
        self._operational: list[Alert] = []
        self._evaluated_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def evaluate(self, *, now: datetime | None = None, timeout: float = 120) -> list[Alert]:
        now = now or datetime.now(UTC)
        health = self._log_health()
        future = self._submit(
            evaluate_operational,
            self.log_dirs,
            now=now,
            rules=self.rules,
            hub_status=self._hub_status(),
            log_health=asdict(health) if is_dataclass(health) else health,
        )
        operational = future.result(timeout=timeout)
        merged = merge_alerts(operational, self._drift_alerts())
        self._operational, self._latest, self._evaluated_at = operational, merged, now
        if self._gauges is not None:
            self._gauges.update(alerts_to_gauges(merged))
        if self._notifier is not None:
            self._notifier.notify(merged)
        return merged

    def latest(self) -> tuple[list[Alert], datetime | None]:
        """Operational and drift alerts merged at the last evaluation, and its time."""
        return list(self._latest), self._evaluated_at

    def operational(self) -> list[Alert]:
        return list(self._operational)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.evaluate()
            except Exception:  # the loop must outlive any single failed evaluation
                log.exception("alert evaluation failed")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="alert-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._notifier is not None:
            self._notifier.close()
