"""Realized performance: per chunk, on the rows that have an outcome, beside CBPE's estimate on the same rows.

Outcomes exist for approved loans only (a refused applicant never gets a loan to default on), so
every realized figure here is an accepts-only figure: ROC AUC within the approved band of scores
(lower than on everyone, the range is cut), business cost per 1,000 that can only count missed
defaults (10 per default), and the default rate among approved loans. It is compared with the same
accepts-only figures on the reference (its rows the model would have approved) and with CBPE's
estimate on the very rows that were labelled, so "did the estimate hold" is like for like.

NannyML computes both sides: its `PerformanceCalculator` (realized) and the monitor's CBPE
(estimated), through `DriftMonitor.realized_calculator` / `estimator`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitoring.drift.result import SCORE_COLUMN
from monitoring.drift.tables import CHUNK_COLUMN, Y_PRED, Y_TRUE
from scoring.costs import cost_per_1000
from scoring.errors import MonitoringError

if TYPE_CHECKING:
    from monitoring.drift.monitor import DriftMonitor

COLUMNS = [
    "chunk",
    "key",
    "rows",
    "approved",
    "labelled",
    "coverage",
    "approved_coverage",
    "enough_labels",
    "roc_auc",
    "cost_per_1000",
    "default_rate",
    "approved_labelled",
    "defaults",
    "estimated_roc_auc",
    "estimated_cost_per_1000",
]


def reference_accepts(monitor: DriftMonitor) -> dict[str, float]:
    """The reference's accepts-only figures: what realized metrics on approved loans should look like."""
    reference = monitor.reference
    if reference is None:
        raise MonitoringError("fit the monitor on the reference first")
    from sklearn.metrics import roc_auc_score

    approved = reference[reference[Y_PRED] == 0]
    y, p = approved[Y_TRUE].to_numpy(int), approved[SCORE_COLUMN].to_numpy(float)
    return {
        "rows": len(approved),
        "approval_rate": float(len(approved) / max(len(reference), 1)),
        "roc_auc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan"),
        "cost_per_1000": cost_per_1000(y, approved[Y_PRED].to_numpy(int)),
        "default_rate": float(y.mean()) if len(y) else float("nan"),
    }


