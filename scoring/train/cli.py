"""The training command line.

    python -m scoring.train [--data CSV] [--rows N] [--seed S] [--folds K] [--model-dir model]
                            [--tracking-uri URI] [--no-export]

Stratified holdout (the monitoring reference) + stratified K-fold search on the rest; the business
threshold minimises 10*FN + 1*FP on out-of-fold probabilities; everything is tracked in MLflow
(local sqlite store by default), the model is registered as `credit-scoring@champion` and exported
to `model/` with its metadata, the reference set and a model card.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from scoring.features import feature_frame
from scoring.schema import TARGET_COLUMN
from scoring.train import tracking
from scoring.train.export import build_metadata, export, reference_set
from scoring.train.pipeline import evaluate, fit_final, load_data, search, split_and_encode, step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="path to a real application_train.csv (default: synthetic data)")
    parser.add_argument("--rows", type=int, default=307_511, help="rows to generate (or sample from --data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--model-dir", default="model", type=Path)
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument("--no-export", action="store_true", help="track in MLflow only, leave model/ untouched")
    return parser.parse_args(argv)


def default_tracking_uri() -> str:
    """The store named by the service's settings (MLFLOW_TRACKING_URI), read only when it is needed."""
    from service.settings import Settings

    return Settings().mlflow_tracking_uri


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate, track, register and (unless --no-export) export; returns the metadata."""
    args = parse_args(argv)
    tracking_uri = args.tracking_uri or default_tracking_uri()
    import mlflow

    started = time.perf_counter()
    with step("data"):
        frame, source = load_data(args.data, rows=args.rows, seed=args.seed)
        print(f"[train]   {len(frame):,} rows from {source}, default rate {frame[TARGET_COLUMN].mean():.4f}")
    split = split_and_encode(frame, seed=args.seed)
    tracking.use_store(tracking_uri)
    with mlflow.start_run(run_name=tracking.run_name()) as run:
        mlflow.log_params({"rows": len(frame), "seed": args.seed, "source": source, "folds": args.folds})
        found = search(split.x_train, split.y_train, folds=args.folds, seed=args.seed)
        tracking.log_search(found)
        booster = fit_final(found.best, split)
        evaluation = evaluate(booster, split, threshold=found.best.threshold)
        tracking.log_evaluation(found, split, evaluation)
        example = feature_frame(split.x_hold[:5])
        version = tracking.register(booster, example)
        facts = {"seed": args.seed, "folds": args.folds, "run_id": run.info.run_id, "registered_version": version}
        metadata = build_metadata(
            booster,
            frame=frame,
            source=source,
            split=split,
            found=found,
            evaluation=evaluation,
            run=facts | {"tracking_uri": tracking_uri},
        )
        tracking.log_metadata(metadata)
    if not args.no_export:
        with step(f"export to {args.model_dir}/"):
            reference = reference_set(split, evaluation, seed=args.seed)
            export(
                args.model_dir, booster, metadata=metadata, reference=reference, evaluation=evaluation, example=example
            )
    print(
        f"[train] finished in {time.perf_counter() - started:.0f}s: model {metadata['model_version']}, "
        f"holdout AUC {evaluation.metrics['roc_auc']:.4f}, threshold {found.best.threshold:.3f}"
    )
    return metadata
