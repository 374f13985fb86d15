"""Fairness over time: approval rate per chunk by CODE_GENDER and by age band, and realized AUC by group.

The gap of an attribute in a chunk is the largest minus the smallest approval rate among its groups
with at least `min_rows` rows there. What matters is how far that gap moved from the reference's own
gap (the model was accepted with it): `alerts.outcomes` raises when it moves beyond a tolerance.
Realized AUC by group is given where a group has enough labelled rows of both classes (accepts-only).
CODE_GENDER is logged for this monitoring only; it is never a model input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.drift.result import SCORE_COLUMN
from monitoring.drift.tables import CHUNK_COLUMN, Y_PRED, Y_TRUE

AGE_BANDS = ((18, 30, "18-29"), (30, 45, "30-44"), (45, 60, "45-59"), (60, 200, "60+"))
ATTRIBUTES = ("CODE_GENDER", "age_band")
GROUP_COLUMNS = ["chunk", "key", "attribute", "group", "rows", "approval_rate", "labelled", "roc_auc"]
GAP_COLUMNS = ["chunk", "key", "attribute", "groups", "gap", "reference_gap", "moved"]


def age_band(days_birth: pd.Series) -> pd.Series:
    years = -pd.to_numeric(days_birth, errors="coerce") / 365.25
    labels = pd.Series(pd.NA, index=days_birth.index, dtype=object)
    for low, high, label in AGE_BANDS:
        labels[(years >= low) & (years < high)] = label
    return labels


def groups_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The protected attributes of each row, as labels (missing stays missing)."""
    gender = frame["CODE_GENDER"].astype(object) if "CODE_GENDER" in frame else pd.Series(pd.NA, index=frame.index)
    days = frame["DAYS_BIRTH"] if "DAYS_BIRTH" in frame else pd.Series(np.nan, index=frame.index)
    return pd.DataFrame({"CODE_GENDER": gender.where(gender.notna(), pd.NA), "age_band": age_band(days)})


def _auc(part: pd.DataFrame, min_labels: int) -> float:
    labelled = part[part[Y_TRUE].notna()] if Y_TRUE in part else part.iloc[:0]
    y = labelled[Y_TRUE].to_numpy(int) if len(labelled) else np.array([], int)
    if len(labelled) < min_labels or len(np.unique(y)) < 2:
        return np.nan
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, labelled[SCORE_COLUMN].to_numpy(float)))


def group_table(data: pd.DataFrame, groups: pd.DataFrame, chunks: pd.DataFrame, *, min_labels: int) -> pd.DataFrame:
    """Per chunk, attribute and group: rows, approval rate, labelled rows and realized AUC (NaN if too few)."""
    keys = dict(zip(chunks["chunk"], chunks["key"], strict=True))
    rows = []
    for attribute in ATTRIBUTES:
        frame = data.assign(_group=groups[attribute].to_numpy()).dropna(subset=["_group"])
        for (chunk, group), part in frame.groupby([CHUNK_COLUMN, "_group"], sort=True):
            labelled = int(part[Y_TRUE].notna().sum()) if Y_TRUE in part else 0
            approval = float((part[Y_PRED] == 0).mean())
            rows.append(
                [chunk, keys.get(chunk), attribute, str(group), len(part), approval, labelled, _auc(part, min_labels)]
            )
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def gap(rates: pd.Series, counts: pd.Series, *, min_rows: int) -> tuple[float, int]:
    """Largest minus smallest approval rate among the groups with at least `min_rows` rows."""
    kept = rates[counts >= min_rows]
    return (float(kept.max() - kept.min()), len(kept)) if len(kept) >= 2 else (np.nan, len(kept))


def reference_gaps(reference: pd.DataFrame, groups: pd.DataFrame, *, min_rows: int) -> dict[str, float]:
    """The gap of each attribute on the reference (its decisions at the threshold), the one to compare with."""
    out = {}
    for attribute in ATTRIBUTES:
        frame = pd.DataFrame({"group": groups[attribute].to_numpy(), "approved": (reference[Y_PRED] == 0).to_numpy()})
        frame = frame.dropna()
        by = frame.groupby("group")["approved"]
        out[attribute] = gap(by.mean(), by.size(), min_rows=min_rows)[0]
    return out


def gap_table(groups_by_chunk: pd.DataFrame, reference: dict[str, float], *, min_rows: int) -> pd.DataFrame:
    """Per chunk and attribute: the approval-rate gap, the reference's, and how far it moved."""
    rows = []
    for (chunk, key, attribute), part in groups_by_chunk.groupby(["chunk", "key", "attribute"], sort=True):
        value, n = gap(part.set_index("group")["approval_rate"], part.set_index("group")["rows"], min_rows=min_rows)
        ref = reference.get(attribute, np.nan)
        rows.append([chunk, key, attribute, n, value, ref, abs(value - ref) if np.isfinite(value) else np.nan])
    return pd.DataFrame(rows, columns=GAP_COLUMNS)
