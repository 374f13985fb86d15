"""What the training run is made of: LightGBM parameters, the search space, names in MLflow."""

from __future__ import annotations

import os
from typing import Any

from scoring.features import ENGINEERED, FEATURE_NAMES

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
