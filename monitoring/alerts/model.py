"""The alert model and the one severity vocabulary, shared by operational and drift alerts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

Kind = Literal["latency", "inference", "errors", "traffic", "storage", "drift"]
Severity = Literal["info", "warning", "critical"]
KINDS: tuple[Kind, ...] = ("latency", "inference", "errors", "traffic", "storage", "drift")
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Alert:
    """One anomaly: what, since when, how far from normal, what to check.

    `key` is stable across evaluations of the same incident ("latency:rest", "errors:wrong_type:AMT_CREDIT"),
    so a notifier can send one message per incident rather than one per refresh.
    """

    key: str
    kind: Kind
    severity: Severity
    title: str
    check: str
    since: datetime | None = None
    observed: float | None = None
    baseline: float | None = None  # the normal value (median of the comparable windows)
    limit: float | None = None  # the threshold that was crossed (SLO or baseline-derived)
    ratio: float | None = None  # observed / baseline, or observed / limit without a baseline
    z: float | None = None  # robust z-score against the baseline
    unit: str = ""
    subject: str = ""  # the channel, field or feature concerned
    source: Literal["operational", "drift"] = "operational"
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """One self-contained line for a panel, a log or a chat message."""
        facts = [f"since {self.since:%Y-%m-%d %H:%M} UTC"] if self.since else []
        facts += _how_far(self)
        text = "; ".join(facts)
        return f"{self.title}." + (f" {text[:1].upper()}{text[1:]}." if text else "") + f" Check: {self.check}"

    def as_dict(self) -> dict[str, Any]:
        out = {name: _finite(getattr(self, name)) for name in self.__slots__ if name != "details"}
        out["since"] = None if self.since is None else self.since.astimezone(UTC).isoformat()
        out["details"] = dict(self.details)
        # `feature` lets the report's alerts table (severity/kind/feature/message) show both sources.
        out.update(message=self.message, feature=self.subject)
        return out


def _finite(value: Any) -> Any:
    """JSON has no Infinity: a ratio against a zero baseline is reported as null (the text says it)."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _num(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1%}"
    return f"{value:.0f}{unit}" if abs(value) >= 100 else f"{value:.3g}{unit}"


def _how_far(alert: Alert) -> list[str]:
    unit = alert.unit
    shown = "%" if unit == "%" else (f" {unit}" if unit else "")
    parts = []
    if alert.observed is not None:
        parts.append(f"observed {_num(alert.observed, shown)}")
    if alert.baseline is not None:
        parts.append(f"normal {_num(alert.baseline, shown)}")
    if alert.limit is not None:
        parts.append(f"limit {_num(alert.limit, shown)}")
    if alert.ratio is not None and math.isfinite(alert.ratio):
        parts.append(f"{alert.ratio:.1f}x " + ("normal" if alert.baseline else "the limit"))
    if alert.z is not None and math.isfinite(alert.z):
        parts.append(f"robust z {alert.z:+.1f}")
    return [", ".join(parts)] if parts else []


def order_alerts(alerts: Iterable[Alert]) -> list[Alert]:
    """Newest first; at equal times the most severe first."""
    earliest = datetime.min.replace(tzinfo=UTC)
    by_severity = sorted(alerts, key=lambda a: SEVERITY_RANK[a.severity])
    return sorted(by_severity, key=lambda a: a.since or earliest, reverse=True)
