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

from monitoring.alerts.grading import FALSE_DISCOVERY_RATE, Evidence, chance_p_value, discoveries, grade
from monitoring.alerts.model import SEVERITY_RANK, Alert, Severity
from monitoring.drift.result import SCORE_COLUMN, UNSEEN_RATE, MonitoringResult

CHECKS = {
    "univariate": "the feature's row in the drift heatmap (Drift section), then the upstream source that fills it.",
    "multivariate": "which features moved together in the drift heatmap, then the sources that feed them.",
    "missing_values": "the source that fills this field: a bureau or partner outage shows here first.",
    "unseen_values": "whether a client system added a label; the model scores an unknown label as missing.",
    "performance": "the score distribution and the drifting features; record outcomes to confirm with labels.",
}


def _alert(
    kind: str,
    feature: str,
    method: str,
    threshold: float | None,
    chunks: list[str],
    severity: Severity,
    message: str,
    *,
    unit: str = "",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "feature": feature,
        "method": method,
        "threshold": None if threshold is None or pd.isna(threshold) else round(float(threshold), 6),
        "unit": unit,
        "chunks": chunks,
        "severity": severity,
        "message": message,
        "check": CHECKS[kind],
    }


def _valid(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["alert"].notna()] if len(frame) else frame


def _family(frame: pd.DataFrame, value: str, limit: str) -> dict[str, tuple[Evidence, pd.DataFrame]]:
    """Per feature, over all its methods: chunks where any method alerted, valid chunks, worst value/limit."""
    out = {}
    for feature, part in _valid(frame).groupby("feature", sort=False):
        flagged = part[part["alert"].astype(bool)]
        ratio = (part[value] / part[limit].where(part[limit] > 0)).max()
        evidence = Evidence(
            hits=flagged["key"].nunique(),
            chunks=part["key"].nunique(),
            worst_ratio=0.0 if pd.isna(ratio) else float(ratio),
        )
        out[str(feature)] = (evidence, flagged)
    return out


def _how_often(evidence: Evidence, severity: Severity, tested: int) -> str:
    text = f"in {evidence.hits}/{evidence.chunks} chunks"
    if severity == "info":
        text += f" (isolated: no more than chance across the {tested} features tested)"
    return text


def _univariate(result: MonitoringResult, top: Sequence[str]) -> list[dict[str, Any]]:
    """One alert per feature, its methods merged, graded by chance, persistence and importance."""
    family = _family(result.univariate, "value", "threshold")
    real = discoveries({name: evidence for name, (evidence, _) in family.items()})
    out = []
    for feature, (evidence, flagged) in family.items():
        if not evidence.hits:
            continue
        severity = grade(evidence, important=feature == SCORE_COLUMN or feature in top, real=feature in real)
        target = "the model's score" if feature == SCORE_COLUMN else feature
        methods = sorted(flagged["method"].unique())
        out.append(
            _alert(
                "univariate",
                feature,
                "+".join(methods),
                flagged["threshold"].median(),
                sorted(flagged["key"].unique(), key=list(result.chunks["key"]).index),
                severity,
                f"{target}: distribution drift ({', '.join(methods)}; worst {evidence.worst_ratio:.1f}x its "
                f"threshold) {_how_often(evidence, severity, len(family))}",
            )
        )
    return out


def _missing(result: MonitoringResult, top: Sequence[str]) -> list[dict[str, Any]]:
    family = _family(result.missing, "rate", "upper_threshold")
    real = discoveries({name: evidence for name, (evidence, _) in family.items()})
    out = []
    for feature, (evidence, flagged) in family.items():
        if not evidence.hits:
            continue
        severity = grade(evidence, important=feature in top, real=feature in real)
        out.append(
            _alert(
                "missing_values",
                feature,
                "missing_rate",
                flagged["upper_threshold"].median(),
                flagged["key"].tolist(),
                severity,
                f"{feature}: up to {flagged['rate'].max():.1%} missing (reference "
                f"{flagged['reference_rate'].iloc[0]:.1%}) {_how_often(evidence, severity, len(family))}",
                unit="%",
            )
        )
    return out


def drift_alerts(result: MonitoringResult, *, top: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every alert of the result, most severe first: univariate, multivariate, data quality, performance."""
    valid_chunks = max(int(result.chunks["enough"].sum()), 1)
    out = [*_univariate(result, top), *_missing(result, top)]
    multi = result.multivariate[result.multivariate["alert"].fillna(False).astype(bool)]
    if len(multi):
        evidence = Evidence(len(multi), valid_chunks)
        out.append(
            _alert(
                "multivariate",
                "*",
                "data_reconstruction",
                multi["upper_threshold"].median(),
                multi["key"].tolist(),
                grade(evidence, important=False, real=chance_p_value(evidence) <= FALSE_DISCOVERY_RATE),
                f"the joint distribution of the monitored inputs moved (PCA reconstruction error) in "
                f"{len(multi)}/{valid_chunks} chunks",
            )
        )
    for (feature,), part in _alerting(result.unseen, ["feature"]):
        labels = sorted({v for values in part["values"] for v in values})
        evidence = Evidence(len(part), valid_chunks)
        out.append(
            _alert(
                "unseen_values",
                feature,
                "unseen_rate",
                UNSEEN_RATE,
                part["key"].tolist(),
                grade(evidence, important=feature in top, real=True),
                f"{feature}: labels never seen in the reference {labels} (up to {part['rate'].max():.1%} of "
                f"rows; the model scores them as missing) in {len(part)}/{valid_chunks} chunks",
                unit="%",
            )
        )
    for (metric,), part in _alerting(result.performance, ["metric"]):
        evidence = Evidence(len(part), valid_chunks)
        out.append(
            _alert(
                "performance",
                metric,
                "cbpe",
                None,
                part["key"].tolist(),
                grade(evidence, important=True, real=True),
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
        unit=str(raw.get("unit") or ""),
        subject=feature,
        source="drift",
        details={"method": method, "chunks": chunks},
        check=str(raw.get("check") or CHECKS["univariate"]),
    )


def _chunk_time(key: Any) -> datetime | None:
    """Start of a chunk: a period ("2025-03-12", "2025-03-12 14:00") or a row-count ("#3 2025-03-12 14:00–14:20")"""
    found = re.match(r"(?:#\d+ )?(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?)", str(key))
    return None if found is None else datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)
