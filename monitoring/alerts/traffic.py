"""Traffic against the same hours of earlier days (drop, surge), and silence during opening hours."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from monitoring.alerts.model import Alert
from monitoring.alerts.rules import AlertRules
from monitoring.alerts.stats import (
    Baseline,
    far_above,
    robust_baseline,
)


def request_times(log: Any) -> pd.Series:
    """One timestamp per request: single scorings, one per batch, and rejected requests (not in-batch rows)."""
    pred, rej = log.predictions, log.rejections
    in_batch = pred["batch_id"].notna()
    single = pred.loc[~in_batch, "ts"]
    batches = pred.loc[in_batch, ["batch_id", "ts"]].groupby("batch_id")["ts"].min()
    refused = rej.loc[rej["http_status"].notna(), "ts"]
    parts = [s for s in (single, batches, refused) if len(s)]
    return pd.concat(parts, ignore_index=True).sort_values() if parts else pd.Series([], dtype="datetime64[us, UTC]")


def _is_open(moment: datetime, rules: AlertRules) -> bool:
    local = moment.astimezone(ZoneInfo(rules.timezone))
    return local.weekday() in rules.opening_days and rules.opening_start <= local.time() < rules.opening_end


def _same_hours_before(now: datetime, rules: AlertRules) -> list[tuple[datetime, datetime]]:
    """The current window's clock hours on earlier days of the same kind (open day or closed day)."""
    local = now.astimezone(ZoneInfo(rules.timezone))
    open_today = local.weekday() in rules.opening_days
    out = []
    for days in range(1, rules.traffic_lookback_days + 1):
        same_clock = local - timedelta(days=days)  # aware arithmetic keeps the wall clock: DST-proof
        if (same_clock.weekday() in rules.opening_days) == open_today:
            end = same_clock.astimezone(UTC)
            out.append((end - rules.window, end))
    return out


def detect_traffic(log: Any, *, now: datetime, rules: AlertRules) -> list[Alert]:
    """Requests in the current window against the same hours of earlier days: a drop or a surge."""
    times = request_times(log)
    times = times[times < pd.Timestamp(now)]
    days = [(s, e) for s, e in _same_hours_before(now, rules) if not times.empty and times.iloc[0] <= s]
    if len(days) < rules.traffic_min_days:
        return [
            Alert(
                key="traffic:history",
                kind="traffic",
                severity="info",
                subject="traffic",
                title=f"Traffic not judged: not enough history ({len(days)} comparable days of "
                f"{rules.traffic_min_days} needed)",
                check="Nothing to do; keep the log history (Hub restore) so the comparison can start.",
            )
        ]

    def count(start: datetime, end: datetime) -> int:  # times are sorted: bisect, no full scan per day
        return int(times.searchsorted(pd.Timestamp(end)) - times.searchsorted(pd.Timestamp(start)))

    counts = [count(s, e) for s, e in days]
    current = count(now - rules.window, now)
    base = robust_baseline(counts, floor=1.0, min_windows=rules.traffic_min_days)
    if base is None:
        return []
    base = Baseline(base.median, max(base.scale, math.sqrt(base.median)), base.windows)  # Poisson noise floor
    drop = (
        base.median >= rules.traffic_min_expected
        and current * rules.traffic_ratio <= base.median
        and -base.z(current) >= rules.far_z
    )
    surge = current >= rules.traffic_min_expected and far_above(current, base, ratio=rules.traffic_ratio, z=rules.far_z)
    if not (drop or surge):
        return []
    minutes = rules.window.total_seconds() / 60
    what = "drop" if drop else "surge"
    check = (
        "Clients reaching us? DNS/ingress, an expired token (auth rejections), a partner's batch window moved."
        if drop
        else "Who sends more: channels and client_ref spread; a retry loop or a load test; capacity."
    )
    return [
        Alert(
            key=f"traffic:{what}",
            kind="traffic",
            severity="warning",
            subject="traffic",
            title=f"Traffic {what}: {current} requests in the last {minutes:.0f} min, usually {base.median:.0f} "
            f"at this time ({base.windows} comparable days)",
            since=now - rules.window,
            observed=float(current),
            baseline=base.median,
            ratio=base.ratio(current),
            z=base.z(current),
            unit="requests",
            check=check,
            details={"days_counts": counts},
        )
    ]


def detect_idle(log: Any, *, now: datetime, rules: AlertRules) -> list[Alert]:
    """No request at all for `idle_minutes` of opening hours (the time before opening does not count)."""
    if rules.idle_minutes <= 0 or not _is_open(now, rules):
        return []
    tz = ZoneInfo(rules.timezone)
    opened = datetime.combine(now.astimezone(tz).date(), rules.opening_start, tz).astimezone(UTC)
    times = pd.concat([log.predictions["ts"], log.rejections["ts"]])
    times = times[times < pd.Timestamp(now)]
    last = None if times.empty else times.max().to_pydatetime()
    quiet_from = max(last, opened) if last else opened
    idle = (now - quiet_from).total_seconds() / 60
    if idle < rules.idle_minutes:
        return []
    last_text = f"{last:%Y-%m-%d %H:%M} UTC" if last else "never"
    return [
        Alert(
            key="traffic:idle",
            kind="traffic",
            severity="critical",
            subject="traffic",
            title=f"No traffic for {idle:.0f} min during opening hours (last request: {last_text})",
            since=quiet_from,
            observed=idle,
            limit=rules.idle_minutes,
            ratio=idle / rules.idle_minutes,
            unit="min",
            check="Is the service reachable from outside (ingress, DNS, Space asleep)? "
            "Are the clients' own systems up?",
        )
    ]
