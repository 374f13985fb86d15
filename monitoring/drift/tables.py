"""NannyML's result frames turned into our tidy tables: one row per chunk and statistic.

Each function takes a fitted calculator's result (duck-typed: `filter(period=...).to_df()`), so this
module never imports NannyML itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift.result import SCORE_COLUMN, UNSEEN_RATE
from scoring.costs import cost_per_1000

CHUNK_COLUMN = "_chunk"  # NannyML's "timestamp" column: our own chunk index (see monitor._label_chunker)
Y_PRED, Y_TRUE = "_y_pred", "TARGET"
MISSING_TOLERANCE = 0.01


EMPTY_COLUMNS = {
    "univariate": ["feature", "kind", "method", "value", "threshold", "alert"],
    "multivariate": ["value", "lower_threshold", "upper_threshold", "lower_band", "upper_band", "alert"],
    "performance": [
        "metric",
        "estimate",
        "lower_band",
        "upper_band",
        "lower_threshold",
        "upper_threshold",
        "alert",
        "realized",
    ],
    "missing": ["feature", "rate", "reference_rate", "upper_threshold", "alert"],
    "unseen": ["feature", "rate", "values", "alert"],
}


def no_statistics() -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(columns=["chunk", "key", *cols]) for name, cols in EMPTY_COLUMNS.items()}


def with_chunks(frame: pd.DataFrame, chunks: pd.DataFrame) -> pd.DataFrame:
    """Every chunk appears; those without enough rows carry NaN statistics and a missing (NA) alert."""
    frame = frame.copy()
    frame["chunk"] = frame["chunk"].astype("int64")
    per_chunk = [c for c in frame.columns if c not in {"chunk", "feature", "kind", "method", "metric"}]
    keys = [c for c in ("feature", "kind", "method", "metric") if c in frame.columns]
    combos = frame[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    grid = chunks[["chunk", "key"]].merge(combos, how="cross")
    merged = grid.merge(frame, on=["chunk", *keys], how="left")
    merged["alert"] = merged["alert"].astype("boolean")
    return merged[["chunk", "key", *keys, *per_chunk]]


def _chunk_ids(frame: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(frame[("chunk", "key")] if ("chunk", "key") in frame else frame[("chunk", "chunk", "key")])


def univariate(result: Any, categorical: Sequence[str]) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    chunk = pd.to_numeric(df[("chunk", "chunk", "key")])
    rows = []
    for feature, method in {(c[0], c[1]) for c in df.columns if c[0] != "chunk"}:
        part = df[feature][method]
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "kind": "categorical" if feature in categorical else "continuous",
                    "method": method,
                    "value": part["value"].astype(float),
                    "threshold": part["upper_threshold"].astype(float),
                    "alert": part["alert"].astype("boolean"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True).sort_values(["feature", "method", "chunk"], ignore_index=True)


def multivariate(result: Any) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    part = df["reconstruction_error"]
    return pd.DataFrame(
        {
            "chunk": _chunk_ids(df),
            "value": part["value"],
            "lower_threshold": part["lower_threshold"],
            "upper_threshold": part["upper_threshold"],
            "lower_band": part["lower_confidence_boundary"],
            "upper_band": part["upper_confidence_boundary"],
            "alert": part["alert"].astype("boolean"),
        }
    )


def performance(result: Any, data: pd.DataFrame, calibration_rows: int) -> pd.DataFrame:
    """CBPE's estimates. The business value comes as a total per chunk (NannyML's "per_prediction"
    normalises per predicted class, not per row), so it is turned here into a cost per 1,000
    applications; the thresholds, totals over reference chunks of `calibration_rows`, likewise."""
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = data.groupby(CHUNK_COLUMN).size().reindex(chunk).to_numpy(dtype=float)
    auc, value = df["roc_auc"], df["business_value"]
    per_1000 = {
        c: -1000.0 * value[c].astype(float).to_numpy() / rows
        for c in ("value", "lower_confidence_boundary", "upper_confidence_boundary")
    }
    low_cost, high_cost = (
        -1000.0 * value[c].astype(float).to_numpy() / calibration_rows for c in ("upper_threshold", "lower_threshold")
    )
    cost = per_1000["value"]
    frames = [
        pd.DataFrame(
            {
                "chunk": chunk,
                "metric": "roc_auc",
                "estimate": auc["value"],
                "lower_band": auc["lower_confidence_boundary"],
                "upper_band": auc["upper_confidence_boundary"],
                "lower_threshold": auc["lower_threshold"],
                "upper_threshold": auc["upper_threshold"],
                "alert": auc["alert"].astype("boolean"),
            }
        ),
        pd.DataFrame(
            {
                "chunk": chunk,
                "metric": "business_cost_per_1000",
                "estimate": cost,
                "lower_band": per_1000["upper_confidence_boundary"],
                "upper_band": per_1000["lower_confidence_boundary"],
                "lower_threshold": low_cost,
                "upper_threshold": high_cost,
                "alert": pd.array((cost > high_cost) | (cost < low_cost), dtype="boolean"),
            }
        ),
    ]
    out = pd.concat(frames, ignore_index=True)
    out["realized"] = _realized(data, out)
    return out


def _realized(data: pd.DataFrame, estimates: pd.DataFrame) -> np.ndarray:
    """Realised AUC and cost per chunk when the rows carry labels (simulations, late labels)."""
    if Y_TRUE not in data or data[Y_TRUE].isna().all():
        return np.full(len(estimates), np.nan)
    from sklearn.metrics import roc_auc_score

    values = {}
    for chunk, part in data.groupby(CHUNK_COLUMN):
        labelled = part[part[Y_TRUE].notna()]
        y, p, d = labelled[Y_TRUE].to_numpy(), labelled[SCORE_COLUMN].to_numpy(), labelled[Y_PRED].to_numpy()
        auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else np.nan
        cost = cost_per_1000(y, d)
        values[(chunk, "roc_auc")], values[(chunk, "business_cost_per_1000")] = auc, cost
    return np.array([values.get((c, m), np.nan) for c, m in zip(estimates["chunk"], estimates["metric"], strict=True)])


def missing(result: Any, reference: pd.DataFrame) -> pd.DataFrame:
    """Missing rates. The threshold is NannyML's, but never less than the reference rate + 1 point:
    a field (almost) never missing in the reference would otherwise alert on a single blank."""
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = []
    for feature in [c[0] for c in df.columns if c[0] != "chunk" and c[1] == "value"]:
        part, base = df[feature], float(reference[feature].isna().mean())
        rate = part["value"].astype(float)
        upper = np.maximum(part["upper_threshold"].astype(float).fillna(0.0), base + MISSING_TOLERANCE)
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "rate": rate,
                    "reference_rate": base,
                    "upper_threshold": upper,
                    "alert": pd.array(rate > upper, dtype="boolean"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def unseen(result: Any, data: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Labels absent from the reference, per chunk. A missing value is not a label: NannyML counts nulls as
    unseen when the reference had none, which made every allowed blank an "unseen label" alert. The rate
    and the verdict are therefore computed here, on the non-null values; NannyML only gives the chunks."""
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = []
    for feature in [c[0] for c in df.columns if c[0] != "chunk" and c[1] == "value"]:
        column = data[feature]
        new = column.notna() & ~column.isin(set(reference[feature].dropna()))
        by_chunk = data[CHUNK_COLUMN]
        rate = new.groupby(by_chunk).mean().reindex(chunk).to_numpy(dtype=float)
        found = column.where(new).groupby(by_chunk).agg(lambda s: sorted(set(s.dropna())))
        values = [found.get(c, []) for c in chunk]
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "rate": rate,
                    "values": values,
                    "alert": pd.array(
                        [r >= UNSEEN_RATE and bool(v) for r, v in zip(rate, values, strict=True)], dtype="boolean"
                    ),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
