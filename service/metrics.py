"""A small Prometheus text-format registry: request latency, predictions by decision, errors by kind.

Hand-written rather than a dependency: three metric families, no labels beyond one or two, and it
must cost well under a microsecond per observation on the scoring path.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter

LATENCY_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: Counter[str] = Counter()
        self._predictions: Counter[tuple[str, str]] = Counter()
        self._errors: Counter[tuple[str, str]] = Counter()
        self._unauthenticated: Counter[str] = Counter()
        self.gauges: dict[str, float] = {}

    def observe_latency(self, channel: str, ms: float) -> None:
        with self._lock:
            buckets = self._latency.setdefault(channel, [0] * (len(LATENCY_BUCKETS_MS) + 1))
            buckets[bisect.bisect_left(LATENCY_BUCKETS_MS, ms)] += 1
            self._latency_sum[channel] += ms

    def count_prediction(self, channel: str, decision: str) -> None:
        with self._lock:
            self._predictions[(channel, decision)] += 1

    def count_error(self, channel: str, kind: str) -> None:
        with self._lock:
            self._errors[(channel, kind)] += 1

    def count_unauthenticated(self, door: str) -> None:
        """A request refused for a missing or wrong secret (its log row is sampled, this count is not)."""
        with self._lock:
            self._unauthenticated[door] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP scoring_request_latency_ms Server-side latency of scoring requests, in milliseconds.",
                "# TYPE scoring_request_latency_ms histogram",
            ]
            for channel, buckets in sorted(self._latency.items()):
                cumulative = 0
                for bound, count in zip((*LATENCY_BUCKETS_MS, "+Inf"), buckets, strict=True):
                    cumulative += count
                    lines.append(f'scoring_request_latency_ms_bucket{{channel="{channel}",le="{bound}"}} {cumulative}')
                lines.append(f'scoring_request_latency_ms_sum{{channel="{channel}"}} {self._latency_sum[channel]:.3f}')
                lines.append(f'scoring_request_latency_ms_count{{channel="{channel}"}} {cumulative}')
            lines += [
                "# HELP scoring_predictions_total Scored applications by channel and decision.",
                "# TYPE scoring_predictions_total counter",
            ]
            lines += [
                f'scoring_predictions_total{{channel="{c}",decision="{d}"}} {n}'
                for (c, d), n in sorted(self._predictions.items())
            ]
            lines += [
                "# HELP scoring_errors_total Rejected or failed requests by channel and kind.",
                "# TYPE scoring_errors_total counter",
            ]
            lines += [
                f'scoring_errors_total{{channel="{c}",kind="{k}"}} {n}' for (c, k), n in sorted(self._errors.items())
            ]
            lines += [
                "# HELP scoring_unauthenticated_total Requests refused for a missing or wrong secret, by door.",
                "# TYPE scoring_unauthenticated_total counter",
            ]
            lines += [
                f'scoring_unauthenticated_total{{door="{d}"}} {n}' for d, n in sorted(self._unauthenticated.items())
            ]
            for name, value in sorted(self.gauges.items()):
                lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"
