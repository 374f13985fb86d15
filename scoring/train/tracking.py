"""Everything a training run writes to MLflow: the store, params, metrics, plots, the registered model.

MLflow is imported inside the functions: it is heavy, and nothing else in `scoring` needs it at import.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd

from scoring.evaluation import cost_curve
from scoring.train.config import EXPERIMENT, REGISTERED_NAME
from scoring.train.pipeline import Evaluation, Search, Split, step
from scoring.train.plots import training_plots


def use_store(tracking_uri: str) -> None:
    """Point MLflow at `tracking_uri` and select the experiment; with a sqlite store the experiment's
    artifacts sit beside the database, not in the current directory."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(EXPERIMENT, artifact_location=(db.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)


def run_name() -> str:
    return f"lgbm-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def log_search(found: Search) -> None:
    """The cross-validated score of every configuration, and the parameters of the best."""
    import mlflow

    for i, result in enumerate(found.results, start=1):
        mlflow.log_metrics({f"search_{i}_cv_auc": result.cv_auc, f"search_{i}_cv_cost": result.cv_cost_per_1000})
    best = found.best
    mlflow.log_params({f"best_{k}": v for k, v in best.params.items()} | {"num_rounds": best.num_rounds})


def log_evaluation(found: Search, split: Split, evaluation: Evaluation) -> None:
    """Holdout and cross-validation metrics, the plots and the fairness table."""
    import mlflow

    best = found.best
    mlflow.log_metrics({f"holdout_{k}": v for k, v in evaluation.metrics.items()})
    mlflow.log_metrics({"cv_auc": best.cv_auc, "cv_cost_per_1000": best.cv_cost_per_1000, "threshold": best.threshold})
    print("[train] holdout: " + ", ".join(f"{k}={v:.4f}" for k, v in evaluation.metrics.items()))
    with tempfile.TemporaryDirectory() as tmp:
        plots = training_plots(
            Path(tmp),
            y=split.y_hold,
            p=evaluation.p_hold,
            curve=cost_curve(found.y_search, best.oof),
            threshold=best.threshold,
            gain=evaluation.gain,
        )
        for path in plots:
            mlflow.log_artifact(str(path), artifact_path="plots")
        evaluation.fairness.to_csv(Path(tmp) / "fairness.csv", index=False)
        mlflow.log_artifact(str(Path(tmp) / "fairness.csv"))


def register(booster: lgb.Booster, example: pd.DataFrame, *, alias: str | None = "champion") -> int:
    """Log the model, register it as a new version of REGISTERED_NAME and, when `alias` is given,
    point it at it (only that alias moves); its version.

    The training CLI passes None and moves its alias with `publish`, once the version's service
    folder is logged too.
    """
    import mlflow.lightgbm
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    with step("log + register in MLflow"):
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            signature=infer_signature(example, booster.predict(example.to_numpy())),
            input_example=example.head(2),
            registered_model_name=REGISTERED_NAME,
            pip_requirements=[f"lightgbm=={lgb.__version__}"],
        )
        version = int(info.registered_model_version)
        if alias is not None:
            MlflowClient().set_registered_model_alias(REGISTERED_NAME, alias, str(version))
    return version


def publish(folder: Path, *, version: int, alias: str) -> None:
    """Log the service folder as the run's `service_model/` artifact, then point `alias` at `version`.

    The folder is everything the service loads (scoring.registry resolves a version to it); the alias
    moves last, so it never points at a version whose folder is not in the store yet.
    """
    import mlflow
    from mlflow import MlflowClient

    from scoring.registry import SERVICE_ARTIFACT

    with step(f"log the service folder, alias {alias!r} -> v{version}"):
        mlflow.log_artifacts(str(folder), artifact_path=SERVICE_ARTIFACT)
        MlflowClient().set_registered_model_alias(REGISTERED_NAME, alias, str(version))


def log_metadata(metadata: dict[str, Any]) -> None:
    import mlflow

    mlflow.log_dict(metadata, "metadata.json")
