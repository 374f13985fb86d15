"""Latency (per interactive channel, against the SLO and its baseline) and inference time (per model version)."""

from __future__ import annotations

import math
from datetime import datetime

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
    window_start,
)

BATCH_CHANNELS = frozenset({"rest_batch", "gradio_batch"})


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
    k = run_start(stats[which] > limit)
    window_rows = part[part["w"] == k]
    since = first_ts(window_rows.loc[window_rows["ms"] > limit, "ts"]) or window_start(now, rules.window, k)
    return Alert(
        key=f"latency:{channel}",
        kind="latency",
        severity=severity,
        title=title,
        since=since,
        **compared(value, base, limit=limit),
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
    if base is not None and far_above(p95, base, ratio=rules.far_ratio, z=rules.far_z):
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
