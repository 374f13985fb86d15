"""The served path gives the MLflow model's numbers on the whole reference set, and so its metrics.

The baseline is `mlflow.pyfunc.load_model("model").predict(DataFrame)`, the artifact as MLflow
serves it. Against it, on the 30,000 holdout rows of `model/reference.parquet`:
- the service's own path (`Scorer.score_batch` on JSON-like payloads) and the model call
  (`ScoringModel.predict` on the feature matrix) differ by at most 1e-9, and every decision is the same
  (the service refuses the 2 rows without AMT_ANNUITY, a required field: they are checked as refused);
- each faster runtime of `scoring.runtimes` stays within its tolerance (exact for the Booster-based
  ones, 1e-6 for float32 ONNX) without flipping a decision;
- AUC, business cost and the fairness table agree to 4 decimals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.costs import decide
from scoring.evaluation import classification_metrics, fairness_table
from scoring.features import build_features, encode_frame, feature_frame
from scoring.model import REFERENCE_FILE
from scoring.runtimes import TOLERANCE, make_predictor
from tests.factories import MODEL_DIR

BOOSTER_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_parquet(MODEL_DIR / REFERENCE_FILE)


@pytest.fixture(scope="module")
def features(reference: pd.DataFrame) -> np.ndarray:
    return build_features(encode_frame(reference))


@pytest.fixture(scope="module")
def baseline(features: np.ndarray) -> np.ndarray:
    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(str(MODEL_DIR))
    return np.asarray(pyfunc.predict(feature_frame(features)), dtype=np.float64).ravel()


def _payloads(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a client sends them: missing fields left out, numpy scalars as Python numbers."""
    out = []
    for record in frame.drop(columns=["TARGET", "probability"]).to_dict(orient="records"):
        out.append(
            {
                k: (v.item() if hasattr(v, "item") else v)
                for k, v in record.items()
                if v is not None and not (isinstance(v, float) and math.isnan(v))
            }
        )
    return out


@pytest.fixture(scope="module")
def served(scorer, reference: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the rows the service accepts, and the boolean mask of those rows."""
    result = scorer.score_batch(_payloads(reference))
    for index, error in result.errors.items():
        # the holdout keeps a few applications without an annuity; the API requires one and says so
        assert error.kind == "missing_field" and pd.isna(reference.iloc[index][error.field]), (index, error)
    assert len(result.errors) <= len(reference) // 1000
    accepted = np.array([i in result.scores for i in range(len(reference))])
    return np.array([result.scores[i].probability for i in np.flatnonzero(accepted)]), accepted


def _assert_same_outcomes(reference: pd.DataFrame, ours: np.ndarray, expected: np.ndarray, threshold: float) -> None:
    np.testing.assert_array_equal(decide(ours, threshold), decide(expected, threshold))
    y = reference["TARGET"].to_numpy()
    got, want = classification_metrics(y, ours, threshold), classification_metrics(y, expected, threshold)
    for key in ("roc_auc", "business_cost", "business_cost_per_1000", "recall", "precision", "refusal_rate"):
        assert round(got[key], 4) == round(want[key], 4), key
    pd.testing.assert_frame_equal(
        fairness_table(reference, ours, threshold).round(4), fairness_table(reference, expected, threshold).round(4)
    )


def test_the_baseline_reproduces_the_stored_holdout_probabilities(reference, baseline):
    assert np.max(np.abs(baseline - reference["probability"].to_numpy())) <= BOOSTER_TOLERANCE


def test_model_call_matches_mlflow_pyfunc(model, reference, features, baseline):
    ours = model.predict(features)
    assert np.max(np.abs(ours - baseline)) <= BOOSTER_TOLERANCE
    _assert_same_outcomes(reference, ours, baseline, model.threshold)


def test_rest_path_scorer_matches_mlflow_pyfunc(model, reference, served, baseline):
    ours, accepted = served
    assert np.max(np.abs(ours - baseline[accepted])) <= BOOSTER_TOLERANCE
    _assert_same_outcomes(reference[accepted], ours, baseline[accepted], model.threshold)


def test_single_request_path_matches_the_batch_path(scorer, reference, served):
    # Scorer.score (one row per call, what /api/v1/score runs) on a sample spread over the set
    ours, accepted = served
    sample = reference[accepted].iloc[::150]
    single = np.array([scorer.score(p).probability for p in _payloads(sample)])
    assert np.max(np.abs(single - ours[::150])) <= BOOSTER_TOLERANCE


@pytest.mark.parametrize("kind", ["fast_single_row", "onnx"])
def test_faster_runtime_matches_mlflow_pyfunc(kind, model, reference, features, baseline):
    predictor = make_predictor(model.booster, kind)
    if predictor.runtime != kind:  # type: ignore[attr-defined]
        pytest.skip(f"{kind} is not available here (its optional package is not installed)")
    if kind == "fast_single_row":  # its own path is one row at a time, as the REST API calls it
        ours = np.concatenate([predictor(features[i : i + 1]) for i in range(len(features))])
    else:
        ours = predictor(features)
    assert np.max(np.abs(ours - baseline)) <= max(TOLERANCE[kind], BOOSTER_TOLERANCE)
    _assert_same_outcomes(reference, ours, baseline, model.threshold)


def test_an_unavailable_runtime_falls_back_to_the_booster(model, features, monkeypatch):
    import scoring.runtimes as runtimes

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ImportError("simulated: the package is missing")

    monkeypatch.setattr(runtimes, "_onnx", broken)
    predictor = make_predictor(model.booster, "onnx")
    assert predictor.runtime == "booster"  # type: ignore[attr-defined]
    np.testing.assert_array_equal(predictor(features[:100]), model.predict(features[:100]))