def nannyml_metrics(calculator: Any, data: pd.DataFrame, *, estimate: bool) -> pd.DataFrame:
    """chunk -> roc_auc, cost_per_1000 from a NannyML calculator (realized) or estimator (CBPE)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = calculator.estimate(data) if estimate else calculator.calculate(data)
    df = result.filter(period="analysis").to_df()
    key = ("chunk", "key") if ("chunk", "key") in df else ("chunk", "chunk", "key")
    chunk = pd.to_numeric(df[key]).to_numpy(int)
    rows = data.groupby(CHUNK_COLUMN).size().reindex(chunk).to_numpy(float)
    value = df[("business_value", "value")].to_numpy(float)  # a total per chunk (see tables.performance)
    return pd.DataFrame(
        {"chunk": chunk, "roc_auc": df[("roc_auc", "value")].to_numpy(float), "cost_per_1000": -1000.0 * value / rows}
    )


def realized_table(monitor: DriftMonitor, data: pd.DataFrame, chunks: pd.DataFrame, *, min_labels: int) -> pd.DataFrame:
    """One row per chunk: coverage, and realized vs estimated metrics where at least `min_labels` rows are labelled.

    `data` is `monitor.prepare(rows)` plus `CHUNK_COLUMN` and `Y_TRUE` (1 defaulted, 0 repaid, NaN unknown).
    """
    grouped = data.groupby(CHUNK_COLUMN)
    table = chunks[["chunk", "key"]].copy()
    table["rows"] = grouped.size().reindex(table["chunk"]).fillna(0).to_numpy(int)
    table["approved"] = (
        grouped[Y_PRED].agg(lambda s: int((s == 0).sum())).reindex(table["chunk"]).fillna(0).to_numpy(int)
    )
    labelled = data[data[Y_TRUE].notna()]
    table["labelled"] = labelled.groupby(CHUNK_COLUMN).size().reindex(table["chunk"]).fillna(0).to_numpy(int)
    table["coverage"] = table["labelled"] / table["rows"].where(table["rows"] > 0)
    table["approved_coverage"] = table["labelled"] / table["approved"].where(table["approved"] > 0)
    table["enough_labels"] = table["labelled"] >= min_labels
    approved = labelled[labelled[Y_PRED] == 0]
    by_chunk = approved.groupby(CHUNK_COLUMN)[Y_TRUE]
    table["approved_labelled"] = by_chunk.size().reindex(table["chunk"]).fillna(0).to_numpy(int)
    table["defaults"] = by_chunk.sum().reindex(table["chunk"]).fillna(0).to_numpy(int)
    table["default_rate"] = by_chunk.mean().reindex(table["chunk"]).to_numpy(float)
    table.loc[~table["enough_labels"], "default_rate"] = np.nan
    for column in ("roc_auc", "cost_per_1000", "estimated_roc_auc", "estimated_cost_per_1000"):
        table[column] = np.nan
    enough = table.loc[table["enough_labels"], "chunk"].to_numpy()
    rows = labelled[np.isin(labelled[CHUNK_COLUMN].to_numpy(), enough)].assign(
        **{Y_TRUE: lambda f: f[Y_TRUE].astype(int)}
    )
    if len(rows):
        _fill(table, monitor, rows)
    return table[COLUMNS]


def _fill(table: pd.DataFrame, monitor: DriftMonitor, rows: pd.DataFrame) -> None:
    try:
        realized = nannyml_metrics(monitor.realized_calculator(), rows, estimate=False)
        median = float(rows.groupby(CHUNK_COLUMN).size().median())
        estimated = nannyml_metrics(monitor.estimator(median), rows, estimate=True)
    except MonitoringError:
        raise
    except Exception as exc:  # NannyML raises its own and foreign types
        raise MonitoringError(f"realized performance failed: {exc}") from exc
    index = table.set_index("chunk").index
    for source, prefix in ((realized, ""), (estimated, "estimated_")):
        by_chunk = source.set_index("chunk")
        for metric in ("roc_auc", "cost_per_1000"):
            table[prefix + metric] = by_chunk[metric].reindex(index).to_numpy(float)


def realized_overall(monitor: DriftMonitor, data: pd.DataFrame, *, min_labels: int) -> dict[str, Any]:
    """The same figures over every labelled row of the window (one chunk), for the headline and the report."""
    labelled = data[data[Y_TRUE].notna()]
    out: dict[str, Any] = {
        "rows": len(data),
        "approved": int((data[Y_PRED] == 0).sum()) if len(data) else 0,
        "labelled": len(labelled),
        "enough_labels": bool(len(labelled) >= min_labels),
    }
    out["coverage"] = out["labelled"] / out["rows"] if out["rows"] else None
    out["approved_coverage"] = out["labelled"] / out["approved"] if out["approved"] else None
    nan = float("nan")
    out |= {"roc_auc": nan, "cost_per_1000": nan, "default_rate": nan, "estimated_roc_auc": nan}
    out["estimated_cost_per_1000"] = nan
    if not out["enough_labels"]:
        return out
    single = labelled.assign(**{CHUNK_COLUMN: 0, Y_TRUE: labelled[Y_TRUE].astype(int)})
    table = pd.DataFrame({"chunk": [0], "key": ["all"]})
    for column in ("roc_auc", "cost_per_1000", "estimated_roc_auc", "estimated_cost_per_1000"):
        table[column] = nan
    _fill(table, monitor, single)
    out |= {c: float(table[c].iloc[0]) for c in ("roc_auc", "cost_per_1000", "estimated_roc_auc")}
    out["estimated_cost_per_1000"] = float(table["estimated_cost_per_1000"].iloc[0])
    approved = single[single[Y_PRED] == 0]
    out["default_rate"] = float(approved[Y_TRUE].mean()) if len(approved) else nan
    return out
