"""The training command line.

    python -m scoring.train [--data CSV] [--rows N] [--seed S] [--folds K] [--model-dir model]
                            [--tracking-uri URI] [--alias NAME] [--no-export] [--threads T]
                            [--from-log DIR [DIR ...] [--outcomes DIR [DIR ...]] [--log-weight W]]

Stratified holdout (the monitoring reference) + stratified K-fold search on the rest; the business
threshold minimises 10*FN + 1*FP on out-of-fold probabilities; everything is tracked in MLflow
(local sqlite store by default), the model is registered as a new version of `credit-scoring` with
its service folder (metadata, reference set, model card) as the run artifact `service_model/`, the
alias (`champion` unless --alias names another) is pointed at it, and the same folder is exported to
`model/`.

--from-log retrains on the same original data plus the labelled production rows of the prediction
log (outcomes are read from the same folders unless --outcomes names others): the new version is
registered with the alias `challenger` (unless --alias says otherwise), the champion is left alone,
and nothing is exported unless --model-dir names a folder (the challenger's, never model/ by accident).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from scoring.features import feature_frame
from scoring.schema import TARGET_COLUMN
from scoring.train import tracking
from scoring.train.export import build_metadata, reference_set, stage, swap_in
from scoring.train.from_log import ProductionRows, production_rows
from scoring.train.pipeline import evaluate, fit_final, load_data, search, split_and_encode, step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="path to a real application_train.csv (default: synthetic data)")
    parser.add_argument("--rows", type=int, default=307_511, help="rows to generate (or sample from --data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--model-dir", default=None, type=Path, help="export folder (default: model/; with --from-log: no export)"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    )
    parser.add_argument(
        "--alias", default=None, help="registry alias of the new version (default: champion; --from-log: challenger)"
    )
    parser.add_argument("--threads", type=int, default=None, help="LightGBM threads (default: every core)")
    parser.add_argument("--no-export", action="store_true", help="track in MLflow only, leave model/ untouched")
    parser.add_argument(
        "--from-log", nargs="+", type=Path, metavar="DIR", help="prediction log folder(s): add their labelled rows"
    )
    parser.add_argument(
        "--outcomes", nargs="+", type=Path, metavar="DIR", help="folder(s) holding the outcomes (default: --from-log)"
    )
    parser.add_argument(
        "--log-weight", type=float, default=1.0, help="training weight of a production row (default 1: as any row)"
    )
    args = parser.parse_args(argv)
    if args.outcomes and not args.from_log:
        parser.error("--outcomes needs --from-log")
    return args


def export_dir(args: argparse.Namespace) -> Path | None:
    """Where the model goes: --model-dir, else model/ for a plain training; a retrain from the log
    exports only where it is told to (a challenger must never overwrite the champion's folder)."""
    if args.no_export:
        return None
    if args.model_dir is not None:
        return args.model_dir
    return None if args.from_log else Path("model")


def read_production(args: argparse.Namespace) -> ProductionRows:
    """The labelled rows of the log named by --from-log / --outcomes.

    The command line is where `scoring` meets the log: the reader and the rule of which outcome is
    in force belong to `monitoring`, imported here only (the modules below stay free of it).
    """
    from monitoring.log.reader import read_log, read_outcomes
    from monitoring.outcomes.store import labelled

    missing = [str(d) for d in [*args.from_log, *(args.outcomes or [])] if not Path(d).is_dir()]
    if missing:
        raise SystemExit(f"error: no such log folder: {', '.join(missing)}")
    predictions = read_log(args.from_log).predictions
    labels = labelled(read_outcomes(args.outcomes or args.from_log))
    try:
        return production_rows(predictions, labels, weight=args.log_weight)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def default_tracking_uri() -> str:
    """The store named by the service's settings (MLFLOW_TRACKING_URI), read only when it is needed."""
    from service.settings import Settings

    return Settings().mlflow_tracking_uri


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate, track, register and export (see `export_dir`); returns the metadata."""
    args = parse_args(argv)
    tracking_uri = args.tracking_uri or default_tracking_uri()
    alias = args.alias or ("challenger" if args.from_log else "champion")
    model_dir = export_dir(args)
    import mlflow

    started = time.perf_counter()
    with step("data"):
        frame, source = load_data(args.data, rows=args.rows, seed=args.seed)
        print(f"[train]   {len(frame):,} rows from {source}, default rate {frame[TARGET_COLUMN].mean():.4f}")
        production = read_production(args) if args.from_log else None
        if production is not None:
            facts = production.facts
            print(
                f"[train]   + {facts['production_rows']:,} labelled production rows of "
                f"{facts['production_predictions']:,} logged ({facts['production_first_ts']} .. "
                f"{facts['production_last_ts']}), weight {args.log_weight:g}"
            )
    split = split_and_encode(
        frame,
        seed=args.seed,
        production=None if production is None else production.frame,
        production_weight=args.log_weight,
    )
    tracking.use_store(tracking_uri)
    with mlflow.start_run(run_name=tracking.run_name()) as run:
        mlflow.log_params({"rows": len(frame), "seed": args.seed, "source": source, "folds": args.folds})
        mlflow.log_params({"alias": alias} | ({} if production is None else production_params(args, production)))
        found = search(
            split.x_train, split.y_train, folds=args.folds, seed=args.seed, weight=split.w_train, threads=args.threads
        )
        tracking.log_search(found)
        booster = fit_final(found.best, split)
        evaluation = evaluate(booster, split, threshold=found.best.threshold)
        tracking.log_evaluation(found, split, evaluation)
        example = feature_frame(split.x_hold[:5])
        version = tracking.register(booster, example, alias=None)  # `publish` moves the alias
        facts = {"seed": args.seed, "folds": args.folds, "run_id": run.info.run_id, "registered_version": version}
        metadata = build_metadata(
            booster,
            frame=frame,
            source=source,
            split=split,
            found=found,
            evaluation=evaluation,
            run=facts | {"tracking_uri": tracking_uri, "alias": alias},
        )
        if production is not None:
            metadata["data"]["production"] = production.facts | {"log_dirs": [str(d) for d in args.from_log]}
        tracking.log_metadata(metadata)
        reference = reference_set(split, evaluation, seed=args.seed)
        parent = None if model_dir is None else model_dir.resolve().parent
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        staged = stage(
            booster, metadata=metadata, reference=reference, evaluation=evaluation, example=example, parent=parent
        )
        tracking.publish(staged, version=version, alias=alias)
    if model_dir is None:
        shutil.rmtree(staged.parent, ignore_errors=True)
    else:
        with step(f"export to {model_dir}/"):
            swap_in(staged, model_dir)
    print(
        f"[train] finished in {time.perf_counter() - started:.0f}s: model {metadata['model_version']}, "
        f"holdout AUC {evaluation.metrics['roc_auc']:.4f}, threshold {found.best.threshold:.3f}, "
        f"registered v{version} as @{alias}"
    )
    return metadata


def production_params(args: argparse.Namespace, production: ProductionRows) -> dict[str, Any]:
    """The run's parameters saying which production rows it learnt from."""
    return production.facts | {"log_dirs": ",".join(str(d) for d in args.from_log)[:500]}
