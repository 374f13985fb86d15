"""Operational anomaly detection over the prediction log: latency, inference time, errors, traffic, storage.

Every detector is a pure function of the log frames, `now` and `AlertRules`; nothing here keeps state,
so the Monitoring tab, the report and the /metrics refresher can all call `detect_operational` and get
the same answer. The statistics are deliberately plain, so an alert explains itself:

- the *current window* is [now - rules.window, now);
- its *baseline* is the same statistic over comparable earlier windows: the `baseline_windows` windows
  of the same length just before it (latency, errors), or the same clock hours of earlier days of the
  same kind, open or closed (traffic);
- "far from normal" = at least `far_ratio` (or `error_ratio`, `traffic_ratio`) times the baseline median
  AND a robust z-score of at least `far_z`, where z = (x - median) / (1.4826 * MAD). The scale has a
  floor (10 % of the median, and a unit floor) so a perfectly regular history does not turn a
  1 ms wobble into an incident.

Batch channels (rest_batch, gradio_batch) are left out of latency and inference judgements: a batch
row's `latency_ms` is the time since the *batch* started, so it grows with the row's index and says
nothing about one request; its `inference_ms` is a share of a vectorised call. Batches still count
in error rates (one rejected row is one rejected application) and as one request each in traffic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from scoring.errors import SERVER_KINDS

Kind = Literal["latency", "inference", "errors", "traffic", "storage", "drift"]
Severity = Literal["info", "warning", "critical"]
KINDS: tuple[Kind, ...] = ("latency", "inference", "errors", "traffic", "storage", "drift")
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
BATCH_CHANNELS = frozenset({"rest_batch", "gradio_batch"})
# Server-side refusals: the request was fine, we were not. Everything else in the rejection log is the
# client's doing (validation, auth, size), which is why the two are judged separately.
SERVER_ERROR_KINDS = frozenset(SERVER_KINDS)
_MAD_TO_SIGMA = 1.4826  # makes the MAD comparable to a standard deviation for normal data


# ---------------------------------------------------------------------------------------------- model


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


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Thresholds. Defaults are the service's SLO and what proved quiet on a normal week of traffic."""

    window: timedelta = timedelta(minutes=15)
    baseline_windows: int = 24  # earlier windows of the same length: 6 h at 15 min
    min_baseline_windows: int = 4  # fewer usable earlier windows: judge absolute limits only
    min_requests: int = 20  # below this a window's percentiles and rates are noise
    far_ratio: float = 1.5
    far_z: float = 4.0
    # latency: judged per channel, over single-application requests only
    latency_channels: tuple[str, ...] = ("rest", "gradio_api", "mcp")
    slo_p95_ms: float = 50.0
    slo_p99_ms: float = 200.0
    # inference: median of the new model version against the previous one
    inference_ratio: float = 1.5
    inference_min_delta_ms: float = 2.0  # 0.3 -> 0.6 ms is "2x" and irrelevant
    # rejected requests
    error_min_count: int = 10
    error_min_rate: float = 0.05
    error_ratio: float = 3.0
    error_critical_rate: float = 0.5
    server_error_min_count: int = 3
    server_error_rate: float = 0.01
    # traffic against the same hours of earlier days
    traffic_lookback_days: int = 7  # a week: 5 comparable weekdays, and only 8 days of log to read
    traffic_min_days: int = 3
    traffic_min_expected: int = 20
    traffic_ratio: float = 3.0
    # opening hours: no traffic for idle_minutes while open is an incident (0 disables)
    timezone: str = "Europe/Paris"
    opening_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    opening_start: time = time(8, 0)
    opening_end: time = time(20, 0)
    idle_minutes: float = 30.0
    # storage
    hub_overdue_factor: float = 3.0

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail at startup on a misspelt zone, not at the first evaluation
        if self.window <= timedelta(0) or self.baseline_windows < 1:
            raise ValueError("window must be positive and baseline_windows at least 1")

    @property
    def history(self) -> timedelta:
        """How much log `detect_operational` looks at: read at least this far back."""
        return max(self.window * (self.baseline_windows + 1), timedelta(days=self.traffic_lookback_days + 1))


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_opening_hours(text: str) -> tuple[tuple[int, ...], time, time]:
    """'mon-fri 08:00-20:00' (or 'mon,wed,sat 09:00-12:30') -> (days, start, end), for the settings."""
    match = re.fullmatch(r"\s*([a-z,\-]+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", text.lower())
    if not match:
        raise ValueError(f"opening hours {text!r}: expected e.g. 'mon-fri 08:00-20:00'")
    days: list[int] = []
    for part in match.group(1).split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"opening hours {text!r}: unknown day in {part!r}")
        start, stop = _DAYS.index(first), _DAYS.index(last or first)
        days += [d % 7 for d in range(start, stop + (7 if stop < start else 0) + 1)]
    opens, closes = (time.fromisoformat(t.zfill(5)) for t in match.group(2, 3))
    if closes <= opens:
        raise ValueError(f"opening hours {text!r}: closing time must be after opening time")
    return tuple(sorted(set(days))), opens, closes


