"""How predictable is the synthetic population? (the real application-only range is AUC 0.75-0.77)

Generates the training population, adds the usual domain ratios, trains LightGBM on 80% and reports
the holdout ROC AUC of the full model and of EXT_SOURCE_1/2/3 alone, plus the default rate and the
generation time:

    python benchmarks/generator_auc.py [n_rows] [seed]
"""

from __future__ import annotations

import sys
import time

import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from scoring.schema import CATEGORICAL, DAYS_EMPLOYED_PENSIONER, ID_COLUMN, PROTECTED_COLUMNS, TARGET_COLUMN
from scoring.synth.generate import generate_applications

PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "metric": "auc",
    "verbose": -1,
    "num_threads": 2,
    "seed": 0,
}


def engineered(frame: pd.DataFrame) -> pd.DataFrame:
    x = frame.drop(columns=[ID_COLUMN, TARGET_COLUMN, *PROTECTED_COLUMNS])
    pensioner = x["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PENSIONER
    x["DAYS_EMPLOYED_ANOM"] = pensioner.astype(int)
    x["DAYS_EMPLOYED"] = x["DAYS_EMPLOYED"].where(~pensioner)
    x["CREDIT_INCOME"] = x["AMT_CREDIT"] / x["AMT_INCOME_TOTAL"]
    x["ANNUITY_INCOME"] = x["AMT_ANNUITY"] / x["AMT_INCOME_TOTAL"]
    x["ANNUITY_CREDIT"] = x["AMT_ANNUITY"] / x["AMT_CREDIT"]
    x["EMPLOYED_BIRTH"] = x["DAYS_EMPLOYED"] / x["DAYS_BIRTH"]
    x["INCOME_PER_PERSON"] = x["AMT_INCOME_TOTAL"] / x["CNT_FAM_MEMBERS"]
    for name in CATEGORICAL:
        if name in x:
            x[name] = x[name].astype("category")
    return x


def holdout_auc(x: pd.DataFrame, y: pd.Series, *, rounds: int = 600) -> float:
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    train, valid = lgb.Dataset(x_train, y_train), lgb.Dataset(x_test, y_test)
    booster = lgb.train(
        PARAMS, train, num_boost_round=rounds, valid_sets=[valid], callbacks=[lgb.early_stopping(50, verbose=False)]
    )
    return float(roc_auc_score(y_test, booster.predict(x_test, num_iteration=booster.best_iteration)))


def main(argv: list[str]) -> int:
    n_rows = int(argv[1]) if len(argv) > 1 else 307_511
    seed = int(argv[2]) if len(argv) > 2 else 0
    start = time.perf_counter()
    frame = generate_applications(n_rows, seed=seed)
    elapsed = time.perf_counter() - start
    x, y = engineered(frame), frame[TARGET_COLUMN]
    ext = x[["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]]
    print(f"rows {n_rows:,}  generated in {elapsed:.1f}s  default rate {y.mean():.4f}")
    print(f"EXT_SOURCE only AUC {holdout_auc(ext, y):.4f}")
    print(f"full model AUC      {holdout_auc(x, y):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
