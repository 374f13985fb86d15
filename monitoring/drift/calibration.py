"""Calibration on the labelled rows: predicted vs observed default rate by score decile, with a test per decile.

The score is a probability of default and the business threshold relies on it meaning what it says.
Per decile of the labelled rows' scores: mean predicted probability, observed default rate, and an
exact two-sided binomial test of the observed defaults against the predicted rate; a decile is
"off" when its p-value is below `alpha`. Across deciles, the Hosmer–Lemeshow statistic (chi-square
with deciles - 2 degrees of freedom) summarises the whole curve. Accepts-only: the labelled rows
are approved loans, so the deciles cover the approved band of scores only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = ["decile", "rows", "score_low", "score_high", "predicted", "observed", "defaults", "p_value", "off"]


def calibration_table(score: np.ndarray, defaulted: np.ndarray, *, alpha: float = 0.01, bins: int = 10) -> pd.DataFrame:
    """One row per score decile of the labelled rows (fewer when scores tie across decile edges)."""
    score, defaulted = np.asarray(score, float), np.asarray(defaulted, int)
    if len(score) < bins:
        return pd.DataFrame(columns=COLUMNS)
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    decile = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for d in range(len(edges) - 1):
        mask = decile == d
        n, k = int(mask.sum()), int(defaulted[mask].sum())
        if not n:
            continue
        predicted = float(score[mask].mean())
        p_value = float(stats.binomtest(k, n, min(max(predicted, 1e-9), 1 - 1e-9)).pvalue)
        rows.append(
            [
                d + 1,
                n,
                float(score[mask].min()),
                float(score[mask].max()),
                predicted,
                k / n,
                k,
                p_value,
                p_value < alpha,
            ]
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def hosmer_lemeshow(table: pd.DataFrame) -> dict[str, Any]:
    """H = sum over deciles of (O - E)^2 / (E (1 - E / n)); p from chi-square with g - 2 dof."""
    if len(table) < 3:
        return {"statistic": None, "dof": None, "p_value": None}
    n = table["rows"].to_numpy(float)
    expected = table["predicted"].to_numpy(float) * n
    observed = table["defaults"].to_numpy(float)
    variance = np.maximum(expected * (1 - expected / n), 1e-12)
    statistic = float(np.sum((observed - expected) ** 2 / variance))
    dof = len(table) - 2
    return {"statistic": statistic, "dof": dof, "p_value": float(stats.chi2.sf(statistic, dof))}


# Platt recalibration of the score, what the drift monitor's CBPE estimates from (monitoring.drift.monitor)
def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), p clipped away from 0 and 1."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_platt(score: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Slope and intercept recalibrating the score on the reference labels (logistic on its logit).

    CBPE estimates performance from probabilities it assumes calibrated. NannyML calibrates only if
    isotonic regression beats the raw score in every one of 10 folds, which a few thousand rows with
    8% defaults rarely allow; a two-parameter fit is stable on such a reference, keeps the ranking
    (no ties, unlike isotonic steps) and is the identity when the model is already calibrated.
    """
    from sklearn.linear_model import LogisticRegression

    keep = np.isfinite(score) & np.isfinite(target)
    if len(np.unique(target[keep])) < 2:
        return 1.0, 0.0
    fit = LogisticRegression(C=1e6).fit(logit(score[keep])[:, None], target[keep].astype(int))
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])
