"""The data a gate judges on: a common holdout, and the labelled production rows when a log is given.

Holdout: when both models were trained on the synthetic population (the project's default), a fresh
draw of it with a seed reserved for the gate: rows neither model was fitted or tuned on, the same for
both, the same on every run. Otherwise (a real CSV) the champion's stored holdout, `reference.parquet`
(labelled, never fitted on by the champion); the record then says the candidate may have seen those
rows if it was trained on other data.

Production: every logged prediction is re-scored by both models. Approval rates need no label, so the
fairness checks use all of them; AUC, cost and calibration use only the rows with an outcome in
force, which are approved loans only (accepts-only: the refused applicants never get an outcome).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.model import REFERENCE_FILE
from scoring.schema import RAW_COLUMNS, TARGET_COLUMN

HOLDOUT_SEED = 917_017  # never a training seed of this project (those are small integers)
HOLDOUT_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class Evidence:
    """One data set: the 120 raw columns and TARGET (NaN where no outcome is known)."""

    name: str
    frame: pd.DataFrame
    description: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> int:
        return int(self.frame[TARGET_COLUMN].notna().sum())


def _synthetic(metadata: dict[str, Any]) -> bool:
    return str(metadata.get("data", {}).get("source", "")).startswith("synthetic")


def holdout(
    champion_meta: dict[str, Any],
    candidate_meta: dict[str, Any],
    *,
    champion_dir: Path,
    rows: int = HOLDOUT_ROWS,
    seed: int = HOLDOUT_SEED,
) -> Evidence:
    """The common holdout (see the module docstring for which one and why)."""
    if _synthetic(champion_meta) and _synthetic(candidate_meta):
        used = {champion_meta["data"].get("seed"), candidate_meta["data"].get("seed")}
        if seed in used:
            raise ValueError(f"holdout seed {seed} is a training seed of one of the models; choose another")
        from scoring.synth.generate import generate_applications

        frame = generate_applications(rows, seed=seed)
        description = {"source": "synthetic", "rows": rows, "seed": seed, "labelled": rows}
        return Evidence("holdout", frame[[TARGET_COLUMN, *RAW_COLUMNS]].astype({TARGET_COLUMN: float}), description)
    frame = pd.read_parquet(champion_dir / REFERENCE_FILE)
    same = champion_meta.get("data", {}).get("fingerprint") == candidate_meta.get("data", {}).get("fingerprint")
    description = {
        "source": f"champion {REFERENCE_FILE} (its training holdout)",
        "rows": len(frame),
        "labelled": len(frame),
        "candidate_trained_on_same_data": same,
    }
    return Evidence("holdout", frame[[TARGET_COLUMN, *RAW_COLUMNS]].astype({TARGET_COLUMN: float}), description)


def trained_until(metadata: dict[str, Any]) -> pd.Timestamp | None:
    """The last logged prediction a retrain from the log may have learnt from (None: not such a retrain)."""
    last = metadata.get("data", {}).get("production", {}).get("production_last_ts")
    if not last:
        return None
    moment = pd.Timestamp(last)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment


def production(
    predictions: pd.DataFrame, outcomes: pd.DataFrame, *, source: str, exclude_until: pd.Timestamp | None = None
) -> Evidence:
    """Logged predictions with the outcome in force of each (`outcomes`: request_id, defaulted).

    `exclude_until`: the candidate was retrained on labelled rows of this log logged up to then; their
    labels are dropped here (the rows still count for approval rates), else the candidate would be
    judged on the very rows it was fitted on.
    """
    by_id = dict(zip(outcomes["request_id"], outcomes["defaulted"].astype(float), strict=True))
    target = predictions["request_id"].map(by_id).astype(float).to_numpy() if len(predictions) else np.array([])
    excluded = 0
    if exclude_until is not None and len(predictions):
        seen = (pd.to_datetime(predictions["ts"], utc=True) <= exclude_until.tz_convert("UTC")).to_numpy()
        excluded = int((seen & np.isfinite(target)).sum())
        target = np.where(seen, np.nan, target)
    frame = predictions[list(RAW_COLUMNS)].assign(**{TARGET_COLUMN: target})
    ts = predictions["ts"] if "ts" in predictions and len(predictions) else pd.Series([], dtype=object)
    served = predictions["model_version"].dropna().unique() if "model_version" in predictions else []
    description = {
        "source": source,
        "rows": len(frame),
        "labelled": int(np.isfinite(target).sum()),
        "first": str(ts.min()) if len(ts) else None,
        "last": str(ts.max()) if len(ts) else None,
        "served_by": sorted(map(str, served)),
        "labels_dropped_candidate_trained_on": excluded,
    }
    return Evidence("production", frame, description)
