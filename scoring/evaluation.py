"""Business cost, threshold choice, metrics and the fairness table.

Cost of errors (Prêt à Dépenser): a missed defaulter (false negative) loses the capital, about ten
times what a wrongly refused good client (false positive) loses in margin.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from scoring.costs import business_cost, cost_per_1000, decide

THRESHOLD_GRID = np.round(np.arange(0.01, 0.99, 0.005), 3)
AGE_BANDS = (18, 30, 40, 50, 60, 101)


def cost_curve(y_true: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Business cost per 1,000 applications for every threshold of the grid."""
    costs = [business_cost(y_true, decide(probability, t)) for t in THRESHOLD_GRID]
    return pd.DataFrame({"threshold": THRESHOLD_GRID, "cost_per_1000": np.array(costs) * 1000 / len(y_true)})


def best_threshold(y_true: np.ndarray, probability: np.ndarray) -> float:
    curve = cost_curve(y_true, probability)
    return float(curve.loc[curve["cost_per_1000"].idxmin(), "threshold"])


def classification_metrics(y_true: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    y_pred = decide(probability, threshold)
    return {
        "roc_auc": float(roc_auc_score(y_true, probability)),
        "business_cost": business_cost(y_true, y_pred),
        "business_cost_per_1000": cost_per_1000(y_true, y_pred),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "brier": float(brier_score_loss(y_true, probability)),
        "refusal_rate": float(y_pred.mean()),
        "default_rate": float(np.mean(y_true)),
    }


def age_band(days_birth: pd.Series) -> pd.Series:
    years = -days_birth.astype(float) / 365.25
    labels = [f"{lo}-{hi - 1}" for lo, hi in pairwise(AGE_BANDS)]
    return pd.cut(years, bins=list(AGE_BANDS), right=False, labels=labels).astype(str)


FAIRNESS_ATTRIBUTES = ("gender", "age_band")


def protected_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """The gender and age band of each applicant (CODE_GENDER, DAYS_BIRTH), as text labels."""
    return pd.DataFrame(
        {
            "gender": frame["CODE_GENDER"].astype(str).to_numpy(),
            "age_band": age_band(frame["DAYS_BIRTH"]).to_numpy(),
        }
    )


def approval_rates(
    frame: pd.DataFrame, probability: np.ndarray, threshold: float, *, min_rows: int = 1
) -> dict[str, dict[str, float]]:
    """Approval rate of each gender and age band with at least `min_rows` applicants (no labels needed)."""
    data = protected_groups(frame).assign(approved=1 - decide(probability, threshold))
    out = {}
    for attribute in FAIRNESS_ATTRIBUTES:
        by = data.groupby(attribute, sort=True)["approved"]
        rates, counts = by.mean(), by.size()
        out[attribute] = {str(g): float(r) for g, r in rates[counts >= min_rows].items()}
    return out


def approval_gap(rates: dict[str, float]) -> float:
    """Largest minus smallest approval rate among the groups (NaN with fewer than two groups)."""
    return float(max(rates.values()) - min(rates.values())) if len(rates) >= 2 else float("nan")


def fairness_table(frame: pd.DataFrame, probability: np.ndarray, threshold: float) -> pd.DataFrame:
    """Approval rate, default rate and AUC by gender and by age band (holdout)."""
    data = protected_groups(frame).assign(y=frame["TARGET"].to_numpy(), p=probability)
    data["approved"] = 1 - decide(data["p"].to_numpy(), threshold)
    rows = []
    for attribute in FAIRNESS_ATTRIBUTES:
        for group, part in data.groupby(attribute, sort=True):
            auc = roc_auc_score(part["y"], part["p"]) if part["y"].nunique() == 2 else float("nan")
            rows.append(
                {
                    "attribute": attribute,
                    "group": group,
                    "n": len(part),
                    "approval_rate": part["approved"].mean(),
                    "default_rate": part["y"].mean(),
                    "roc_auc": auc,
                }
            )
    return pd.DataFrame(rows)
