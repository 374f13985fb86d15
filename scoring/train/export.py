"""The deployable artifact: the model's metadata and the `model/` folder the service loads."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from scoring.features import CATEGORICAL_FEATURES, FEATURE_NAMES
from scoring.model import METADATA_FILE, REFERENCE_FILE
from scoring.schema import CATEGORICAL, FIELDS, ID_COLUMN, TARGET_COLUMN
from scoring.train.card import model_card
from scoring.train.config import REFERENCE_MAX_ROWS, REGISTERED_NAME, SEARCH_SPACE
from scoring.train.pipeline import Evaluation, Search, Split, fingerprint, input_importance, training_ranges


def build_metadata(
    booster: lgb.Booster,
    *,
    frame: pd.DataFrame,
    source: str,
    split: Split,
    found: Search,
    evaluation: Evaluation,
    run: dict[str, Any],
) -> dict[str, Any]:
    """`metadata.json`: version, threshold, features, categories, training ranges, metrics, lineage.

    `run` carries the run's own facts: `seed`, `folds`, `run_id`, `registered_version`, `tracking_uri`.
    """
    best, gain = found.best, evaluation.gain
    model_hash = hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:8]
    return {
        "model_version": f"{datetime.now(UTC):%Y.%m.%d}-{model_hash}",
        "threshold": best.threshold,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feature_names": list(FEATURE_NAMES),
        "categorical_features": list(CATEGORICAL_FEATURES),
        "categories": {c: list(FIELDS[c].categories) for c in CATEGORICAL},
        "ranges": training_ranges(split.train_frame),
        "feature_importance": dict(sorted(gain.items(), key=lambda kv: -kv[1])),
        "input_importance": input_importance(gain),
        "metrics": {"holdout": evaluation.metrics, "cv_auc": best.cv_auc, "cv_cost_per_1000": best.cv_cost_per_1000},
        "fairness": evaluation.fairness.to_dict(orient="records"),
        "search": {
            "folds": run["folds"],
            "space": list(SEARCH_SPACE),
            "best": best.params,
            "num_rounds": best.num_rounds,
        },
        "data": {
            "source": source,
            "rows": len(frame),
            "seed": run["seed"],
            "fingerprint": fingerprint(frame),
            "default_rate": float(frame[TARGET_COLUMN].mean()),
        },
        "mlflow": {
            "run_id": run["run_id"],
            "registered_name": REGISTERED_NAME,
            "registered_version": run["registered_version"],
            "alias": run.get("alias", "champion"),
            "tracking_uri": run["tracking_uri"],
        },
    }


def reference_set(split: Split, evaluation: Evaluation, *, seed: int) -> pd.DataFrame:
    """The holdout with its predicted probability (at most REFERENCE_MAX_ROWS rows): the drift reference."""
    reference = split.holdout.drop(columns=[ID_COLUMN], errors="ignore").assign(probability=evaluation.p_hold)
    if len(reference) > REFERENCE_MAX_ROWS:
        reference = reference.sample(n=REFERENCE_MAX_ROWS, random_state=seed)
    return reference.reset_index(drop=True)


def export(
    model_dir: Path,
    booster: lgb.Booster,
    *,
    metadata: dict[str, Any],
    reference: pd.DataFrame,
    evaluation: Evaluation,
    example: pd.DataFrame,
) -> None:
    """Write the deployable artifact next to model_dir, then swap it in (never a half-written model/)."""
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=model_dir.resolve().parent))
    target = staging / "model"
    signature = infer_signature(example, booster.predict(example.to_numpy()))
    mlflow.lightgbm.save_model(
        booster,
        path=str(target),
        signature=signature,
        input_example=example.head(2),
        pip_requirements=[f"lightgbm=={lgb.__version__}", f"pandas=={pd.__version__}", f"numpy=={np.__version__}"],
    )
    (target / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=float), encoding="utf-8")
    reference.to_parquet(target / REFERENCE_FILE, index=False, compression="zstd")
    (target / "README.md").write_text(model_card(metadata, evaluation.fairness), encoding="utf-8")
    old = staging / "previous"
    if model_dir.exists():
        model_dir.rename(old)
    target.rename(model_dir)
    shutil.rmtree(staging, ignore_errors=True)
