"""Champion vs challenger on the rows both scored: agreement, swaps, score correlation, CBPE and realized figures.

The challenger runs in shadow: each logged row may carry `challenger_probability` (NaN when it did not
score the row), `challenger_decision` ("approve"/"refuse") and `challenger_version`. Every figure here is
on the rows where both models gave a decision; the champion's own columns are `probability`/`decision`.

- agreement: the share of those rows with the same decision; the swap matrix counts the two ways they
  part (champion approves / challenger refuses, and the reverse), as counts and as shares of the rows;
- score correlation: Pearson (linear) and Spearman (rank order, what a threshold decision depends on);
- per chunk (`monitoring.drift.chunking`, the drift result's chunks): the same, over time;
- CBPE of both: each model's `ScoreEstimator` (fitted on its own scores of the reference) on the same rows;
- realized, where outcomes exist: ROC AUC and business cost of both on the same labelled rows. Outcomes
  exist only for loans the champion approved, so both are judged on the champion's accepts: the
  challenger's refusals there count as lost good clients or avoided defaults, its approvals of rows the
  champion refused are never judged.

Plain functions of frames; the estimators come from `monitoring.drift.pair_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from monitoring.alerts.pair import AGREEMENT_FLOOR, agreement_alerts
from monitoring.drift.chunking import MIN_CHUNK_ROWS, Chunking, assign_chunks
from monitoring.drift.performance import nannyml_metrics
from monitoring.drift.realized import outcome_labels
from monitoring.drift.result import json_value
from monitoring.outcomes.store import labelled
from scoring.costs import cost_per_1000
from scoring.errors import MonitoringError

if TYPE_CHECKING:
    from monitoring.drift.monitor import ScoreEstimator

PROBABILITY, DECISION, VERSION = "challenger_probability", "challenger_decision", "challenger_version"
CHALLENGER_COLUMNS = (PROBABILITY, DECISION, VERSION)
SWAPS = {"approve_to_refuse": ("approve", "refuse"), "refuse_to_approve": ("refuse", "approve")}
MODELS = ("champion", "challenger")
SAMPLE_ROWS = 2_000  # both-scored rows kept for the score scatter
CHUNK_COLUMNS = [
    "chunk",
    "key",
    "rows",
    "both",
    "coverage",
    "enough",
    "agreement",
    "approve_to_refuse",
    "refuse_to_approve",
    "pearson",
    "spearman",
    "challenger_version",
    "champion_estimated_roc_auc",
    "challenger_estimated_roc_auc",
    "champion_estimated_cost_per_1000",
    "challenger_estimated_cost_per_1000",
]


def has_challenger(predictions: pd.DataFrame) -> bool:
    """True when at least one row carries a challenger score."""
    return PROBABILITY in predictions and bool(pd.to_numeric(predictions[PROBABILITY], errors="coerce").notna().any())


def both_scored(predictions: pd.DataFrame) -> pd.DataFrame:
    """The rows with a decision from both models (a finite challenger score and an approve/refuse)."""
    if not has_challenger(predictions) or DECISION not in predictions:
        return predictions.iloc[:0]
    score = pd.to_numeric(predictions[PROBABILITY], errors="coerce")
    keep = np.isfinite(score.to_numpy(float)) & predictions[DECISION].isin(["approve", "refuse"]).to_numpy()
    return predictions[keep]


def swap_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts: index the champion's decision, columns the challenger's (approve, refuse both ways)."""
    labels = ["approve", "refuse"]
    champion = pd.Categorical(rows["decision"].astype(str), categories=labels)
    challenger = pd.Categorical(rows[DECISION].astype(str), categories=labels)
    table = pd.crosstab(champion, challenger, dropna=False).reindex(index=labels, columns=labels, fill_value=0)
    table.index.name, table.columns.name = "champion", "challenger"
    return table.astype(int)


def _correlations(rows: pd.DataFrame) -> tuple[float, float]:
    a, b = rows["probability"].to_numpy(float), rows[PROBABILITY].to_numpy(float)
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan"), float("nan")
    ranks = pd.DataFrame({"a": a, "b": b}).rank()
    return float(np.corrcoef(a, b)[0, 1]), float(np.corrcoef(ranks["a"], ranks["b"])[0, 1])


