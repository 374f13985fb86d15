"""`monitoring.overview`: the first screen's status line and KPI cards, each with its reference."""

from __future__ import annotations

from datetime import UTC, datetime

from monitoring.alerts.model import Alert
from monitoring.overview import build_overview

KPIS = {
    "predictions": 1_200,
    "single_requests": 1_000,
    "batch_rows": 200,
    "approval_rate": 0.88,
    "reference_approval_rate": 0.90,
    "mean_probability": 0.07,
    "reference_mean_probability": 0.065,
    "latency_ms_p95": 40.0,
    "latency_ms_p99": 90.0,
    "batch_latency_ms_p95": 450.0,
    "rejected_rate": 0.01,
    "rejections": 12,
}


def alert(severity: str, title: str) -> Alert:
    return Alert(key=title, kind="drift", severity=severity, title=title, check="x", since=datetime.now(UTC))


def test_all_well_says_so_with_the_volume() -> None:
    view = build_overview(KPIS, [alert("info", "isolated hit")], slo_p95_ms=200, slo_p99_ms=500)
    assert view.level == "ok" and "No active alert on 1,200 predictions" in view.reason
    cards = {c.label: c for c in view.cards}
    assert cards["approval rate"].value == "88.0 %" and cards["approval rate"].reference == "holdout 90.0 %"
    assert cards["latency p95, single requests"].reference == "SLO 200 ms"
    assert cards["latency p95, batch rows"].value == "450 ms"  # apart: batch rows are not under the SLO


def test_the_worst_alert_gives_the_level_and_the_reason() -> None:
    alerts = [alert("warning", "OCCUPATION_TYPE: drift. Since x"), alert("critical", "EXT_SOURCE_3: 70% missing")]
    view = build_overview(KPIS, alerts, slo_p95_ms=200, slo_p99_ms=500)
    assert view.level == "critical"
    assert view.reason == "1 critical alert: EXT_SOURCE_3: 70% missing (+1 more)"


def test_a_kpi_over_its_reference_warns_even_without_an_alert() -> None:
    view = build_overview(KPIS | {"latency_ms_p99": 246.0}, [], slo_p95_ms=200, slo_p99_ms=200)
    assert view.level == "warning" and "latency p99, single requests 246 ms (SLO 200 ms)" in view.reason
    low = build_overview(KPIS | {"approval_rate": 0.70}, [], slo_p95_ms=200, slo_p99_ms=500)
    assert low.level == "warning" and "approval rate" in low.reason


def test_no_result_yet_has_no_cards() -> None:
    assert build_overview(None, []).cards == ()


def test_time_buckets_follow_row_count_chunks_and_say_their_span() -> None:
    import numpy as np
    import pandas as pd

    from monitoring.drift.chunking import Chunking, assign_chunks
    from monitoring.drift.kpis import timeline

    ts = pd.Timestamp("2026-12-01 07:00", tz="UTC") + pd.to_timedelta(np.arange(1_000) * 3, unit="s")
    frame = pd.DataFrame({"ts": ts, "probability": 0.1, "decision": "approve", "latency_ms": 5.0})
    chunks, index = assign_chunks(frame, Chunking(size=500))
    assert list(chunks["key"]) == ["#1 2026-12-01 07:00–07:24", "#2 2026-12-01 07:25–07:49"]
    per_chunk = timeline(frame, Chunking(size=500), keys=chunks["key"].to_numpy()[index])
    assert list(per_chunk["label"]) == list(chunks["key"]) and list(per_chunk["rows"]) == [500, 500]
    hourly = timeline(frame, Chunking(period="h"))
    assert list(hourly["label"]) == ["2026-12-01 07:00"]  # one bucket, one readable label


def test_a_chunk_key_gives_the_alert_its_since() -> None:
    from monitoring.alerts.drift import drift_alert

    raw = {"message": "m", "severity": "warning", "chunks": ["#2 2026-12-01 07:25–07:49"], "feature": "X"}
    assert drift_alert(raw).since.isoformat() == "2026-12-01T07:25:00+00:00"
