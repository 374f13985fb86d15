"""Alerts on realized outcomes: cost, AUC floor, calibration, fairness gap, score PSI; each says what to do.

The thresholds are `OutcomeRules`, built by `Settings.outcome_rules()` from the environment. Alerts come
out as the same dicts as the drift alerts (`alerts.drift`), so the panel, the report, the gauges and
the webhook treat them alike. A chunk with fewer than `min_labels` labelled rows never raises a
realized-performance alert: a handful of outcomes says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift.stability import PSI_SHIFT

RETRAIN = (
    "retrain on the recent labelled loans (python -m scoring.train) once the cause is known; "
    "first check the upstream sources of the drifting inputs (bureau scores, income feeds)"
)


@dataclass(frozen=True, slots=True)
class OutcomeRules:
    """When realized outcomes alert (every value a setting, see service/settings.py)."""

    min_labels: int = 200  # labelled rows a chunk needs for realized metrics
    cost_margin: float = 0.25  # realized cost per 1,000 above the reference's accepts-only cost by this share
    auc_floor: float = 0.60  # realized (accepts-only) ROC AUC below this
    calibration_alpha: float = 0.01  # a decile is off when its binomial p-value is below this
    calibration_deciles: int = 3  # ... and the alert needs this many deciles off
    fairness_tolerance: float = 0.10  # approval-rate gap moved this far from the reference's gap
    fairness_min_rows: int = 100  # rows a group needs in a chunk to count in the gap
    significance: float = 0.01  # the realized cost must exceed its limit beyond chance (one-sided binomial)
    psi_alert: float = PSI_SHIFT


def _alert(kind: str, subject: str, chunks: list[str], severity: str, message: str, check: str, **extra: Any) -> dict:
    return {
        "kind": kind,
        "feature": subject,
        "method": extra.pop("method", kind),
        "threshold": extra.pop("threshold", None),
        "chunks": chunks,
        "severity": severity,
        "message": message,
        "check": check,
        **extra,
    }


def _beyond_chance(realized: pd.DataFrame, reference: dict[str, float], rules: OutcomeRules) -> pd.Series:
    """Whether each chunk's defaults among approved loans exceed the limit's default rate beyond chance.

    On approved loans the cost per 1,000 is 10 x 1,000 x the default rate, so "cost above the limit" is
    "default rate above reference x (1 + margin)": a one-sided exact binomial test at `significance`
    keeps a few hundred outcomes (sd of the cost ~ 100 per 1,000) from alerting on noise.
    """
    from scipy.stats import binomtest

    rate = min(reference["default_rate"] * (1 + rules.cost_margin), 1.0)
    return pd.Series(
        [
            n > 0 and binomtest(int(k), int(n), rate, alternative="greater").pvalue < rules.significance
            for k, n in zip(realized["defaults"], realized["approved_labelled"], strict=True)
        ],
        index=realized.index,
        dtype=bool,
    )


def outcome_alerts(
    realized: pd.DataFrame,
    *,
    reference: dict[str, float],
    calibration: pd.DataFrame,
    gaps: pd.DataFrame,
    stability: pd.DataFrame,
    rules: OutcomeRules,
) -> list[dict[str, Any]]:
    """Every outcome alert of one analysis (realized cost, AUC, calibration, fairness, PSI)."""
    out: list[dict[str, Any]] = []
    enough = realized[realized["enough_labels"]]
    limit = reference["cost_per_1000"] * (1 + rules.cost_margin)
    costly = enough[(enough["cost_per_1000"] > limit) & _beyond_chance(enough, reference, rules)]
    if len(costly):
        out.append(
            _alert(
                "realized_cost",
                "business_cost_per_1000",
                costly["key"].tolist(),
                "critical",
                f"realized cost {costly['cost_per_1000'].max():.0f} per 1,000 approved loans, above the reference's "
                f"{reference['cost_per_1000']:.0f} by more than {rules.cost_margin:.0%} in {len(costly)}/{len(enough)} "
                f"chunks with enough outcomes (accepts-only; beyond chance at p < {rules.significance})",
                RETRAIN,
                threshold=round(float(limit), 3),
            )
        )
    weak = enough[enough["roc_auc"] < rules.auc_floor]
    if len(weak):
        out.append(
            _alert(
                "realized_auc",
                "roc_auc",
                weak["key"].tolist(),
                "critical",
                f"realized ROC AUC {weak['roc_auc'].min():.3f} below the floor {rules.auc_floor:.2f} in "
                f"{len(weak)}/{len(enough)} chunks (accepts-only; the reference's is {reference['roc_auc']:.3f})",
                "the model no longer ranks risk: " + RETRAIN,
                threshold=rules.auc_floor,
            )
        )
    off = calibration[calibration["off"].astype(bool)] if len(calibration) else calibration
    if len(off) >= rules.calibration_deciles:
        worse = "under" if (off["observed"] > off["predicted"]).mean() >= 0.5 else "over"
        out.append(
            _alert(
                "calibration",
                "probability",
                [],
                "warning",
                f"the score {worse}-estimates risk: observed default rate differs from the predicted one in "
                f"{len(off)}/{len(calibration)} score deciles (binomial p < {rules.calibration_alpha})",
                "the threshold no longer means the same risk; check the upstream sources, then recalibrate or "
                "retrain (python -m scoring.train)",
                threshold=rules.calibration_alpha,
            )
        )
    for attribute, part in gaps.groupby("attribute", sort=False):
        moved = part[part["moved"] > rules.fairness_tolerance]
        if len(moved):
            worst = moved.loc[moved["moved"].idxmax()]
            out.append(
                _alert(
                    "fairness",
                    str(attribute),
                    moved["key"].tolist(),
                    "warning",
                    f"approval-rate gap between {attribute} groups {worst['gap']:.1%} vs {worst['reference_gap']:.1%} "
                    f"on the reference (moved more than {rules.fairness_tolerance:.0%}) in {len(moved)} chunks",
                    "look at who applies now (the Monitoring tab's fairness chart) and at the inputs drifting for "
                    "that group; escalate to the credit-risk and compliance owners before retraining",
                    threshold=rules.fairness_tolerance,
                )
            )
    shifted = stability[stability["psi"] > rules.psi_alert] if len(stability) else stability
    if len(shifted):
        out.append(
            _alert(
                "score_psi",
                "probability",
                shifted["key"].tolist(),
                "warning",
                f"score PSI {shifted['psi'].max():.2f} on the reference deciles (above {rules.psi_alert:.2f}) in "
                f"{len(shifted)}/{int(np.isfinite(stability['psi']).sum())} chunks",
                "the scored population changed: check the input drift charts and the upstream sources",
                threshold=rules.psi_alert,
            )
        )
    return out