# ------------------------------------------------------------------------------------------ statistics


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float  # robust sigma, floored
    windows: int

    def z(self, value: float) -> float:
        return (value - self.median) / self.scale

    def ratio(self, value: float) -> float:
        return value / self.median if self.median > 0 else math.inf


def robust_baseline(values: Iterable[float], *, floor: float, min_windows: int) -> Baseline | None:
    """Median and MAD-based sigma of earlier windows, or None when there are too few of them."""
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(data) < min_windows:
        return None
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    return Baseline(median, max(_MAD_TO_SIGMA * mad, 0.1 * median, floor), len(data))


def _far_above(value: float, base: Baseline | None, *, ratio: float, z: float) -> bool:
    return base is not None and base.ratio(value) >= ratio and base.z(value) >= z


def window_index(ts: pd.Series, *, now: datetime, width: timedelta) -> pd.Series:
    """0 for the current window [now - width, now), 1 for the one before, ...; NA for rows at/after now."""
    age = pd.Timestamp(now) - ts
    # Ages in (0, width] are window 0: a row stamped exactly now - width belongs to [now - width, now).
    index = (age - pd.Timedelta(1, "us")) // pd.Timedelta(width)
    return index.where(age > pd.Timedelta(0)).astype("Int64")


def _run_start(bad: pd.Series) -> int:
    """The oldest window of the unbroken run of bad windows that ends at the current one (index 0)."""
    bad = bad.fillna(False).astype(bool)  # a window without requests is not a bad window
    k = 0
    while bool(bad.get(k + 1, False)):
        k += 1
    return k


def _window_start(now: datetime, width: timedelta, k: int) -> datetime:
    return now - width * (k + 1)


def _first_ts(ts: pd.Series) -> datetime | None:
    return None if ts.empty else ts.min().to_pydatetime()


# -------------------------------------------------------------------------------------------- latency


def _interactive(predictions: pd.DataFrame, *, start: datetime | None = None) -> pd.DataFrame:
    """Single-application rows from `start` on, only the columns the detectors read (the log has 130)."""
    keep = ~predictions["channel"].isin(BATCH_CHANNELS) & predictions["batch_id"].isna()
    if start is not None:
        keep &= predictions["ts"] >= pd.Timestamp(start)
    columns = ["ts", "channel", "model_version", "latency_ms", "inference_ms"]
    return predictions.loc[keep, columns].astype({"channel": "string"})


def detect_latency(predictions: pd.DataFrame, *, now: datetime, rules: AlertRules) -> list[Alert]:
    """Per interactive channel: p95/p99 above the SLO (critical), or p95 far above its baseline (warning)."""
    rows = _interactive(predictions, start=now - rules.window * (rules.baseline_windows + 1))
    rows = rows[rows["channel"].isin(rules.latency_channels)]
    frame = pd.DataFrame(
        {
            "channel": rows["channel"],
            "ms": rows["latency_ms"],
            "ts": rows["ts"],
            "w": window_index(rows["ts"], now=now, width=rules.window),
        }
    )
    frame = frame[frame["w"].notna() & (frame["w"] <= rules.baseline_windows)]
    return [a for channel, part in frame.groupby("channel") if (a := _latency_alert(str(channel), part, now, rules))]


