"""Every operational alert at a moment, and the one list (with the drift alerts) for panel, gauges, webhook."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from monitoring.alerts.drift import drift_alert
from monitoring.alerts.errors import detect_errors
from monitoring.alerts.latency import detect_inference, detect_latency
from monitoring.alerts.model import KINDS, SEVERITY_RANK, Alert, order_alerts
from monitoring.alerts.rules import AlertRules
from monitoring.alerts.storage import detect_storage
from monitoring.alerts.traffic import detect_idle, detect_traffic

# The prediction columns the detectors below read (latency.py, traffic.py, errors.py): the watch reads only these.
OPERATIONAL_COLUMNS = ("ts", "channel", "model_version", "latency_ms", "inference_ms", "batch_id")


def detect_operational(
    log_data: Any,
    *,
    now: datetime,
    rules: AlertRules,
    hub_status: Mapping[str, Any] | None = None,
    log_health: Any = None,
) -> list[Alert]:
    """Every operational alert at `now`, newest first. `log_data` is a `read_log` result covering `rules.history`."""
    now = now.astimezone(UTC)
    idle = detect_idle(log_data, now=now, rules=rules)
    traffic = detect_traffic(log_data, now=now, rules=rules)
    if idle:  # "no traffic at all" already says everything a drop would
        traffic = [a for a in traffic if a.key != "traffic:drop"]
    return order_alerts(
        [
            *detect_latency(log_data.predictions, now=now, rules=rules),
            *detect_inference(log_data.predictions, now=now, rules=rules),
            *detect_errors(log_data, now=now, rules=rules),
            *traffic,
            *idle,
            *detect_storage(now=now, rules=rules, hub_status=hub_status, log_health=log_health),
        ]
    )


def merge_alerts(operational: Sequence[Alert], drift: Sequence[Mapping[str, Any] | Alert]) -> list[Alert]:
    """One list for the Alerts panel: most severe first, then newest first."""
    wrapped = [d if isinstance(d, Alert) else drift_alert(d) for d in drift]
    return sorted(order_alerts([*operational, *wrapped]), key=lambda a: SEVERITY_RANK[a.severity])


def alerts_to_gauges(alerts: Iterable[Alert]) -> dict[str, float]:
    """Gauges for /metrics, label-free (the renderer prints `name value`); every name is always present.

    Info alerts (e.g. "not enough history") are notes, not incidents: they are not counted.
    """
    active = [a for a in alerts if a.severity != "info"]
    gauges = {
        "scoring_alerts_active": float(len(active)),
        "scoring_alerts_critical": float(sum(a.severity == "critical" for a in active)),
    }
    gauges |= {f"scoring_alerts_{kind}": float(sum(a.kind == kind for a in active)) for kind in KINDS}
    return gauges
