"""The pair's CBPE estimators: champion and challenger, each fitted on its own scores of the one reference set.

CBPE needs, per model, scores on labelled rows it was not trained on. The reference set is the
champion's holdout, `model/reference.parquet` (inputs, `TARGET`, the champion's `probability`). The
challenger's scores of it are computed, not logged: the analysis job carries the challenger's model
folder (`AnalysisJob.challenger_dir`, the local folder the service resolved from `CHALLENGER_URI` at
startup), and the analysis worker scores the reference's inputs with it through the one scoring path
(`scoring.predict.Scorer.score_frame`), once per process and folder (about 3 s of CPU for 30,000 rows).
Rows the challenger's validation refuses get no score and are left out of its fit.

Caveat: a challenger retrained on the original data may have seen some reference rows in training;
its estimate is then optimistic. `scoring.train --from-log` keeps the same holdout, which avoids it.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts.model import SEVERITY_RANK
from monitoring.alerts.pair import AGREEMENT_FLOOR
from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import ScoreEstimator, fit_score_estimator, load_reference
from monitoring.drift.pair import PairResult, analyse_pair, has_challenger
from monitoring.drift.result import SCORE_COLUMN, MonitoringResult
from monitoring.drift.tables import Y_TRUE
from scoring.errors import ServiceError

log = logging.getLogger(__name__)


@cache
def champion_estimator(model_dir: str) -> ScoreEstimator:
    """The champion's CBPE from the reference's own scores and its threshold (metadata.json)."""
    from scoring.model import METADATA_FILE

    reference = load_reference(model_dir)
    threshold = float(json.loads((Path(model_dir) / METADATA_FILE).read_text(encoding="utf-8"))["threshold"])
    return fit_score_estimator(
        reference[SCORE_COLUMN].to_numpy(float), reference[Y_TRUE].to_numpy(), threshold=threshold
    )


def challenger_reference_scores(model_dir: str, challenger_dir: str) -> tuple[np.ndarray, float]:
    """The challenger's probabilities of the reference rows (NaN where refused) and its threshold."""
    from scoring.model import load_model
    from scoring.predict import Scorer
    from scoring.schema import RAW_COLUMNS

    reference = load_reference(model_dir)
    model = load_model(challenger_dir)
    scored = Scorer(model).score_frame(reference[list(RAW_COLUMNS)])
    scores = np.full(len(reference), np.nan)
    scores[scored.indices] = scored.probabilities
    return scores, float(model.threshold)


@cache
def challenger_estimator(model_dir: str, challenger_dir: str) -> ScoreEstimator:
    """The challenger's CBPE: its own scores of the champion's reference rows, the same labels."""
    scores, threshold = challenger_reference_scores(model_dir, challenger_dir)
    target = load_reference(model_dir)[Y_TRUE].to_numpy()
    return fit_score_estimator(scores, target, threshold=threshold)


def pair_analysis(
    predictions: pd.DataFrame,
    *,
    chunking: Chunking,
    outcomes: pd.DataFrame | None,
    model_dir: str,
    challenger_dir: str | None,
    min_labels: int,
    floor: float = AGREEMENT_FLOOR,
) -> PairResult | None:
    """The window's pair analysis with both estimators (None without challenger rows).

    A challenger folder that cannot be loaded or scored costs only its CBPE (logged), never the analysis.
    """
    if not has_challenger(predictions):
        return None
    challenger = None
    if challenger_dir:
        try:
            challenger = challenger_estimator(model_dir, challenger_dir)
        except ServiceError as exc:
            log.warning("no CBPE for the challenger", extra={"challenger_dir": challenger_dir, "error": str(exc)})
    return analyse_pair(
        predictions,
        chunking=chunking,
        outcomes=outcomes,
        champion=champion_estimator(model_dir),
        challenger=challenger,
        min_labels=min_labels,
        floor=floor,
    )


def with_pair_alerts(result: MonitoringResult) -> list[dict[str, Any]]:
    """The result's alerts with the pair's merged in, most severe first (as `calculate_with_outcomes` orders)."""
    merged = [*result.alerts, *(result.pair.alerts if result.pair is not None else [])]
    return sorted(merged, key=lambda a: (SEVERITY_RANK[a["severity"]], -len(a["chunks"])))
