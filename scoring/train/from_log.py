"""Labelled production rows back into training rows (`python -m scoring.train --from-log DIR`).

Pure frames in, frames out: the command line reads the prediction log and the outcomes in force
(`monitoring.log.reader`, `monitoring.outcomes.store.labelled`) and hands them here, so `scoring`
below its command line never depends on `monitoring`. A logged prediction carries the 120 raw
inputs under their Home Credit names; joined with its recorded outcome it is one more training row
(`TARGET` = defaulted), typed like the original data so the two concatenate into one frame.

Only approved applicants ever get an outcome (a refused one gets no loan): these rows are a biased
sample of the population, which is why they are added to the original data rather than replacing it
(docs/model-lifecycle.md, "Retraining from production").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.schema import CATEGORICAL, FIELDS, RAW_COLUMNS, TARGET_COLUMN


@dataclass(frozen=True, slots=True)
class ProductionRows:
    """The labelled production rows as training rows, and what they are made of (tracked in MLflow)."""

    frame: pd.DataFrame  # RAW_COLUMNS + TARGET, one row per labelled prediction
    facts: dict[str, Any] = field(default_factory=dict)


def production_rows(predictions: pd.DataFrame, labels: pd.DataFrame, *, weight: float = 1.0) -> ProductionRows:
    """Join the logged `predictions` (read_log's frame) with `labels` (request_id -> defaulted, the
    outcomes in force) into training rows; `facts` counts them for the run's parameters.

    A prediction without an outcome (refused, or not matured yet) is left out; a request id logged
    twice is taken once. Raises ValueError when nothing is labelled: a retrain "from production"
    without a single production row would silently be the original training again.
    """
    if weight <= 0 or not np.isfinite(weight):
        raise ValueError(f"the weight of a production row must be a positive number, not {weight}")
    missing = [c for c in ("request_id", "ts", "decision", *RAW_COLUMNS) if c not in predictions.columns]
    if missing:
        raise ValueError(f"the prediction log lacks column(s) {', '.join(missing[:5])}")
    logged = predictions.drop_duplicates("request_id", keep="first")
    outcome = dict(zip(labels["request_id"], labels["defaulted"].astype(bool), strict=True))
    joined = logged[logged["request_id"].isin(outcome.keys())]
    if not len(joined):
        raise ValueError(
            f"no labelled production row: {len(logged):,} logged predictions, {len(outcome):,} outcomes in force, "
            "none of them matching (are the outcomes recorded against this log?)"
        )
    frame = training_frame(joined)
    frame[TARGET_COLUMN] = joined["request_id"].map(outcome).astype("int64").to_numpy()
    approved = int((logged["decision"] == "approve").sum())
    stamps = pd.to_datetime(joined["ts"], utc=True)
    facts = {
        "production_rows": len(frame),
        "production_predictions": len(logged),
        "production_approved": approved,
        "production_label_coverage": round(len(frame) / len(logged), 4),
        "production_label_coverage_approved": round(len(frame) / approved, 4) if approved else 0.0,
        "production_default_rate": round(float(frame[TARGET_COLUMN].mean()), 4),
        "production_first_ts": stamps.min().isoformat(),
        "production_last_ts": stamps.max().isoformat(),
        "production_model_versions": ",".join(sorted(map(str, joined["model_version"].dropna().unique())))
        if "model_version" in joined.columns
        else "",
        "production_weight": float(weight),
    }
    return ProductionRows(frame=content_order(frame), facts=facts)


def content_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by a hash of their content: concurrent requests reach the log in any order, and
    LightGBM's bagging depends on row order, so the same labelled rows must give the same model."""
    keys = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return frame.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)


def training_frame(logged: pd.DataFrame) -> pd.DataFrame:
    """The 120 raw columns of logged rows with the original data's types: labels as `str` (missing
    stays missing; a label the schema does not know is kept, the encoder treats it as missing),
    whole numbers as int64, and float64 for the rest (an integer field the service accepted as
    missing, or fractional, stays a visible float rather than a made-up value)."""
    columns: dict[str, pd.Series] = {}
    for name in RAW_COLUMNS:
        values = logged[name].reset_index(drop=True)
        if name in CATEGORICAL:
            columns[name] = values.astype(object).where(values.notna(), None).astype("str")
            continue
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        whole = FIELDS[name].kind in ("int", "flag") and numbers.notna().all() and (numbers == np.round(numbers)).all()
        columns[name] = numbers.astype("int64") if whole else numbers
    return pd.DataFrame(columns, columns=list(RAW_COLUMNS))