def _latency_alert(channel: str, part: pd.DataFrame, now: datetime, rules: AlertRules) -> Alert | None:
    stats = part.groupby("w")["ms"].agg(n="size", p95=lambda s: s.quantile(0.95), p99=lambda s: s.quantile(0.99))
    stats = stats[stats["n"] >= rules.min_requests]
    if 0 not in stats.index:
        return None
    p95, p99 = float(stats.at[0, "p95"]), float(stats.at[0, "p99"])
    base = robust_baseline(stats.loc[stats.index > 0, "p95"], floor=1.0, min_windows=rules.min_baseline_windows)
    breach = _latency_breach(p95, p99, base, rules)
    if breach is None:
        return None
    which, value, limit, severity = breach
    if severity == "critical":
        title = f"{channel}: latency {which} {value:.0f} ms breaks the {limit:.0f} ms SLO"
    else:
        title = f"{channel}: latency p95 {p95:.1f} ms, far above its recent baseline (within SLO)"
    k = _run_start(stats[which] > limit)
    window_rows = part[part["w"] == k]
    since = _first_ts(window_rows.loc[window_rows["ms"] > limit, "ts"]) or _window_start(now, rules.window, k)
    return Alert(
        key=f"latency:{channel}",
        kind="latency",
        severity=severity,
        title=title,
        since=since,
        observed=value,
        baseline=None if base is None else base.median,
        limit=limit,
        ratio=base.ratio(value) if base else value / limit,
        z=base.z(value) if base else None,
        unit="ms",
        subject=channel,
        details={
            "p95_ms": p95,
            "p99_ms": p99,
            "requests": int(stats.at[0, "n"]),
            "baseline_windows": 0 if base is None else base.windows,
        },
        check=f"Compare latency_ms with inference_ms on {channel}: if inference is flat the time goes "
        "elsewhere (CPU shared with batch or drift jobs, Gradio queue, log disk); if both rose, "
        "see the model version and the inference alert.",
    )


def _latency_breach(
    p95: float, p99: float, base: Baseline | None, rules: AlertRules
) -> tuple[str, float, float, Severity] | None:
    """(percentile, value, limit crossed, severity): a broken SLO is critical, a drift within it a warning."""
    if p95 > rules.slo_p95_ms:
        return "p95", p95, rules.slo_p95_ms, "critical"
    if p99 > rules.slo_p99_ms:
        return "p99", p99, rules.slo_p99_ms, "critical"
    if base is not None and _far_above(p95, base, ratio=rules.far_ratio, z=rules.far_z):
        return "p95", p95, max(base.median * rules.far_ratio, base.median + rules.far_z * base.scale), "warning"
    return None


# ------------------------------------------------------------------------------------------ inference


def detect_inference(predictions: pd.DataFrame, *, now: datetime, rules: AlertRules) -> list[Alert]:
    """The model version now serving against the one before it: median inference time per version."""
    rows = _interactive(predictions)
    rows = rows[(rows["ts"] < pd.Timestamp(now)) & rows["inference_ms"].notna()]
    if rows.empty:
        return []
    per = rows.groupby("model_version").agg(first=("ts", "min"), n=("ts", "size"), median=("inference_ms", "median"))
    current = str(rows.at[rows["ts"].idxmax(), "model_version"])  # the version serving now
    earlier = per[per["first"] < per.at[current, "first"]].sort_values("first")
    if earlier.empty:
        return []
    previous = str(earlier.index[-1])
    new, old = per.loc[current], per.loc[previous]
    if min(new["n"], old["n"]) < rules.min_requests:
        return []
    ratio = new["median"] / old["median"] if old["median"] > 0 else math.inf
    if ratio < rules.inference_ratio or new["median"] - old["median"] < rules.inference_min_delta_ms:
        return []
    return [
        Alert(
            key=f"inference:{current}",
            kind="inference",
            severity="warning",
            title=f"Model {current}: median inference {new['median']:.1f} ms, up from {old['median']:.1f} ms "
            f"with {previous}",
            since=new["first"].to_pydatetime(),
            observed=float(new["median"]),
            baseline=float(old["median"]),
            limit=float(old["median"]) * rules.inference_ratio,
            ratio=float(ratio),
            unit="ms",
            subject=current,
            details={"previous_version": previous, "rows_new": int(new["n"]), "rows_previous": int(old["n"])},
            check=f"Compare {current} with {previous}: number of trees and leaves, feature count, threads "
            "(LightGBM num_threads on 2 shared cores), explanations enabled by default.",
        )
    ]


