"""Rejected requests: server-side failures, waves of one client error on one field, spread-out rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts.model import Alert, Severity
from monitoring.alerts.rules import AlertRules
from monitoring.alerts.stats import (
    Baseline,
    compared,
    far_above,
    first_ts,
    robust_baseline,
    run_start,
    window_index,
)
from scoring.errors import SERVER_KINDS

# Server-side refusals: the request was fine, we were not. Everything else in the rejection log is the
# client's doing (validation, auth, size), which is why the two are judged separately.
SERVER_ERROR_KINDS = frozenset(SERVER_KINDS)

_CHECKS = {
    "wrong_type": "a client now sends {field} with another type (text for a number, a list...)",
    "unknown_field": "a client now sends a field named {field} that the API does not know (renamed field?)",
    "missing_field": "a client stopped sending {field} (renamed or dropped in its export)",
    "unknown_category": "a client sends a new label in {field} (new product, recoded category)",
    "out_of_range": "a client sends {field} in another unit or scale (cents, months, negative days)",
    "auth": "a client's API token is missing, expired or was rotated",
    "too_large": "a client sends bigger bodies than the limit (batch through the single endpoint?)",
    "batch_too_large": "a client sends batches above the row limit",
    "invalid_json": "a client sends bodies that are not JSON (wrong content, truncated uploads)",
    "empty_body": "a client sends empty bodies (a broken export or a health probe on the scoring route)",
    "wrong_content_type": "a client sends another content type than application/json (form posts, CSV)",
    "not_an_object": "a client sends a list or a scalar instead of one application object",
}


def _is_server(rejections: pd.DataFrame) -> pd.Series:
    status = rejections["http_status"].astype("Float64").fillna(0)
    return (status >= 500) | rejections["error_kind"].isin(SERVER_ERROR_KINDS)


def _error_frame(log: Any, now: datetime, rules: AlertRules) -> tuple[pd.DataFrame, pd.Series]:
    """Rejections with their window, and the number of requests (scored + rejected rows) per window."""
    rej, pred = log.rejections, log.predictions
    rej = rej.assign(
        w=window_index(rej["ts"], now=now, width=rules.window),
        server=_is_server(rej),
        field=rej["field"].fillna("-"),
        channel=rej["channel"].astype("string"),
    )
    rej = rej[rej["w"].notna() & (rej["w"] <= rules.baseline_windows)]
    pw = window_index(pred["ts"], now=now, width=rules.window)
    total = pd.concat([pw[pw.notna() & (pw <= rules.baseline_windows)], rej["w"]]).value_counts()
    return rej, total.reindex(range(rules.baseline_windows + 1), fill_value=0)


def _rate_spike(
    counts: pd.Series, totals: pd.Series, *, min_count: int, min_rate: float, rules: AlertRules
) -> tuple[Baseline | None, float] | None:
    """(baseline, rate) when the current window's share of requests is a spike, else None."""
    count, total = int(counts.get(0, 0)), int(totals.get(0, 0))
    if count < min_count or total == 0 or count / total < min_rate:
        return None
    rates = (counts.reindex(totals.index, fill_value=0) / totals)[(totals >= rules.min_requests) & (totals.index > 0)]
    base = robust_baseline(rates, floor=0.01, min_windows=rules.min_baseline_windows)
    rate = count / total
    if base is not None and not far_above(rate, base, ratio=rules.error_ratio, z=rules.far_z):
        return None
    return base, rate


def _rejection_alert(
    part: pd.DataFrame,
    totals: pd.Series,
    spike: tuple[Baseline | None, float],
    *,
    key: str,
    subject: str,
    title: str,
    check: str,
    severity: Severity,
    rules: AlertRules,
) -> Alert:
    base, rate = spike
    limit = max(rules.error_min_rate, 0.0 if base is None else base.median * rules.error_ratio)
    bad = (part.groupby("w").size().reindex(totals.index, fill_value=0) / totals.replace(0, np.nan)) >= limit
    k = run_start(bad)
    channels = part.loc[part["w"] == 0, "channel"].value_counts()
    return Alert(
        key=key,
        kind="errors",
        severity=severity,
        title=title,
        check=check,
        since=first_ts(part.loc[part["w"] == k, "ts"]),
        **compared(rate, base, limit=limit),
        unit="%",
        subject=subject,
        details={
            "rejected": int((part["w"] == 0).sum()),
            "requests": int(totals[0]),
            "channels": {str(c): int(n) for c, n in channels.items() if n},
        },
    )


