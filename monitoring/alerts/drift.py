"""Drift alerts: what a `MonitoringResult` flags, in the one severity vocabulary, and as `Alert`s.

`drift_alerts` turns the result's tables into JSON-able alert dicts (stored in the result, shown in
the report); `drift_alert` wraps one of them as an `Alert` for the merged panel, gauges and webhook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from monitoring.alerts.model import SEVERITY_RANK, Alert, Severity
from monitoring.drift.result import SCORE_COLUMN, UNSEEN_RATE, MonitoringResult


def _severity(feature: str, share: float, top: Sequence[str]) -> Severity:
    return "critical" if feature in top or share >= 0.5 else "warning" if share >= 0.2 else "info"


def _alert(
    kind: str, feature: str, method: str, threshold: float | None, chunks: list[str], severity: Severity, message: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "feature": feature,
        "method": method,
        "threshold": None if threshold is None or pd.isna(threshold) else round(float(threshold), 6),
        "chunks": chunks,
        "severity": severity,
        "message": message,
    }


def drift_alerts(result: MonitoringResult, *, top: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every alert of the result, most severe first: univariate, multivariate, data quality, performance."""
    valid_chunks = max(int(result.chunks["enough"].sum()), 1)
    out = []
    uni = result.univariate[result.univariate["alert"].fillna(False).astype(bool)]
    for (feature, method), part in uni.groupby(["feature", "method"], sort=False):
        keys, share = part["key"].tolist(), len(part) / valid_chunks
        target = "the model's score" if feature == SCORE_COLUMN else feature
        out.append(
            _alert(
                "univariate",
                feature,
                method,
                part["threshold"].median(),
                keys,
                "critical" if feature == SCORE_COLUMN else _severity(feature, share, top),
                f"{target}: {method} {part['value'].max():.3f} above its threshold "
                f"{part['threshold'].median():.3f} in {len(keys)}/{valid_chunks} chunks",
            )
        )
    multi = result.multivariate[result.multivariate["alert"].fillna(False).astype(bool)]
    if len(multi):
        out.append(
            _alert(
                "multivariate",
                "*",
                "data_reconstruction",
                multi["upper_threshold"].median(),
                multi["key"].tolist(),
                _severity("*", len(multi) / valid_chunks, ()),
                f"the joint distribution of the monitored inputs moved (PCA reconstruction error) in "
                f"{len(multi)}/{valid_chunks} chunks",
            )
        )
    for (feature,), part in _alerting(result.missing, ["feature"]):
        out.append(
            _alert(
                "missing_values",
                feature,
                "missing_rate",
                part["upper_threshold"].median(),
                part["key"].tolist(),
                _severity(feature, len(part) / valid_chunks, top),
                f"{feature}: {part['rate'].max():.1%} missing (reference "
                f"{part['reference_rate'].iloc[0]:.1%}) in {len(part)}/{valid_chunks} chunks",
            )
        )
    for (feature,), part in _alerting(result.unseen, ["feature"]):
        labels = sorted({v for values in part["values"] for v in values})
        out.append(
            _alert(
                "unseen_values",
                feature,
                "unseen_rate",
                UNSEEN_RATE,
                part["key"].tolist(),
                "critical",
                f"{feature}: labels never seen in the reference {labels} ({part['rate'].max():.1%} of "
                f"rows; the model scores them as missing) in {len(part)}/{valid_chunks} chunks",
            )
        )
    for (metric,), part in _alerting(result.performance, ["metric"]):
        out.append(
            _alert(
                "performance",
                metric,
                "cbpe",
                None,
                part["key"].tolist(),
                "critical",
                f"estimated {metric} {part['estimate'].iloc[-1]:.3f} outside the reference range "
                f"[{part['lower_threshold'].iloc[-1]:.3f}, {part['upper_threshold'].iloc[-1]:.3f}] in "
                f"{len(part)}/{valid_chunks} chunks",
            )
        )
    return sorted(out, key=lambda a: (SEVERITY_RANK[a["severity"]], -len(a["chunks"])))


def _alerting(frame: pd.DataFrame, keys: list[str]) -> Any:
    flagged = frame[frame["alert"].fillna(False).astype(bool)] if len(frame) else frame
    return flagged.groupby(keys, sort=False) if len(flagged) else []


def _severity_of(value: Any) -> Severity:
    text = str(value).lower()
    return text if text in SEVERITY_RANK else "warning"  # type: ignore[return-value]


def drift_alert(raw: Mapping[str, Any]) -> Alert:
    """Wrap one alert dict of the drift analysis (at least `message` and `severity`)."""
    feature, method = str(raw.get("feature") or ""), str(raw.get("method") or "")
    chunks = list(raw.get("chunks") or [])
    threshold = raw.get("threshold")
    return Alert(
        key=":".join(["drift", str(raw.get("kind") or "drift"), feature or "*", method or "*"]),
        kind="drift",
        severity=_severity_of(raw.get("severity")),
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
