"""The Monitoring tab's first screen as data: one overall status and the headline numbers beside their references.

Pure: it reads a result's KPIs and the merged alerts and says, in the one severity vocabulary, whether
all is well (`ok`), or why not (`warning`, `critical`), in one line. Each KPI card carries the value it
should be read against (the holdout's approval rate, the latency SLO), so no number stands alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from monitoring.alerts.model import SEVERITY_RANK, Alert

Level = Literal["ok", "warning", "critical"]
APPROVAL_GAP = 0.10  # approval rate this far (absolute) from the holdout's: worth a look


@dataclass(frozen=True, slots=True)
class Card:
    label: str
    value: str
    reference: str  # what to read the value against
    level: Level = "ok"


@dataclass(frozen=True, slots=True)
class Overview:
    level: Level
    reason: str
    cards: tuple[Card, ...]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def overall(alerts: Sequence[Alert]) -> tuple[Level, str]:
    """The worst active alert decides; info alerts (isolated, within chance) never do."""
    active = sorted((a for a in alerts if a.severity != "info"), key=lambda a: SEVERITY_RANK[a.severity])
    if not active:
        return "ok", "No active alert."
    worst = active[0]
    same = sum(a.severity == worst.severity for a in active)
    more = f" (+{len(active) - 1} more)" if len(active) > 1 else ""
    title = worst.title.split(". ")[0].rstrip(".")
    word = "critical alert" if worst.severity == "critical" else "warning"
    return worst.severity, f"{same} {word}{'s' if same > 1 else ''}: {title}{more}"  # type: ignore[return-value]


def cards(kpis: Mapping[str, Any], *, slo_p95_ms: float | None = None, slo_p99_ms: float | None = None) -> list[Card]:
    """The headline numbers of a window, each with its reference."""
    out = [
        Card(
            "predictions",
            f"{kpis.get('predictions', 0):,}",
            f"{kpis.get('single_requests', 0):,} single · {kpis.get('batch_rows', 0):,} batch rows",
        )
    ]
    approval, holdout = kpis.get("approval_rate"), kpis.get("reference_approval_rate")
    gap = abs(approval - holdout) if approval is not None and holdout is not None else 0.0
    out.append(
        Card("approval rate", _pct(approval), f"holdout {_pct(holdout)}", "warning" if gap >= APPROVAL_GAP else "ok")
    )
    out.append(
        Card(
            "mean probability of default",
            _pct(kpis.get("mean_probability")),
            f"holdout {_pct(kpis.get('reference_mean_probability'))}",
        )
    )
    for q, slo in ((95, slo_p95_ms), (99, slo_p99_ms)):
        value = kpis.get(f"latency_ms_p{q}")
        over = value is not None and slo is not None and value > slo
        out.append(
            Card(
                f"latency p{q}, single requests",
                _ms(value),
                f"SLO {_ms(slo)}" if slo is not None else "no SLO set",
                "critical" if over else "ok",
            )
        )
    out.append(
        Card(
            "latency p95, batch rows",
            _ms(kpis.get("batch_latency_ms_p95")),
            "since its batch arrived; not under the SLO",
        )
    )
    rejected = kpis.get("rejected_rate")
    out.append(Card("rejected requests", _pct(rejected), f"{kpis.get('rejections', 0):,} invalid inputs"))
    return out


def build_overview(
    kpis: Mapping[str, Any] | None,
    alerts: Sequence[Alert],
    *,
    slo_p95_ms: float | None = None,
    slo_p99_ms: float | None = None,
) -> Overview:
    level, reason = overall(alerts)
    shown = cards(kpis, slo_p95_ms=slo_p95_ms, slo_p99_ms=slo_p99_ms) if kpis is not None else []
    if level == "ok" and kpis is not None:
        over = [c for c in shown if c.level != "ok"]
        if over:  # e.g. a p99 above the SLO with too few requests for the latency alert to judge
            level, reason = "warning", f"{over[0].label} {over[0].value} ({over[0].reference}); no alert raised yet"
        else:
            reason = f"No active alert on {kpis.get('predictions', 0):,} predictions in this window."
    return Overview(level, reason, tuple(shown))
