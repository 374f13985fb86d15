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


def reference_rates(reference: pd.DataFrame, groups: pd.DataFrame, *, min_rows: int) -> dict[str, pd.Series]:
    """Approval rate of each group on the reference (its decisions at the threshold), groups of `min_rows`+."""
    out = {}
    for attribute in ATTRIBUTES:
        frame = pd.DataFrame({"group": groups[attribute].to_numpy(), "approved": (reference[Y_PRED] == 0).to_numpy()})
        by = frame.dropna().groupby("group")["approved"]
        rates, counts = by.mean(), by.size()
        out[attribute] = rates[counts >= min_rows].rename(index=str)
    return out


def reference_gaps(rates: dict[str, pd.Series]) -> dict[str, float]:
    """The reference's gap over all its groups (what the chart and the summary show)."""
    return {a: float(r.max() - r.min()) if len(r) >= 2 else np.nan for a, r in rates.items()}


def gap_table(groups_by_chunk: pd.DataFrame, reference: dict[str, pd.Series], *, min_rows: int) -> pd.DataFrame:
    """Per chunk and attribute: the gap over the groups with `min_rows`+ rows there, the reference's gap over
    the same groups (a chunk missing its smallest group must not look fairer), and how far it moved."""
    rows = []
    for (chunk, key, attribute), part in groups_by_chunk.groupby(["chunk", "key", "attribute"], sort=True):
        ref_rates = reference.get(attribute, pd.Series(dtype=float))
        kept = part[(part["rows"] >= min_rows) & part["group"].isin(ref_rates.index)].set_index("group")
        if len(kept) >= 2:
            value = float(kept["approval_rate"].max() - kept["approval_rate"].min())
            same = ref_rates.reindex(kept.index)
            ref = float(same.max() - same.min())
            rows.append([chunk, key, attribute, len(kept), value, ref, abs(value - ref)])
        else:
            rows.append([chunk, key, attribute, len(kept), np.nan, np.nan, np.nan])
    return pd.DataFrame(rows, columns=GAP_COLUMNS)