def agreement(rows: pd.DataFrame) -> dict[str, Any]:
    """Agreement rate, both swaps (count and share of `rows`) and the two correlations, on both-scored rows."""
    matrix, n = swap_matrix(rows), len(rows)
    share = (lambda count: count / n) if n else (lambda count: float("nan"))
    pearson, spearman = _correlations(rows)
    out: dict[str, Any] = {"rows": n, "agree": int(np.trace(matrix.to_numpy()))}
    out["agreement"] = share(out["agree"])
    for name, (champion, challenger) in SWAPS.items():
        out[name] = int(matrix.loc[champion, challenger])
        out[f"{name}_rate"] = share(out[name])
    out |= {
        "champion_approval_rate": share(int(matrix.loc["approve"].sum())),
        "challenger_approval_rate": share(int(matrix["approve"].sum())),
        "pearson": pearson,
        "spearman": spearman,
    }
    return out


def agreement_by_chunk(predictions: pd.DataFrame, chunking: Chunking) -> pd.DataFrame:
    """One row per chunk of all predictions (the drift result's chunks): agreement, swaps, correlations."""
    frame = predictions.sort_values("ts", kind="stable").reset_index(drop=True)
    if not len(frame):
        return pd.DataFrame(columns=CHUNK_COLUMNS)
    chunks, index = assign_chunks(frame, chunking)
    rows = both_scored(frame.assign(_chunk=index))
    records = []
    for chunk, key, total in chunks[["chunk", "key", "rows"]].itertuples(index=False):
        part = rows[rows["_chunk"] == chunk]
        figures = agreement(part)
        versions = part[VERSION].dropna().astype(str) if VERSION in part else pd.Series([], dtype=str)
        records.append(
            {
                "chunk": chunk,
                "key": key,
                "rows": int(total),
                "both": len(part),
                "coverage": len(part) / total if total else float("nan"),
                "enough": len(part) >= MIN_CHUNK_ROWS,
                "agreement": figures["agreement"],
                "approve_to_refuse": figures["approve_to_refuse_rate"],
                "refuse_to_approve": figures["refuse_to_approve_rate"],
                "pearson": figures["pearson"],
                "spearman": figures["spearman"],
                "challenger_version": versions.mode().iloc[0] if len(versions) else None,
            }
        )
    table = pd.DataFrame.from_records(records)
    for column in CHUNK_COLUMNS[-4:]:
        table[column] = np.nan
    return table[CHUNK_COLUMNS]


def estimate(estimator: ScoreEstimator, scores: np.ndarray, chunk: np.ndarray) -> pd.DataFrame:
    """CBPE's ROC AUC and cost per 1,000 per chunk for one model's `scores` (chunk, roc_auc, cost_per_1000)."""
    try:
        return nannyml_metrics(estimator.cbpe, estimator.frame(scores, chunk), estimate=True)
    except Exception as exc:  # NannyML raises its own and foreign types
        raise MonitoringError(f"CBPE of the pair failed: {exc}") from exc


def realized_pair(rows: pd.DataFrame, outcomes: pd.DataFrame | None, *, min_labels: int) -> dict[str, Any]:
    """ROC AUC and cost per 1,000 of both models on the same labelled both-scored rows (accepts-only)."""
    from sklearn.metrics import roc_auc_score

    has = outcomes is not None and len(outcomes) and len(rows)
    y = outcome_labels(rows, labelled(outcomes)) if has else np.full(len(rows), np.nan)
    known = rows[np.isfinite(y)]
    target = y[np.isfinite(y)].astype(int)
    out: dict[str, Any] = {"labelled": len(known), "enough_labels": len(known) >= min_labels, "defaults": None}
    for model in MODELS:
        out |= {f"{model}_roc_auc": float("nan"), f"{model}_cost_per_1000": float("nan")}
    if not out["enough_labels"]:
        return out
    out["defaults"] = int(target.sum())
    decisions = {"champion": known["decision"].astype(str), "challenger": known[DECISION].astype(str)}
    scores = {"champion": known["probability"].to_numpy(float), "challenger": known[PROBABILITY].to_numpy(float)}
    for model in MODELS:
        if len(np.unique(target)) == 2:
            out[f"{model}_roc_auc"] = float(roc_auc_score(target, scores[model]))
        out[f"{model}_cost_per_1000"] = cost_per_1000(target, (decisions[model] == "refuse").to_numpy(int))
    return out


