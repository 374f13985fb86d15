"""The business cost of a decision, the one definition used by training, CBPE and realized performance.

A missed default (false negative: approved, then defaulted) costs ten times a good client refused
(false positive). Decisions are 1 = refuse (predicted default), 0 = approve.
"""

from __future__ import annotations

import numpy as np

FN_COST = 10.0
FP_COST = 1.0
# NannyML's business_value metric wants a value matrix [[TN, FP], [FN, TP]]: costs are negative values.
BUSINESS_VALUE_MATRIX = [[0.0, -FP_COST], [-FN_COST, 0.0]]


def decide(probability: np.ndarray, threshold: float) -> np.ndarray:
    """1 = refuse (predicted default). Refuse at or above the threshold."""
    return (np.asarray(probability) >= threshold).astype(np.int64)


def business_cost(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Total cost FN_COST * FN + FP_COST * FP of decisions `y_pred` against outcomes `y_true`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    fn = np.sum((y_true == 1) & (y_pred == 0))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    return float(FN_COST * fn + FP_COST * fp)


def cost_per_1000(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The business cost per 1,000 decisions, the unit every report and alert uses."""
    return business_cost(y_true, y_pred) * 1000 / max(len(y_true), 1)
