"""Tiny models in the `model/` format, trained in a second or two, for the promotion gate's tests.

The real pipeline pieces (split, features, LightGBM parameters, metadata, export) on a few thousand
synthetic rows and a fixed number of trees instead of the cross-validated search.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np

from scoring.evaluation import best_threshold, classification_metrics
from scoring.features import feature_frame
from scoring.synth.generate import generate_applications
from scoring.train.config import BASE_PARAMS
from scoring.train.export import build_metadata, export, reference_set
from scoring.train.pipeline import Search, SearchResult, dataset, evaluate, split_and_encode


def train_tiny(
    model_dir: Path,
    *,
    rounds: int = 120,
    rows: int = 6_000,
    seed: int = 3,
    lgb_seed: int = 7,
    male_default_weight: float = 1.0,
) -> Path:
    """Train on `rows` synthetic applications (data seed `seed`) and export to `model_dir`.

    `male_default_weight` > 1 is a deliberately unfair change: the men who defaulted weigh more in
    training, so the model's scores for men and women move apart from their risk (and the threshold
    chosen on them with it): the approval rates of the two genders drift apart.
    """
    frame = generate_applications(rows, seed=seed)
    split = split_and_encode(frame, seed=seed)
    params = {**BASE_PARAMS, "num_leaves": 15, "feature_fraction": 0.5, "num_threads": 1, "seed": lgb_seed}
    male_default = (split.train_frame["CODE_GENDER"].astype(str) == "M").to_numpy() & (split.y_train == 1)
    weight = np.where(male_default, male_default_weight, 1.0)
    booster = lgb.train(params, dataset(split.x_train, split.y_train, weight), num_boost_round=rounds)
    fitted = booster.predict(split.x_train)
    threshold = best_threshold(split.y_train, fitted)
    metrics = classification_metrics(split.y_train, fitted, threshold)
    best = SearchResult(params, rounds, fitted, metrics["roc_auc"], metrics["business_cost_per_1000"], threshold)
    found = Search(results=[best], best=best, y_search=split.y_train)
    evaluation = evaluate(booster, split, threshold=threshold)
    run = {"seed": seed, "folds": 0, "run_id": "tiny", "registered_version": None, "tracking_uri": None}
    metadata = build_metadata(
        booster, frame=frame, source=f"synthetic(seed={seed})", split=split, found=found, evaluation=evaluation, run=run
    )
    example = feature_frame(np.asarray(split.x_hold[:5]))
    export(
        model_dir,
        booster,
        metadata=metadata,
        reference=reference_set(split, evaluation, seed=seed),
        evaluation=evaluation,
        example=example,
    )
    return model_dir