@dataclass(slots=True)
class PairResult:
    """What the pair analysis found in one window; `by_chunk` is one row per chunk (CHUNK_COLUMNS)."""

    overall: dict[str, Any]
    matrix: pd.DataFrame
    by_chunk: pd.DataFrame
    estimated: dict[str, Any]  # champion_/challenger_ estimated_roc_auc and _cost_per_1000 on all both-scored rows
    realized: dict[str, Any]
    versions: dict[str, list[str]]
    challenger_reference: bool  # False: no challenger scores of the reference, so no CBPE for it
    thresholds: dict[str, float]  # each model's decision threshold (NaN when its estimator is absent)
    scores: pd.DataFrame  # probability, challenger_probability: an even sample of both-scored rows (charts)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        records = [{k: json_value(v) for k, v in row.items()} for row in self.by_chunk.to_dict("records")]
        return {
            "overall": {k: json_value(v) for k, v in self.overall.items()},
            "swap_matrix": {c: {k: int(v) for k, v in row.items()} for c, row in self.matrix.iterrows()},
            "estimated": {k: json_value(v) for k, v in self.estimated.items()},
            "realized": {k: json_value(v) for k, v in self.realized.items()},
            "versions": self.versions,
            "challenger_reference": self.challenger_reference,
            "thresholds": {k: json_value(v) for k, v in self.thresholds.items()},
            "chunks": records,
            "alerts": self.alerts,
        }


def _fill_estimates(
    table: pd.DataFrame, rows: pd.DataFrame, index: np.ndarray, estimators: dict[str, ScoreEstimator | None]
) -> dict[str, Any]:
    """CBPE of each model per chunk (chunks with enough both-scored rows) and over all of them, in place."""
    overall = {f"{m}_estimated_{k}": float("nan") for m in MODELS for k in ("roc_auc", "cost_per_1000")}
    scores = {"champion": rows["probability"].to_numpy(float), "challenger": rows[PROBABILITY].to_numpy(float)}
    enough = np.isin(index, table.loc[table["enough"], "chunk"].to_numpy())
    for model, estimator in estimators.items():
        if estimator is None or len(rows) < MIN_CHUNK_ROWS:
            continue
        whole = estimate(estimator, scores[model], np.zeros(len(rows), int)).iloc[0]
        overall |= {f"{model}_estimated_{k}": float(whole[k]) for k in ("roc_auc", "cost_per_1000")}
        if enough.any():
            per_chunk = estimate(estimator, scores[model][enough], index[enough]).set_index("chunk")
            for k in ("roc_auc", "cost_per_1000"):
                table[f"{model}_estimated_{k}"] = per_chunk[k].reindex(table["chunk"]).to_numpy(float)
    return overall


def _threshold(estimator: ScoreEstimator | None, rows: pd.DataFrame | None) -> float:
    """The estimator's threshold, else the one logged with the champion's rows, else NaN."""
    if estimator is not None:
        return float(estimator.threshold)
    if rows is not None and "threshold" in rows and rows["threshold"].notna().any():
        return float(rows["threshold"].median())
    return float("nan")


def analyse_pair(
    predictions: pd.DataFrame,
    *,
    chunking: Chunking,
    outcomes: pd.DataFrame | None = None,
    champion: ScoreEstimator | None = None,
    challenger: ScoreEstimator | None = None,
    min_labels: int = 200,
    floor: float = AGREEMENT_FLOOR,
) -> PairResult | None:
    """The whole pair analysis of a window (alerts below the agreement `floor`), or None without challenger rows."""
    if not has_challenger(predictions):
        return None
    frame = predictions.sort_values("ts", kind="stable").reset_index(drop=True)
    by_chunk = agreement_by_chunk(frame, chunking)
    index = assign_chunks(frame, chunking)[1]
    keep = both_scored(frame).index.to_numpy()
    rows, row_chunks = frame.loc[keep], index[keep]
    estimated = _fill_estimates(by_chunk, rows, row_chunks, {"champion": champion, "challenger": challenger})
    pair = PairResult(
        overall=agreement(rows),
        matrix=swap_matrix(rows),
        by_chunk=by_chunk,
        estimated=estimated,
        realized=realized_pair(rows, outcomes, min_labels=min_labels),
        versions={
            "champion": sorted(rows["model_version"].dropna().astype(str).unique()) if "model_version" in rows else [],
            "challenger": sorted(rows[VERSION].dropna().astype(str).unique()) if VERSION in rows else [],
        },
        challenger_reference=challenger is not None,
        thresholds={"champion": _threshold(champion, rows), "challenger": _threshold(challenger, None)},
        scores=rows[["probability", PROBABILITY]].iloc[:: max(1, len(rows) // SAMPLE_ROWS)].reset_index(drop=True),
    )
    pair.alerts = agreement_alerts(by_chunk, floor=floor)
    return pair
