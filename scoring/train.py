"""Train, evaluate, track and export the credit-default model.

    python -m scoring.train [--data CSV] [--rows N] [--seed S] [--model-dir model]

Stratified holdout (the monitoring reference) + stratified K-fold search on the rest; the business
threshold minimises 10*FN + 1*FP on out-of-fold probabilities; everything is tracked in MLflow
(local sqlite store), the model is registered as `credit-scoring@champion` and exported to
`model/` with its metadata, the reference set and a model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from scoring import data as data_module
from scoring.evaluation import best_threshold, classification_metrics, cost_curve, fairness_table
from scoring.features import (
    CATEGORICAL_FEATURES,
    ENGINEERED,
    FEATURE_NAMES,
    build_features,
    encode_frame,
    feature_frame,
)
from scoring.model import METADATA_FILE, REFERENCE_FILE
from scoring.schema import CATEGORICAL, DAYS_EMPLOYED_PENSIONER, FIELDS, NUMERIC, RAW_COLUMNS, TARGET_COLUMN

REGISTERED_NAME = "credit-scoring"
EXPERIMENT = "credit-scoring"
REFERENCE_MAX_ROWS = 30_000
SEARCH_MAX_ROWS = 120_000  # the search ranks configurations; it does not need every row to do so
BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.06,
    "min_data_in_leaf": 100,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "max_bin": 127,
    "verbosity": -1,
    "seed": 7,
    "num_threads": os.cpu_count() or 2,
}
# A better external score must never raise the risk: monotone constraints make that a property of
# the model rather than a hope, which is also what a credit officer can explain to an applicant.
DECREASING = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3", "EXT_SOURCE_MEAN", "EXT_SOURCE_PROD")
BASE_PARAMS["monotone_constraints"] = [-1 if name in DECREASING else 0 for name in FEATURE_NAMES]
BASE_PARAMS["monotone_constraints_method"] = "intermediate"
SEARCH_SPACE: tuple[dict[str, Any], ...] = (
    {"num_leaves": 15, "feature_fraction": 0.5},
    {"num_leaves": 31, "feature_fraction": 0.5},
    {"num_leaves": 31, "feature_fraction": 0.8, "min_data_in_leaf": 300},
)
# Which raw fields an engineered feature is made of, to rank *input* fields for monitoring and the form.
ENGINEERED_SOURCES: dict[str, tuple[str, ...]] = {
    "DAYS_EMPLOYED_ANOMALY": ("DAYS_EMPLOYED",),
    "CREDIT_INCOME_RATIO": ("AMT_CREDIT", "AMT_INCOME_TOTAL"),
    "ANNUITY_INCOME_RATIO": ("AMT_ANNUITY", "AMT_INCOME_TOTAL"),
    "ANNUITY_CREDIT_RATIO": ("AMT_ANNUITY", "AMT_CREDIT"),
    "GOODS_CREDIT_RATIO": ("AMT_GOODS_PRICE", "AMT_CREDIT"),
    "EMPLOYED_BIRTH_RATIO": ("DAYS_EMPLOYED", "DAYS_BIRTH"),
    "INCOME_PER_PERSON": ("AMT_INCOME_TOTAL", "CNT_FAM_MEMBERS"),
    "EXT_SOURCE_MEAN": ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"),
    "EXT_SOURCE_PROD": ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"),
}
assert set(ENGINEERED_SOURCES) == set(ENGINEERED)


@contextmanager
def step(title: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"[train] {title} ...", flush=True)
    yield
    print(f"[train] {title}: done in {time.perf_counter() - started:.1f}s", flush=True)


@dataclass
class SearchResult:
    params: dict[str, Any]
    num_rounds: int
    oof: np.ndarray
    cv_auc: float
    cv_cost_per_1000: float
    threshold: float


def _dataset(x: np.ndarray, y: np.ndarray) -> lgb.Dataset:
    return lgb.Dataset(
        x,
        label=y,
        feature_name=list(FEATURE_NAMES),
        categorical_feature=list(CATEGORICAL_FEATURES),
        free_raw_data=False,
    )


def cross_validate(x: np.ndarray, y: np.ndarray, params: dict[str, Any], *, folds: int, seed: int) -> SearchResult:
    oof = np.zeros(len(y))
    rounds = []
    for fold, (fit_idx, val_idx) in enumerate(
        StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y), start=1
    ):
        booster = lgb.train(
            params,
            _dataset(x[fit_idx], y[fit_idx]),
            num_boost_round=2000,
            valid_sets=[_dataset(x[val_idx], y[val_idx])],
            callbacks=[lgb.early_stopping(60, verbose=False)],
        )
        oof[val_idx] = booster.predict(x[val_idx], num_iteration=booster.best_iteration)
        rounds.append(booster.best_iteration)
        print(f"[train]   fold {fold}/{folds}: {booster.best_iteration} trees", flush=True)
    threshold = best_threshold(y, oof)
    metrics = classification_metrics(y, oof, threshold)
    return SearchResult(
        params=params,
        num_rounds=int(np.mean(rounds) * folds / (folds - 1)),  # the final fit sees more rows
        oof=oof,
        cv_auc=metrics["roc_auc"],
        cv_cost_per_1000=metrics["business_cost_per_1000"],
        threshold=threshold,
    )


def training_ranges(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Observed [min, max] of each numeric input, the 365243 placeholder left out."""
    ranges = {}
    for name in NUMERIC:
        values = pd.to_numeric(frame[name], errors="coerce")
        if name == "DAYS_EMPLOYED":
            values = values[values != DAYS_EMPLOYED_PENSIONER]
        if values.notna().any():
            ranges[name] = [float(values.min()), float(values.max())]
    return ranges


