"""`MonitoringResult`: what one analysis found, as tidy tables, with its drift ranking and JSON summary.

The result is plain data: plots (`monitoring.plots`) and alerts (`monitoring.alerts.drift`) read it,
it knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift.chunking import MIN_CHUNK_ROWS, Chunking

SCORE_COLUMN = "probability"  # the model's score, monitored like a feature under this name
# A label absent from the reference alerts once it reaches 1% of a chunk's rows: labels rarer than one
# in a few thousand are simply missing from a reference of a few thousand rows and would alert forever.
UNSEEN_RATE = 0.01


@dataclass(slots=True)
class MonitoringResult:
    """Everything one analysis found. Frames are long ("tidy"), one row per chunk and statistic."""

    chunks: pd.DataFrame  # chunk, key, start, end, rows, enough, analysed (rows the statistics used)
    univariate: pd.DataFrame  # chunk, key, feature, kind, method, value, threshold, alert (NA: not enough data)
    multivariate: pd.DataFrame  # chunk, key, value, lower/upper_threshold, lower/upper_band, alert
    performance: pd.DataFrame  # chunk, key, metric, estimate, lower/upper_band, lower/upper_threshold, alert, realized
    missing: pd.DataFrame  # chunk, key, feature, rate, reference_rate, upper_threshold, alert
    unseen: pd.DataFrame  # chunk, key, feature, rate, values, alert
    timeline: pd.DataFrame  # per time bucket: rows, mean probability, approval, latency/inference percentiles
    histograms: dict[str, Any]  # score (production vs reference), latency, inference: bin edges and counts
    kpis: dict[str, Any]
    alerts: list[dict[str, Any]]
    chunking: Chunking
    window: dict[str, str | None] = field(default_factory=dict)
    reference_rows: int = 0
    calibration_rows: int = 0
    computed_at: str = ""
    compute_seconds: float = 0.0
    outcomes: Any = None  # monitoring.drift.realized.OutcomeResult when outcomes were analysed
    pair: Any = None  # monitoring.drift.pair.PairResult when a challenger scored rows of the window

    def to_df(self, what: str = "univariate") -> pd.DataFrame:
        """One of: chunks, univariate, multivariate, performance, missing, unseen, timeline."""
        if what not in {"chunks", "univariate", "multivariate", "performance", "missing", "unseen", "timeline"}:
            raise ValueError(f"unknown table {what!r}")
        return getattr(self, what).copy()

    def drift_ranking(self) -> pd.DataFrame:
        """Features ranked by how many chunks alerted, then by how far above the threshold they went."""
        return drift_ranking(self.univariate)

    def summary(self) -> dict[str, Any]:
        return build_summary(self)


def drift_ranking(univariate: pd.DataFrame) -> pd.DataFrame:
    """One row per (feature, method): alerting chunks, valid chunks, worst value / threshold."""
    if univariate.empty:
        return pd.DataFrame(
            columns=["feature", "kind", "method", "threshold", "alert_chunks", "valid_chunks", "max_value", "max_ratio"]
        )
    valid = univariate[univariate["alert"].notna()].copy()
    valid["ratio"] = valid["value"] / valid["threshold"].where(valid["threshold"] > 0)
    grouped = valid.groupby(["feature", "kind", "method"], as_index=False)
    table = grouped.agg(
        threshold=("threshold", "median"),
        alert_chunks=("alert", "sum"),
        valid_chunks=("alert", "size"),
        max_value=("value", "max"),
        max_ratio=("ratio", "max"),
    )
    table["alert_chunks"] = table["alert_chunks"].astype(int)
    return table.sort_values(["alert_chunks", "max_ratio"], ascending=False, ignore_index=True)


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: finite floats rounded, NaN/NA as null, timestamps as ISO text."""
    return _json(value)


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if value is pd.NA or value is None:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _per_chunk(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _json(row[c]) for c in ["key", *columns]} for _, row in frame.iterrows()]


def build_summary(result: MonitoringResult) -> dict[str, Any]:
    """The JSON-able digest read by the report, the UI and the operational alerts."""
    chunks = result.chunks
    features: dict[str, Any] = {}
    for feature, part in result.univariate.groupby("feature", sort=False):
        per_chunk = part.groupby("key", sort=False)["alert"].agg(lambda s: None if s.isna().all() else bool(s.any()))
        features[feature] = {
            "kind": part["kind"].iloc[0],
            "methods": sorted(part["method"].unique()),
            "alert": bool(part["alert"].fillna(False).any()),
            "chunks": {k: _json(v) for k, v in per_chunk.reindex(chunks["key"]).items()},
        }
    performance = {
        metric: _per_chunk(part, ["estimate", "lower_band", "upper_band", "alert", "realized"])
        for metric, part in result.performance.groupby("metric", sort=False)
    }
    return {
        "generated_at": result.computed_at,
        "compute_seconds": result.compute_seconds,
        "window": result.window,
        "chunking": {
            "period": result.chunking.period,
            "size": result.chunking.size,
            "min_chunk_rows": MIN_CHUNK_ROWS,
            "calibration_rows": result.calibration_rows,
        },
        "reference_rows": result.reference_rows,
        "counts": {
            "predictions": result.kpis["predictions"],
            "rejections": result.kpis["rejections"],
            "chunks": len(chunks),
            "chunks_with_enough_data": int(chunks["enough"].sum()),
        },
        "chunks": _per_chunk(chunks, [c for c in ("start", "end", "rows", "analysed", "enough") if c in chunks]),
        "kpis": {k: _json(v) for k, v in result.kpis.items()},
        "features": features,
        "multivariate": {
            "alert": bool(result.multivariate["alert"].fillna(False).any()),
            "chunks": _per_chunk(result.multivariate, ["value", "upper_threshold", "alert"]),
        },
        "performance": performance,
        "data_quality": {
            "missing": {
                f: {
                    "reference_rate": _json(p["reference_rate"].iloc[0]),
                    "alert": bool(p["alert"].fillna(False).any()),
                    "chunks": _per_chunk(p, ["rate", "alert"]),
                }
                for f, p in result.missing.groupby("feature", sort=False)
            },
            "unseen": {
                f: {
                    "alert": bool(p["alert"].fillna(False).any()),
                    "values": sorted({v for vs in p["values"] if isinstance(vs, list) for v in vs}),
                }
                for f, p in result.unseen.groupby("feature", sort=False)
            },
        },
        "drift_alerts": result.alerts,
        "outcomes": result.outcomes.summary() if result.outcomes is not None else None,
        "pair": result.pair.summary() if result.pair is not None else None,
    }
