"""The training stages, free of MLflow: data, split, cross-validated search, final fit, evaluation.

Each stage prints its progress (`step`) so a long run on 307,511 rows shows where it is.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from scoring.evaluation import best_threshold, classification_metrics, fairness_table
from scoring.features import CATEGORICAL_FEATURES, FEATURE_NAMES, build_features, encode_frame
from scoring.schema import DAYS_EMPLOYED_PENSIONER, NUMERIC, RAW_COLUMNS, TARGET_COLUMN
from scoring.synth.generate import generate_applications
from scoring.synth.kaggle import load_application_csv
from scoring.train.config import BASE_PARAMS, ENGINEERED_SOURCES, SEARCH_MAX_ROWS, SEARCH_SPACE


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print the start and the duration of a stage."""
    started = time.perf_counter()
    print(f"[train] {title} ...", flush=True)
    yield
    print(f"[train] {title}: done in {time.perf_counter() - started:.1f}s", flush=True)


@dataclass(frozen=True, slots=True)
class Split:
    """The stratified train / holdout split, as frames and as model matrices."""

    train_frame: pd.DataFrame
    holdout: pd.DataFrame
    x_train: np.ndarray
    y_train: np.ndarray
    x_hold: np.ndarray
    y_hold: np.ndarray
    w_train: np.ndarray | None = None  # per-row weights of the training part (None: all 1)
    production_rows: int = 0  # labelled production rows appended to the training part


@dataclass
class SearchResult:
    params: dict[str, Any]
    num_rounds: int
    oof: np.ndarray
    cv_auc: float
    cv_cost_per_1000: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Search:
    """Every configuration tried, the best one, and the labels its out-of-fold probabilities belong to."""

    results: list[SearchResult]
    best: SearchResult
    y_search: np.ndarray


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The final model on the holdout."""

    p_hold: np.ndarray
    metrics: dict[str, float]
    fairness: pd.DataFrame
    gain: dict[str, float]


def load_data(path: str | None, *, rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The real CSV at `path` (sampled down to `rows`) or `rows` synthetic applications; and a label."""
    if path:
        frame = load_application_csv(path)
        if rows:
            frame = frame.sample(n=min(rows, len(frame)), random_state=seed)
        return frame.reset_index(drop=True), f"csv:{Path(path).name}"
    return generate_applications(rows, seed=seed), f"synthetic(seed={seed})"


def split_and_encode(
    frame: pd.DataFrame, *, seed: int, production: pd.DataFrame | None = None, production_weight: float = 1.0
) -> Split:
    """A stratified 20 % holdout (it becomes the monitoring reference) and the model matrices.

    `production` rows (labelled rows from the log) join the training part only: the holdout stays
    drawn from `frame` alone, so the same data and seed give the champion's holdout row for row,
    and it stays a sample of the whole population rather than of approved applicants.
    """
    train_frame, holdout = train_test_split(frame, test_size=0.2, stratify=frame[TARGET_COLUMN], random_state=seed)
    weights = None
    if production is not None and len(production):
        weights = np.r_[np.ones(len(train_frame)), np.full(len(production), float(production_weight))]
        train_frame = pd.concat([train_frame, production], ignore_index=True)
    with step("features"):
        return Split(
            train_frame=train_frame,
            holdout=holdout,
            x_train=build_features(encode_frame(train_frame)),
            y_train=train_frame[TARGET_COLUMN].to_numpy(),
            x_hold=build_features(encode_frame(holdout)),
            y_hold=holdout[TARGET_COLUMN].to_numpy(),
            w_train=weights,
            production_rows=0 if production is None else len(production),
        )


def dataset(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> lgb.Dataset:
    return lgb.Dataset(
        x,
        label=y,
        weight=weight,
        feature_name=list(FEATURE_NAMES),
        categorical_feature=list(CATEGORICAL_FEATURES),
        free_raw_data=False,
    )


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    *,
    folds: int,
    seed: int,
    weight: np.ndarray | None = None,
) -> SearchResult:
    """Stratified K-fold with early stopping; the threshold is chosen on the out-of-fold probabilities
    (unweighted: the business cost counts each applicant once, whatever weight it was trained with)."""
    oof = np.zeros(len(y))
    rounds = []
    for fold, (fit_idx, val_idx) in enumerate(
        StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y), start=1
    ):
        booster = lgb.train(
            params,
            dataset(x[fit_idx], y[fit_idx], None if weight is None else weight[fit_idx]),
            num_boost_round=2000,
            valid_sets=[dataset(x[val_idx], y[val_idx], None if weight is None else weight[val_idx])],
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


def search(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    folds: int,
    seed: int,
    weight: np.ndarray | None = None,
    threads: int | None = None,
) -> Search:
    """Cross-validate every configuration of SEARCH_SPACE on at most SEARCH_MAX_ROWS rows; the best
    has the lowest business cost (the higher AUC breaks a tie). `threads` overrides LightGBM's
    thread count (default: every core; on a shared, loaded machine one thread is many times faster)."""
    search_idx = np.arange(len(y_train))
    if len(search_idx) > SEARCH_MAX_ROWS:
        search_idx, _ = train_test_split(search_idx, train_size=SEARCH_MAX_ROWS, stratify=y_train, random_state=seed)
    x_search, y_search = x_train[search_idx], y_train[search_idx]
    w_search = None if weight is None else weight[search_idx]
    results = []
    for i, extra in enumerate(SEARCH_SPACE, start=1):
        params = {**BASE_PARAMS, **extra} | ({"num_threads": threads} if threads else {})
        with step(f"search {i}/{len(SEARCH_SPACE)} {extra} on {len(y_search):,} rows"):
            result = cross_validate(x_search, y_search, params, folds=folds, seed=seed, weight=w_search)
        print(f"[train]   cv auc {result.cv_auc:.4f}, cost/1000 {result.cv_cost_per_1000:.1f}")
        results.append(result)
    best = min(results, key=lambda r: (r.cv_cost_per_1000, -r.cv_auc))
    return Search(results=results, best=best, y_search=y_search)


def fit_final(best: SearchResult, split: Split) -> lgb.Booster:
    """The best configuration refitted on the whole training part."""
    with step(f"final fit ({best.num_rounds} trees)"):
        return lgb.train(
            best.params, dataset(split.x_train, split.y_train, split.w_train), num_boost_round=best.num_rounds
        )


def evaluate(booster: lgb.Booster, split: Split, *, threshold: float) -> Evaluation:
    """Holdout metrics and fairness at the chosen threshold, and the gain of each feature."""
    p_hold = booster.predict(split.x_hold)
    return Evaluation(
        p_hold=p_hold,
        metrics=classification_metrics(split.y_hold, p_hold, threshold),
        fairness=fairness_table(split.holdout, p_hold, threshold),
        gain=dict(zip(FEATURE_NAMES, booster.feature_importance("gain").tolist(), strict=True)),
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
    """A short hash of the training frame's content, to tell two data sets apart in the metadata."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]
