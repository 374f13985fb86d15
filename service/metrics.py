"""The service's Prometheus metrics, kept with `prometheus_client`: request latency, predictions by decision,
errors by kind, refused logins by door, the gauges other parts set, and the process's CPU, memory and files.

`prometheus_client` replaced a hand-written registry once measured on the scoring path: with each label
set's child looked up once and kept, a scored request pays ~3 µs more than before, against ~400 µs
of server time (docs/optimization.md). Every metric name and label stays what the docs and alerts use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)

prometheus_client.disable_created_metrics()  # no `_created` series: nothing here reads them


class _Gauges(Collector):
    """The `gauges` dict, one gauge per entry, read at each scrape (the janitor, the fast path, the alerts)."""

    def __init__(self, values: dict[str, float]) -> None:
        self._values = values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in sorted(self._values.items()):
            yield GaugeMetricFamily(name, name.replace("_", " "), value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._latency = Histogram(
            "scoring_request_latency_ms",
            "Server-side latency of scoring requests, in milliseconds.",
            ["channel"],
            buckets=LATENCY_BUCKETS_MS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "scoring_predictions_total",
            "Scored applications by channel and decision.",
            ["channel", "decision"],
            registry=self.registry,
        )
        self._errors = Counter(
            "scoring_errors_total",
            "Rejected or failed requests by channel and kind.",
            ["channel", "kind"],
            registry=self.registry,
        )
        self._unauthenticated = Counter(
            "scoring_unauthenticated_total",
            "Requests refused for a missing or wrong secret, by door.",
            ["door"],
            registry=self.registry,
        )
        self._shadow = Counter(
            "scoring_shadow_rows_total",
            "Predictions handed to the shadow challenger: scored, dropped (queue full, shutdown) or failed.",
            ["outcome"],
            registry=self.registry,
        )
        self.gauges: dict[str, float] = {}
        self.registry.register(_Gauges(self.gauges))
        ProcessCollector(registry=self.registry)
        self._children: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def _child(self, metric: Any, *labels: str) -> Any:
        # labels() costs ~3 µs (a lock, a dict, a tuple); the cached child makes an observation ~1 µs
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children[key] = metric.labels(*labels)
        return child

    def observe_latency(self, channel: str, ms: float) -> None:
        self._child(self._latency, channel).observe(ms)

    def count_prediction(self, channel: str, decision: str, n: int = 1) -> None:
        if n:
            self._child(self._predictions, channel, decision).inc(n)

    def count_error(self, channel: str, kind: str) -> None:
        self._child(self._errors, channel, kind).inc()

    def count_shadow(self, outcome: str, rows: int = 1) -> None:
        """Rows the challenger scored, dropped or failed on (service/shadow.py); never a request's error."""
        self._child(self._shadow, outcome).inc(rows)

    def count_unauthenticated(self, door: str) -> None:
        """A request refused for a missing or wrong secret (its log row is sampled, this count is not)."""
        self._child(self._unauthenticated, door).inc()

    def predictions_total(self) -> int:
        return int(sum(s.value for m in self._predictions.collect() for s in m.samples if s.name.endswith("_total")))

    def render(self) -> str:
        return generate_latest(self.registry).decode()
