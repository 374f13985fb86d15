"""Headline numbers, time buckets and histograms of a window of logged predictions (no NannyML)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts.latency import BATCH_CHANNELS
from monitoring.drift.chunking import Chunking
from monitoring.drift.result import SCORE_COLUMN


def _percentiles(values: pd.Series, prefix: str) -> dict[str, float | None]:
    clean = pd.to_numeric(values, errors="coerce").dropna()
    return {f"{prefix}_p{q}": (round(float(np.percentile(clean, q)), 3) if len(clean) else None) for q in (50, 95, 99)}


def kpis(frame: pd.DataFrame, rejections: pd.DataFrame | None = None) -> dict[str, Any]:
    """Headline numbers of a window: volume, approvals, mean score, latency, rejected requests, versions."""
    n, rejected = len(frame), 0 if rejections is None else len(rejections)
    decisions = frame["decision"] if "decision" in frame else pd.Series(dtype=object)
    versions = frame["model_version"].dropna().unique() if "model_version" in frame else []
    out: dict[str, Any] = {
        "predictions": n,
        "rejections": rejected,
        "rejected_rate": round(rejected / (n + rejected), 4) if n + rejected else None,
        "approval_rate": round(float((decisions == "approve").mean()), 4) if len(decisions) else None,
        "mean_probability": round(float(frame[SCORE_COLUMN].mean()), 4) if n else None,
        "model_versions": sorted(map(str, versions)),
        "first_ts": frame["ts"].min().isoformat() if n else None,
        "last_ts": frame["ts"].max().isoformat() if n else None,
    }
    single = single_requests(frame)
    # latency_ms_*: single-application requests only (the SLO's subject); batch rows apart, since a batch
    # row's latency is the time since its *batch* arrived and grows with its position in the batch
    out |= _percentiles(frame.loc[single, "latency_ms"] if "latency_ms" in frame else _none(), "latency_ms")
    out |= _percentiles(frame.loc[~single, "latency_ms"] if "latency_ms" in frame else _none(), "batch_latency_ms")
    out |= _percentiles(frame["inference_ms"] if "inference_ms" in frame else _none(), "inference_ms")
    out["single_requests"], out["batch_rows"] = int(single.sum()), int((~single).sum())
    return out


def _none() -> pd.Series:
    return pd.Series(dtype=float)


def single_requests(frame: pd.DataFrame) -> pd.Series:
    """Rows that were one application per request (not a row of a batch)."""
    batch = frame["channel"].isin(BATCH_CHANNELS) if "channel" in frame else pd.Series(False, index=frame.index)
    if "batch_id" in frame:
        batch |= frame["batch_id"].notna()
    return ~batch


def timeline(
    frame: pd.DataFrame,
    chunking: Chunking,
    rejections: pd.DataFrame | None = None,
    *,
    keys: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per bucket of the chosen chunking: volume, score, approvals, latency. Period chunks give time buckets;
    row-count chunks (with `keys`, each row's chunk key) give one bucket per chunk, labelled with its span."""
    columns = [
        "start",
        "label",
        "rows",
        "mean_probability",
        "approval_rate",
        "rejections",
        "rejected_rate",
        *[f"{m}_p{q}" for m in ("latency_ms", "inference_ms") for q in (50, 95, 99)],
    ]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    by_chunk = bool(chunking.size) and keys is not None and len(keys) == len(frame)
    if by_chunk:
        bucket = pd.Series(keys, index=frame.index)
    else:
        span = frame["ts"].max() - frame["ts"].min()
        freq = chunking.period or ("h" if span <= pd.Timedelta(days=2) else "D")
        bucket = frame["ts"].dt.floor(_floor_alias(freq))
    grouped = frame.groupby(bucket, sort=not by_chunk)
    out = pd.DataFrame({"rows": grouped.size(), "mean_probability": grouped[SCORE_COLUMN].mean()})
    out["start"] = grouped["ts"].min() if by_chunk else out.index
    out["label"] = out.index if by_chunk else [_time_label(t, freq) for t in out.index]
    out["approval_rate"] = grouped["decision"].agg(lambda s: (s == "approve").mean()) if "decision" in frame else np.nan
    for column in ("latency_ms", "inference_ms"):
        values = pd.to_numeric(frame[column], errors="coerce") if column in frame else pd.Series(np.nan, frame.index)
        for q in (50, 95, 99):
            out[f"{column}_p{q}"] = values.groupby(bucket, sort=not by_chunk).quantile(q / 100)
    out["rejections"] = _rejections_per_bucket(rejections, out, by_chunk=by_chunk, freq=None if by_chunk else freq)
    out["rejected_rate"] = out["rejections"] / (out["rows"] + out["rejections"])
    return out.reset_index(drop=True)[columns]


def _time_label(start: pd.Timestamp, freq: str) -> str:
    return start.strftime("%Y-%m-%d %H:%M" if freq.lower().startswith("h") else "%Y-%m-%d")


def _rejections_per_bucket(
    rejections: pd.DataFrame | None, buckets: pd.DataFrame, *, by_chunk: bool, freq: str | None
) -> np.ndarray:
    """Rejected requests counted in the bucket whose time they fall in (a chunk's span for row-count chunks)."""
    if rejections is None or not len(rejections):
        return np.zeros(len(buckets), dtype=int)
    if by_chunk:
        starts = buckets["start"].to_numpy()
        where = np.clip(np.searchsorted(starts, rejections["ts"].to_numpy(), side="right") - 1, 0, len(starts) - 1)
        return np.bincount(where, minlength=len(starts)).astype(int)
    counted = rejections["ts"].dt.floor(_floor_alias(freq or "h")).value_counts()
    return counted.reindex(buckets.index).fillna(0).astype(int).to_numpy()


def _floor_alias(freq: str) -> str:
    # Period aliases ("D", "W") and floor aliases differ for weeks; floor by day then.
    return "D" if freq.upper().startswith("W") else freq


def histograms(frame: pd.DataFrame, reference: pd.DataFrame) -> dict[str, Any]:
    """Binned scores (production vs reference) and latencies: small, JSON-able, enough to plot."""
    edges = np.linspace(0.0, 1.0, 51)
    out: dict[str, Any] = {
        "score": {
            "edges": edges.tolist(),
            "production": np.histogram(frame[SCORE_COLUMN].dropna(), edges)[0].tolist() if len(frame) else [],
            "reference": np.histogram(reference[SCORE_COLUMN].dropna(), edges)[0].tolist(),
        },
    }
    for column in ("latency_ms", "inference_ms"):
        values = pd.to_numeric(frame[column], errors="coerce").dropna() if column in frame else pd.Series(dtype=float)
        if len(values):
            top = max(float(np.percentile(values, 99.5)), 1e-3)
            counts, bins = np.histogram(values.clip(upper=top), bins=40)
            out[column] = {"edges": bins.tolist(), "counts": counts.tolist()}
        else:
            out[column] = {"edges": [], "counts": []}
    return out
