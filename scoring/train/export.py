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


def stage(
    booster: lgb.Booster,
    *,
    metadata: dict[str, Any],
    reference: pd.DataFrame,
    evaluation: Evaluation,
    example: pd.DataFrame,
    parent: Path | None = None,
) -> Path:
    """Write the deployable folder into a new temp folder (under `parent`) and return its path.

    The same folder is logged to MLflow (the registered version's service folder) and swapped into
    `model/` by `swap_in`: what the registry holds and what is committed are one artifact.
    """
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    target = Path(tempfile.mkdtemp(prefix=".model-", dir=parent)) / "model"
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
    return target


def swap_in(staged: Path, model_dir: Path) -> None:
    """Move a `stage`d folder to `model_dir` with renames (never a half-written model/); drop its temp parent."""
    model_dir.resolve().parent.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=".model-", dir=model_dir.resolve().parent))
    try:
        shutil.move(str(staged), holder / "model")  # a rename when on the same file system
        if model_dir.exists():
            model_dir.rename(holder / "previous")
        (holder / "model").rename(model_dir)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
        shutil.rmtree(staged.parent, ignore_errors=True)


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
    parent = model_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staged = stage(
        booster, metadata=metadata, reference=reference, evaluation=evaluation, example=example, parent=parent
    )
    swap_in(staged, model_dir)