# Unauthenticated traffic is anyone's to send (a scanner, a stale client): it pages only once it has lasted
# this many windows in a row, not on one burst. Its log rows are sampled at the door anyway.
PERSISTENT_ONLY = {"auth": 3}


def _persists(part: pd.DataFrame, totals: pd.Series, *, windows: int, rules: AlertRules) -> bool:
    """Whether the rejections of `part` were above the wave rate in each of the last `windows` windows."""
    span = range(windows)
    rates = part.groupby("w").size().reindex(span, fill_value=0) / totals.reindex(span).replace(0, np.nan)
    return bool((rates.fillna(0) >= rules.error_min_rate).all())


def _wave_title(kind: str, fld: str, rate: float) -> str:
    if fld == "-":  # errors about the request as a whole (auth, size, JSON) name no field
        return f"Wave of {kind}: {rate:.1%} of requests rejected with the same error"
    return (
        f"Wave of {kind} on {fld}: {rate:.1%} of requests rejected with the same error on the same field"
        " - a client has probably changed its format"
    )


def _wave_check(kind: str, fld: str) -> str:
    cause = _CHECKS.get(kind, "a client changed what it sends in {field}").format(field=fld)
    return (
        f"{cause[:1].upper()}{cause[1:]}; find the caller in the access log and compare its payload with "
        "the API schema (/docs)."
    )


def detect_errors(log: Any, *, now: datetime, rules: AlertRules) -> list[Alert]:
    """Server errors, then waves of one (kind, field) pair; a general rejection spike only if no wave explains it."""
    rej, totals = _error_frame(log, now, rules)
    alerts, waves = [], []
    server = rej[rej["server"]]
    spike = _rate_spike(
        server.groupby("w").size(),
        totals,
        min_count=rules.server_error_min_count,
        min_rate=rules.server_error_rate,
        rules=rules,
    )
    if spike:
        kinds = ", ".join(f"{k} x{n}" for k, n in server.loc[server["w"] == 0, "error_kind"].value_counts().items())
        alerts.append(
            _rejection_alert(
                server,
                totals,
                spike,
                key="errors:server",
                subject="server",
                severity="critical",
                rules=rules,
                title=f"Server-side failures: {spike[1]:.1%} of requests refused by us ({kinds})",
                check="Log folder writable and disk not full (log_write_failed / 503), /readyz, the service log.",
            )
        )
    client = rej[~rej["server"]]
    for (kind, fld), part in client.groupby(["error_kind", "field"]):
        spike = _rate_spike(
            part.groupby("w").size(),
            totals,
            min_count=rules.error_min_count,
            min_rate=rules.error_min_rate,
            rules=rules,
        )
        if spike and kind in PERSISTENT_ONLY:
            spike = spike if _persists(part, totals, windows=PERSISTENT_ONLY[str(kind)], rules=rules) else None
        if spike:
            waves.append(
                _rejection_alert(
                    part,
                    totals,
                    spike,
                    key=f"errors:{kind}:{fld}",
                    subject=str(fld),
                    rules=rules,
                    severity="critical" if spike[1] >= rules.error_critical_rate else "warning",
                    title=_wave_title(str(kind), str(fld), spike[1]),
                    check=_wave_check(str(kind), str(fld)),
                )
            )
    client = client[~client["error_kind"].isin(list(PERSISTENT_ONLY))]  # judged by their own wave only
    spike = _rate_spike(
        client.groupby("w").size(), totals, min_count=rules.error_min_count, min_rate=rules.error_min_rate, rules=rules
    )
    if spike and not waves:
        top = client[client["w"] == 0].groupby(["error_kind", "field"]).size().nlargest(3)
        spread = ", ".join(f"{k} on {f} x{n}" for (k, f), n in top.items())
        alerts.append(
            _rejection_alert(
                client,
                totals,
                spike,
                key="errors:rejected",
                subject="rejected",
                rules=rules,
                severity="critical" if spike[1] >= rules.error_critical_rate else "warning",
                title=f"Rejected requests at {spike[1]:.1%}, spread over several errors ({spread})",
                check="Several fields at once: a new client or a broken export; look at the channels and request ids.",
            )
        )
    return alerts + waves
