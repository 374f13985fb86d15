"""The outcome side of an analysis: realized performance, calibration, fairness and score stability.

`calculate_with_outcomes` runs the drift monitor, then joins the outcomes in force to the window's
predictions by `request_id` (an outcome arrives months later, so all of them are read, whatever the
window) and adds an `OutcomeResult` and its alerts to the `MonitoringResult`. Everything realized is
on approved loans only (the accepts-only bias, see `monitoring.drift.performance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitoring.alerts.model import SEVERITY_RANK
from monitoring.alerts.outcomes import OutcomeRules, outcome_alerts
from monitoring.drift import calibration, fairness, performance, stability
from monitoring.drift.chunking import Chunking
from monitoring.drift.result import SCORE_COLUMN, MonitoringResult, json_value
from monitoring.drift.sampling import DEFAULT_SAMPLE_ROWS, in_time_order
from monitoring.drift.tables import CHUNK_COLUMN, Y_TRUE
from monitoring.outcomes.store import labelled

if TYPE_CHECKING:
    from monitoring.drift.monitor import DriftMonitor

ACCEPTS_ONLY = (
    "Realized metrics are on approved loans only (refused applicants never get a loan, so never an outcome): "
    "the AUC is within the approved band of scores and the cost counts missed defaults only; compare them "
    "with the reference's accepts-only figures, not with the training metrics."
)


@dataclass(slots=True)
class OutcomeResult:
    """What the outcomes say about one window; frames are long, one row per chunk (and group)."""

    realized: pd.DataFrame  # performance.COLUMNS
    overall: dict[str, Any]
    reference: dict[str, float]  # the reference's accepts-only figures
    calibration: pd.DataFrame  # calibration.COLUMNS, over the window's labelled rows
    hosmer_lemeshow: dict[str, Any]
    groups: pd.DataFrame  # fairness.GROUP_COLUMNS
    gaps: pd.DataFrame  # fairness.GAP_COLUMNS
    reference_gaps: dict[str, float]
    stability: pd.DataFrame  # chunk, key, rows, psi
    rules: OutcomeRules
    outcomes_in_force: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {
            "note": ACCEPTS_ONLY,
            "min_labels": self.rules.min_labels,
            "outcomes_in_force": self.outcomes_in_force,
            "overall": {k: json_value(v) for k, v in self.overall.items()},
            "reference_accepts_only": {k: json_value(v) for k, v in self.reference.items()},
            "realized": records(self.realized),
            "calibration": {"deciles": records(self.calibration), "hosmer_lemeshow": self.hosmer_lemeshow},
            "fairness": {
                "reference_gaps": {k: json_value(v) for k, v in self.reference_gaps.items()},
                "gaps": records(self.gaps),
                "groups": records(self.groups),
            },
            "score_psi": records(self.stability),
            "alerts": self.alerts,
        }


def outcome_labels(frame: pd.DataFrame, known: pd.DataFrame) -> np.ndarray:
    """Per row of `frame`: 1.0 defaulted, 0.0 repaid, NaN no outcome; `known` is `labelled(outcomes)`."""
    if not len(frame):
        return np.array([], float)
    by_id = dict(zip(known["request_id"], known["defaulted"].astype(float), strict=True))
    return frame["request_id"].map(by_id).astype(float).to_numpy()


def analyse_outcomes(
    monitor: DriftMonitor,
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    chunks: pd.DataFrame,
    chunking: Chunking,
    rules: OutcomeRules,
) -> OutcomeResult:
    """Join, then every outcome statistic on the same chunks as the drift result (`chunks`)."""
    from monitoring.drift.chunking import assign_chunks

    reference = monitor.reference
    assert reference is not None
    frame = in_time_order(predictions)
    index = assign_chunks(frame, chunking)[1] if len(frame) else np.array([], int)
    known = labelled(outcomes)
    # the score columns only: every statistic below reads the score, the decision and the label, never
    # the inputs (at a million rows the prepared inputs would be ~300 MB for nothing)
    data = monitor.prepare((frame if len(frame) else reference.iloc[:0])[[SCORE_COLUMN]])
    data[CHUNK_COLUMN] = index
    data[Y_TRUE] = outcome_labels(frame, known)
    labelled_rows = data[data[Y_TRUE].notna()]
    deciles = calibration.calibration_table(
        labelled_rows[SCORE_COLUMN].to_numpy(), labelled_rows[Y_TRUE].to_numpy(), alpha=rules.calibration_alpha
    )
    if len(labelled_rows) < rules.min_labels:
        deciles = deciles.iloc[:0]
    groups = fairness.group_table(data, fairness.groups_of(frame), chunks, min_labels=rules.min_labels // 2)
    protected = fairness.groups_of(monitor.protected)
    rates = fairness.reference_rates(reference, protected, min_rows=rules.fairness_min_rows)
    result = OutcomeResult(
        realized=performance.realized_table(monitor, data, chunks, min_labels=rules.min_labels),
        overall=performance.realized_overall(monitor, data, min_labels=rules.min_labels),
        reference=performance.reference_accepts(monitor),
        calibration=deciles,
        hosmer_lemeshow=calibration.hosmer_lemeshow(deciles),
        groups=groups,
        gaps=fairness.gap_table(groups, rates, min_rows=rules.fairness_min_rows),
        reference_gaps=fairness.reference_gaps(rates),
        stability=stability.psi_table(data[SCORE_COLUMN].to_numpy(), index, chunks, reference[SCORE_COLUMN].to_numpy()),
        rules=rules,
        outcomes_in_force=len(known),
    )
    result.alerts = outcome_alerts(
        result.realized,
        reference=result.reference,
        calibration=result.calibration,
        gaps=result.gaps,
        stability=result.stability,
        rules=rules,
    )
    return result


def calculate_with_outcomes(
    monitor: DriftMonitor,
    predictions: pd.DataFrame,
    *,
    outcomes: pd.DataFrame,
    rules: OutcomeRules,
    chunking: Chunking | None = None,
    rejections: pd.DataFrame | None = None,
    window: dict[str, str | None] | None = None,
    sample_rows: int | None = DEFAULT_SAMPLE_ROWS,
) -> MonitoringResult:
    """The drift analysis plus the outcome analysis on the same chunks, alerts merged, most severe first.

    Only the drift statistics are sampled (`sample_rows` per chunk); the outcome analysis keeps every
    labelled row: labels are few and each one is a fact, not an estimate.
    """
    chunking = chunking or Chunking()
    result = monitor.calculate(
        predictions, chunking=chunking, rejections=rejections, window=window, sample_rows=sample_rows
    )
    result.outcomes = analyse_outcomes(
        monitor, predictions, outcomes, chunks=result.chunks, chunking=chunking, rules=rules
    )
    merged = [*result.alerts, *result.outcomes.alerts]
    result.alerts = sorted(merged, key=lambda a: (SEVERITY_RANK[a["severity"]], -len(a["chunks"])))
    return result