# --------------------------------------------------------------------------------------------- errors

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
    if base is not None and not _far_above(rate, base, ratio=rules.error_ratio, z=rules.far_z):
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
    k = _run_start(bad)
    channels = part.loc[part["w"] == 0, "channel"].value_counts()
    return Alert(
        key=key,
        kind="errors",
        severity=severity,
        title=title,
        check=check,
        since=_first_ts(part.loc[part["w"] == k, "ts"]),
        observed=rate,
        baseline=None if base is None else base.median,
        limit=limit,
        ratio=base.ratio(rate) if base else rate / limit,
        z=base.z(rate) if base else None,
        unit="%",
        subject=subject,
        details={
            "rejected": int((part["w"] == 0).sum()),
            "requests": int(totals[0]),
            "channels": {str(c): int(n) for c, n in channels.items() if n},
        },
    )


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


# -------------------------------------------------------------------------------------------- traffic


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
    surge = current >= rules.traffic_min_expected and _far_above(
        current, base, ratio=rules.traffic_ratio, z=rules.far_z
    )
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


# -------------------------------------------------------------------------------------------- storage


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


# ----------------------------------------------------------------------------------------- assembling


def _order(alerts: Iterable[Alert]) -> list[Alert]:
    """Newest first; at equal times the most severe first."""
    earliest = datetime.min.replace(tzinfo=UTC)
    by_severity = sorted(alerts, key=lambda a: SEVERITY_RANK[a.severity])
    return sorted(by_severity, key=lambda a: a.since or earliest, reverse=True)


def detect_operational(
    log_data: Any,
    *,
    now: datetime,
    rules: AlertRules | None = None,
    hub_status: Mapping[str, Any] | None = None,
    log_health: Any = None,
) -> list[Alert]:
    """Every operational alert at `now`, newest first. `log_data` is a `read_log` result covering `rules.history`."""
    rules = rules or AlertRules()
    now = now.astimezone(UTC)
    idle = detect_idle(log_data, now=now, rules=rules)
    traffic = detect_traffic(log_data, now=now, rules=rules)
    if idle:  # "no traffic at all" already says everything a drop would
        traffic = [a for a in traffic if a.key != "traffic:drop"]
    return _order(
        [
            *detect_latency(log_data.predictions, now=now, rules=rules),
            *detect_inference(log_data.predictions, now=now, rules=rules),
            *detect_errors(log_data, now=now, rules=rules),
            *traffic,
            *idle,
            *detect_storage(now=now, rules=rules, hub_status=hub_status, log_health=log_health),
        ]
    )


_DRIFT_SEVERITY: dict[str, Severity] = {
    "high": "critical",
    "medium": "warning",
    "low": "info",
    "critical": "critical",
    "warning": "warning",
    "info": "info",
}


def drift_alert(raw: Mapping[str, Any]) -> Alert:
    """Wrap one alert dict of the drift analysis (at least `message` and `severity`)."""
    feature, method = str(raw.get("feature") or ""), str(raw.get("method") or "")
    chunks = list(raw.get("chunks") or [])
    threshold = raw.get("threshold")
    return Alert(
        key=":".join(["drift", str(raw.get("kind") or "drift"), feature or "*", method or "*"]),
        kind="drift",
        severity=_DRIFT_SEVERITY.get(str(raw.get("severity")).lower(), "warning"),
        title=str(raw["message"]),
        since=_chunk_time(chunks[0]) if chunks else None,
        limit=None if threshold is None else float(threshold),
        subject=feature,
        source="drift",
        details={"method": method, "chunks": chunks},
        check=str(
            raw.get("check")
            or "Open the Monitoring tab: the feature's distribution per chunk against the "
            "reference, then the data source of the clients sending it."
        ),
    )


def _chunk_time(key: Any) -> datetime | None:
    """Start of a period chunk ("2025-03-12", "2025-03-12 14:00"); numbered chunks ("#3") carry no time."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", str(key)):
        return None
    return datetime.fromisoformat(str(key)).replace(tzinfo=UTC)


def merge_alerts(operational: Sequence[Alert], drift: Sequence[Mapping[str, Any] | Alert]) -> list[Alert]:
    """One list for the Alerts panel: most severe first, then newest first."""
    wrapped = [d if isinstance(d, Alert) else drift_alert(d) for d in drift]
    return sorted(_order([*operational, *wrapped]), key=lambda a: SEVERITY_RANK[a.severity])


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