def input_importance(feature_gain: dict[str, float]) -> list[str]:
    """Raw input fields ranked by the gain of the features built from them."""
    score = dict.fromkeys(RAW_COLUMNS, 0.0)
    for name, gain in feature_gain.items():
        sources = ENGINEERED_SOURCES.get(name, (name,))
        for source in sources:
            score[source] += gain / len(sources)
    return [name for name, value in sorted(score.items(), key=lambda kv: -kv[1]) if value > 0]


def fingerprint(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def _plots(
    out: Path, y: np.ndarray, p: np.ndarray, curve: pd.DataFrame, threshold: float, gain: dict[str, float]
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    paths = []
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label="holdout")
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (holdout)")
    paths.append(out / "roc.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["threshold"], curve["cost_per_1000"])
    ax.axvline(threshold, color="red", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="threshold", ylabel="cost per 1,000 (10*FN + FP)", title="Business cost vs threshold (OOF)")
    ax.legend()
    paths.append(out / "cost_vs_threshold.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    top = sorted(gain.items(), key=lambda kv: -kv[1])[:25][::-1]
    fig, ax = plt.subplots(figsize=(6, 7))
    ax.barh([k for k, _ in top], [v for _, v in top])
    ax.set(title="Feature importance (gain)")
    paths.append(out / "feature_importance.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    frac, mean_p = calibration_curve(y, p, n_bins=15, strategy="quantile")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(mean_p, frac, marker="o")
    ax.plot([0, mean_p.max()], [0, mean_p.max()], "--", color="grey")
    ax.set(xlabel="predicted probability", ylabel="observed default rate", title="Calibration (holdout)")
    paths.append(out / "calibration.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close("all")
    return paths


def load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    if args.data:
        frame = data_module.load_application_csv(args.data)
        if args.rows:
            frame = frame.sample(n=min(args.rows, len(frame)), random_state=args.seed)
        return frame.reset_index(drop=True), f"csv:{Path(args.data).name}"
    return data_module.generate_applications(args.rows, seed=args.seed), f"synthetic(seed={args.seed})"


def model_card(metadata: dict[str, Any], fairness: pd.DataFrame) -> str:
    m = metadata["metrics"]["holdout"]
    lines = [
        "# Model card: credit-scoring (LightGBM default-risk model)",
        "",
        f"- **Version**: `{metadata['model_version']}` (MLflow run `{metadata['mlflow']['run_id']}`, "
        f"registered as `{REGISTERED_NAME}` v{metadata['mlflow']['registered_version']}, alias `champion`)",
        f"- **Trained**: {metadata['trained_at']} on {metadata['data']['rows']:,} rows of {metadata['data']['source']}"
        f" (fingerprint `{metadata['data']['fingerprint']}`)",
        f"- **Decision rule**: refuse when the probability of default is ≥ **{metadata['threshold']:.3f}**, the "
        "threshold minimising the business cost 10·FN + 1·FP on out-of-fold predictions.",
        "",
        "> **The training data are synthetic.** They follow the schema and the published statistics of the Home",
        "> Credit `application_train` table, but no real applicant is in them. Numbers below describe the model",
        "> on that synthetic population and say nothing about a real portfolio.",
        "",
        "## Holdout metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in m.items()],
        "",
        f"Cross-validation ({metadata['search']['folds']}-fold) ROC AUC: {metadata['metrics']['cv_auc']:.4f}.",
        "",
        "## Inputs",
        "",
        f"{len(RAW_COLUMNS)} raw application fields (Home Credit names); `CODE_GENDER` is accepted for the fairness "
        "report but is **not** a model input. Engineered features: "
        + ", ".join(f"`{k}` ({v})" for k, v in ENGINEERED.items())
        + ".",
        "",
        "Most important inputs: " + ", ".join(f"`{c}`" for c in metadata["input_importance"][:10]) + ".",
        "",
        "## Fairness (holdout)",
        "",
        markdown_table(fairness),
        "",
        "## Intended use and limits",
        "",
        "Scores consumer-credit applications of Prêt à Dépenser's Crédit Express desk as decision support; a credit",
        "officer stays accountable for the decision. Not validated on real data; monitor drift (see the",
        "Monitoring tab) and retrain on real outcomes before any production use.",
        "",
    ]
    return "\n".join(lines)


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def export(
    model_dir: Path,
    booster: lgb.Booster,
    metadata: dict[str, Any],
    reference: pd.DataFrame,
    fairness: pd.DataFrame,
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
    (target / "README.md").write_text(model_card(metadata, fairness), encoding="utf-8")
    old = staging / "previous"
    if model_dir.exists():
        model_dir.rename(old)
    target.rename(model_dir)
    shutil.rmtree(staging, ignore_errors=True)


def _experiment(tracking_uri: str) -> None:
    """Select the experiment; with a sqlite store its artifacts sit beside the database, not in the cwd."""
    import mlflow

    if mlflow.get_experiment_by_name(EXPERIMENT) is None and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(EXPERIMENT, artifact_location=(db.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to a real application_train.csv (default: synthetic data)")
    parser.add_argument("--rows", type=int, default=307_511, help="rows to generate (or sample from --data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--model-dir", default="model", type=Path)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    parser.add_argument("--no-export", action="store_true", help="track in MLflow only, leave model/ untouched")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import mlflow
    from mlflow import MlflowClient

    started = time.perf_counter()
    with step("data"):
        frame, source = load_data(args)
        print(f"[train]   {len(frame):,} rows from {source}, default rate {frame[TARGET_COLUMN].mean():.4f}")
    train_frame, holdout = train_test_split(frame, test_size=0.2, stratify=frame[TARGET_COLUMN], random_state=args.seed)
    with step("features"):
        x_train = build_features(encode_frame(train_frame))
        y_train = train_frame[TARGET_COLUMN].to_numpy()
        x_hold = build_features(encode_frame(holdout))
        y_hold = holdout[TARGET_COLUMN].to_numpy()

    mlflow.set_tracking_uri(args.tracking_uri)
    _experiment(args.tracking_uri)
    with mlflow.start_run(run_name=f"lgbm-{datetime.now(UTC):%Y%m%d-%H%M%S}") as run:
        mlflow.log_params({"rows": len(frame), "seed": args.seed, "source": source, "folds": args.folds})
        results = []
        search_idx = np.arange(len(y_train))
        if len(search_idx) > SEARCH_MAX_ROWS:
            search_idx, _ = train_test_split(
                search_idx, train_size=SEARCH_MAX_ROWS, stratify=y_train, random_state=args.seed
            )
        x_search, y_search = x_train[search_idx], y_train[search_idx]
        for i, extra in enumerate(SEARCH_SPACE, start=1):
            params = {**BASE_PARAMS, **extra}
            with step(f"search {i}/{len(SEARCH_SPACE)} {extra} on {len(y_search):,} rows"):
                result = cross_validate(x_search, y_search, params, folds=args.folds, seed=args.seed)
            print(f"[train]   cv auc {result.cv_auc:.4f}, cost/1000 {result.cv_cost_per_1000:.1f}")
            mlflow.log_metrics({f"search_{i}_cv_auc": result.cv_auc, f"search_{i}_cv_cost": result.cv_cost_per_1000})
            results.append(result)
        best = min(results, key=lambda r: (r.cv_cost_per_1000, -r.cv_auc))
        mlflow.log_params({f"best_{k}": v for k, v in best.params.items()} | {"num_rounds": best.num_rounds})

        with step(f"final fit ({best.num_rounds} trees)"):
            booster = lgb.train(best.params, _dataset(x_train, y_train), num_boost_round=best.num_rounds)
        p_hold = booster.predict(x_hold)
        holdout_metrics = classification_metrics(y_hold, p_hold, best.threshold)
        fairness = fairness_table(holdout, p_hold, best.threshold)
        gain = dict(zip(FEATURE_NAMES, booster.feature_importance("gain").tolist(), strict=True))
        mlflow.log_metrics({f"holdout_{k}": v for k, v in holdout_metrics.items()})
        mlflow.log_metrics(
            {"cv_auc": best.cv_auc, "cv_cost_per_1000": best.cv_cost_per_1000, "threshold": best.threshold}
        )
        print("[train] holdout: " + ", ".join(f"{k}={v:.4f}" for k, v in holdout_metrics.items()))

        with tempfile.TemporaryDirectory() as tmp:
            for path in _plots(Path(tmp), y_hold, p_hold, cost_curve(y_search, best.oof), best.threshold, gain):
                mlflow.log_artifact(str(path), artifact_path="plots")
            fairness.to_csv(Path(tmp) / "fairness.csv", index=False)
            mlflow.log_artifact(str(Path(tmp) / "fairness.csv"))

        example = feature_frame(x_hold[:5])
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
            client = MlflowClient()
            version = info.registered_model_version
            client.set_registered_model_alias(REGISTERED_NAME, "champion", version)

        model_hash = hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:8]
        metadata = {
            "model_version": f"{datetime.now(UTC):%Y.%m.%d}-{model_hash}",
            "threshold": best.threshold,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "feature_names": list(FEATURE_NAMES),
            "categorical_features": list(CATEGORICAL_FEATURES),
            "categories": {c: list(FIELDS[c].categories) for c in CATEGORICAL},
            "ranges": training_ranges(train_frame),
            "feature_importance": dict(sorted(gain.items(), key=lambda kv: -kv[1])),
            "input_importance": input_importance(gain),
            "metrics": {"holdout": holdout_metrics, "cv_auc": best.cv_auc, "cv_cost_per_1000": best.cv_cost_per_1000},
            "fairness": fairness.to_dict(orient="records"),
            "search": {
                "folds": args.folds,
                "space": list(SEARCH_SPACE),
                "best": best.params,
                "num_rounds": best.num_rounds,
            },
            "data": {
                "source": source,
                "rows": len(frame),
                "seed": args.seed,
                "fingerprint": fingerprint(frame),
                "default_rate": float(frame[TARGET_COLUMN].mean()),
            },
            "mlflow": {
                "run_id": run.info.run_id,
                "registered_name": REGISTERED_NAME,
                "registered_version": int(version),
                "tracking_uri": args.tracking_uri,
            },
        }
        mlflow.log_dict(metadata, "metadata.json")

    if not args.no_export:
        with step(f"export to {args.model_dir}/"):
            reference = holdout.drop(columns=["SK_ID_CURR"], errors="ignore").assign(probability=p_hold)
            if len(reference) > REFERENCE_MAX_ROWS:
                reference = reference.sample(n=REFERENCE_MAX_ROWS, random_state=args.seed)
            export(args.model_dir, booster, metadata, reference.reset_index(drop=True), fairness, example)
    print(
        f"[train] finished in {time.perf_counter() - started:.0f}s: model {metadata['model_version']}, "
        f"holdout AUC {holdout_metrics['roc_auc']:.4f}, threshold {best.threshold:.3f}"
    )
    return metadata


if __name__ == "__main__":
    main()
