"""Storage: a log folder that cannot be written, Hub pushes failing or overdue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any

from monitoring.alerts.model import Alert
from monitoring.alerts.rules import AlertRules


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return asdict(obj).get(name) if is_dataclass(obj) else getattr(obj, name, None)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def detect_storage(
    *, now: datetime, rules: AlertRules, hub_status: Mapping[str, Any] | None = None, log_health: Any = None
) -> list[Alert]:
    """Hub pushes failing or overdue, and a log folder that cannot be written."""
    alerts = []
    if _get(log_health, "writable") is False:
        error = _get(log_health, "last_error") or "the write probe failed"
        alerts.append(
            Alert(
                key="storage:log",
                kind="storage",
                severity="critical",
                subject=str(_get(log_health, "directory")),
                title=f"Prediction log folder {_get(log_health, 'directory')} is not writable ({error})",
                since=_parse_time(_get(log_health, "last_error_at")) or now,
                check="Disk full, read-only mount or permissions; "
                "with LOG_WRITE_POLICY=refuse every score answers 503.",
            )
        )
    hub = _hub_alert(hub_status or {}, now=now, rules=rules)
    return alerts + ([hub] if hub else [])


def _hub_alert(status: Mapping[str, Any], *, now: datetime, rules: AlertRules) -> Alert | None:
    if not status.get("enabled"):
        return None
    every = float(status.get("every_min") or 0)
    last_ok = _parse_time(status.get("last_push_at"))
    attempt = _parse_time(status.get("last_attempt_at"))
    failing = status.get("last_push_ok") is False
    age = (now - last_ok).total_seconds() / 60 if last_ok else None
    overdue = every > 0 and age is not None and age > rules.hub_overdue_factor * every
    if not (failing or overdue):
        return None
    error = status.get("last_error") or "no error recorded"
    state = f"failing ({status.get('failures', 0)} failures, last: {error})" if failing else "not running on time"
    ago = f"{age:.0f} min ago" if age is not None else "never"
    return Alert(
        key="storage:hub",
        kind="storage",
        severity="critical" if overdue else "warning",
        subject=str(status.get("repo_id") or "hub"),
        title=f"Hub pushes of the prediction log {state}; last successful push {ago}, expected every {every:g} min",
        since=last_ok or attempt or now,
        observed=age,
        baseline=every or None,
        limit=rules.hub_overdue_factor * every if every else None,
        unit="min",
        check="HF token still valid and allowed to write the dataset repo, Hub status, disk space; "
        "until a push succeeds the rows exist only on this container's disk.",
        details={"running": status.get("running"), "failures": status.get("failures")},
    )
