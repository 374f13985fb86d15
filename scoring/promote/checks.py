"""The gate's checks: both models measured on the same rows, then the candidate held to the champion.

Every check is a non-inferiority test with a stated margin: the candidate may be worse than the
champion by at most its tolerance (ROC AUC, business cost per 1,000, the approval-rate gap between
genders and between age bands, the Brier score), never by more. Calibration is judged by the Brier
score: it needs no binning (ECE moves with the bin count, and at an 8 % default rate most bins of an
equal-width ECE are nearly empty), it is a proper scoring rule (no shading of the probabilities
improves it), and it is what the cost threshold relies on: probabilities that mean what they say.
A check without enough data (too few labelled rows, fewer than two groups) is `skipped`, named in
the record, and does not block. The parity check compares the served path with `mlflow.pyfunc`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scoring.evaluation import approval_gap, approval_rates, classification_metrics
from scoring.features import build_features, encode_frame, feature_frame
from scoring.model import ScoringModel
from scoring.promote.evidence import Evidence
from scoring.schema import TARGET_COLUMN

PARITY_TOLERANCE = 1e-9
PARITY_ROWS = 5_000
MIN_LABELS = 200  # labelled rows (of both classes) below which AUC, cost and calibration are skipped
MIN_GROUP_ROWS = 50  # a gender or age band smaller than this is left out of the gap


@dataclass(frozen=True, slots=True)
class Tolerances:
    auc: float = 0.005
    cost: float = 2.0
    gap: float = 0.01
    brier: float = 0.0005


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "<dataset>:<metric>", how a failure is reported
    champion: float | None
    candidate: float | None
    tolerance: float
    rule: str
    status: str  # "pass", "fail" or "skipped"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def matrix(frame: Any) -> np.ndarray:
    return build_features(encode_frame(frame))


def measure(
    model: ScoringModel, evidence: Evidence, *, features: np.ndarray | None = None, min_labels: int = MIN_LABELS
) -> dict[str, Any]:
    """What one model does on one data set: metrics on the labelled rows, approval rates on all.
    `features`: the data set's model matrix, when the caller built it once for both models."""
    frame = evidence.frame
    probability = model.predict(matrix(frame) if features is None else features)
    y = frame[TARGET_COLUMN].to_numpy(float)
    known = np.isfinite(y)
    rates = approval_rates(frame, probability, model.threshold, min_rows=MIN_GROUP_ROWS)
    out: dict[str, Any] = {
        "rows": len(frame),
        "labelled": int(known.sum()),
        "threshold": model.threshold,
        "approval_rate": float(np.mean(probability < model.threshold)) if len(frame) else None,
        "approval_by_group": rates,
        "gender_gap": approval_gap(rates["gender"]),
        "age_gap": approval_gap(rates["age_band"]),
    }
    labels = y[known].astype(int)
    if known.sum() >= min_labels and len(np.unique(labels)) == 2:
        metrics = classification_metrics(labels, probability[known], model.threshold)
        out |= {k: metrics[k] for k in ("roc_auc", "business_cost_per_1000", "brier", "refusal_rate")}
    return out


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _check(
    name: str, champion: Any, candidate: Any, *, tolerance: float, higher_is_better: bool, why_skipped: str
) -> Check:
    champ, cand = _number(champion), _number(candidate)
    sign = ">=" if higher_is_better else "<="
    rule = f"candidate {sign} champion {'-' if higher_is_better else '+'} {tolerance:g}"
    if champ is None or cand is None:
        return Check(name, champ, cand, tolerance, rule, "skipped", why_skipped)
    ok = cand >= champ - tolerance if higher_is_better else cand <= champ + tolerance
    return Check(name, champ, cand, tolerance, rule, "pass" if ok else "fail")


def compare(dataset: str, champion: dict[str, Any], candidate: dict[str, Any], tol: Tolerances) -> list[Check]:
    """The five metric checks of one data set."""
    few = f"fewer than {MIN_LABELS} labelled rows of both classes"
    groups = f"fewer than two groups of {MIN_GROUP_ROWS}+ rows"
    specs = (
        ("roc_auc", tol.auc, True, few),
        ("business_cost_per_1000", tol.cost, False, few),
        ("gender_gap", tol.gap, False, groups),
        ("age_gap", tol.gap, False, groups),
        ("brier", tol.brier, False, few),
    )
    return [
        _check(
            f"{dataset}:{metric}",
            champion.get(metric),
            candidate.get(metric),
            tolerance=tolerance,
            higher_is_better=higher,
            why_skipped=why,
        )
        for metric, tolerance, higher, why in specs
    ]


def pyfunc_parity(
    model: ScoringModel, pyfunc_uri: str, evidence: Evidence, *, tracking_uri: str | None = None
) -> tuple[Check, dict[str, Any]]:
    """The served predictions (scoring.model, the service's runtime) against `mlflow.pyfunc` on the same
    rows, to PARITY_TOLERANCE. The artifact is a LightGBM Booster, whose pyfunc gives probabilities."""
    features = matrix(evidence.frame.head(PARITY_ROWS))
    served = model.predict(features)
    rule = f"max abs(served - pyfunc) <= {PARITY_TOLERANCE:g}"
    try:
        reference = _pyfunc_predict(pyfunc_uri, feature_frame(features), tracking_uri=tracking_uri)
    except Exception as exc:  # MLflow raises many types for an unloadable model
        return Check("parity:pyfunc", None, None, PARITY_TOLERANCE, rule, "fail", f"pyfunc failed: {exc}"), {}
    if reference.shape != served.shape:
        note = f"pyfunc returned shape {reference.shape}, the service {served.shape} (classes, not probabilities?)"
        return Check("parity:pyfunc", None, None, PARITY_TOLERANCE, rule, "fail", note), {}
    worst = float(np.max(np.abs(served - reference))) if len(served) else 0.0
    status = "pass" if worst <= PARITY_TOLERANCE else "fail"
    facts = {"rows": len(served), "max_abs_difference": worst, "pyfunc_uri": pyfunc_uri}
    return Check("parity:pyfunc", None, worst, PARITY_TOLERANCE, rule, status), facts


def _pyfunc_predict(uri: str, frame: Any, *, tracking_uri: str | None) -> np.ndarray:
    """`mlflow.pyfunc` on `uri`; a registered version is downloaded first with the store named explicitly,
    so MLflow's process-wide tracking and registry URIs are never changed (a caller's runs stay its own)."""
    import tempfile

    import mlflow.artifacts
    import mlflow.pyfunc

    if not uri.startswith("models:/"):
        return np.asarray(mlflow.pyfunc.load_model(uri).predict(frame), float)
    with tempfile.TemporaryDirectory(prefix="pyfunc-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri, registry_uri=tracking_uri
        )
        return np.asarray(mlflow.pyfunc.load_model(local).predict(frame), float)
