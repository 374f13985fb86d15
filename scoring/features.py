"""Feature engineering shared, unchanged, by training and serving.

Everything works on a *raw matrix*: one row per application, one float64 column per raw field in
`schema.RAW_COLUMNS` order, categories encoded as their index in the schema's label list and
missing values as NaN. The same vectorised functions then serve one row (the API, in a few
microseconds) and 300,000 rows (training) without a second implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from scoring.schema import (
    CATEGORICAL,
    DAYS_EMPLOYED_PENSIONER,
    FIELDS,
    PROTECTED_COLUMNS,
    RAW_COLUMNS,
)

RAW_INDEX: dict[str, int] = {name: i for i, name in enumerate(RAW_COLUMNS)}
CATEGORY_CODES: dict[str, dict[str, int]] = {
    name: {label: code for code, label in enumerate(FIELDS[name].categories)} for name in CATEGORICAL
}

ENGINEERED: dict[str, str] = {
    "DAYS_EMPLOYED_ANOMALY": "1 when DAYS_EMPLOYED holds the 'not employed' placeholder 365243",
    "CREDIT_INCOME_RATIO": "credit amount / annual income",
    "ANNUITY_INCOME_RATIO": "annuity / annual income (share of income spent on the loan)",
    "ANNUITY_CREDIT_RATIO": "annuity / credit (payment rate; its inverse is the loan term in years)",
    "GOODS_CREDIT_RATIO": "goods price / credit amount",
    "EMPLOYED_BIRTH_RATIO": "share of life spent in the current job",
    "INCOME_PER_PERSON": "annual income / household size",
    "EXT_SOURCE_MEAN": "mean of the available external scores",
    "EXT_SOURCE_PROD": "product of the three external scores (missing if one is missing)",
}

_MODEL_RAW = tuple(c for c in RAW_COLUMNS if c not in PROTECTED_COLUMNS)
_MODEL_RAW_INDEX = np.array([RAW_INDEX[c] for c in _MODEL_RAW])
FEATURE_NAMES: tuple[str, ...] = (*_MODEL_RAW, *ENGINEERED)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(c for c in _MODEL_RAW if c in CATEGORY_CODES)


def _col(raw: np.ndarray, name: str) -> np.ndarray:
    return raw[:, RAW_INDEX[name]]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # A zero denominator is a missing ratio, not an infinite one.
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def build_features(raw: np.ndarray) -> np.ndarray:
    """Model matrix (n x len(FEATURE_NAMES)) from a raw matrix (n x 120). Pure, vectorised."""
    if raw.ndim != 2 or raw.shape[1] != len(RAW_COLUMNS):
        raise ValueError(f"expected a raw matrix with {len(RAW_COLUMNS)} columns, got shape {raw.shape}")
    employed = _col(raw, "DAYS_EMPLOYED")
    anomaly = employed == DAYS_EMPLOYED_PENSIONER
    employed = np.where(anomaly, np.nan, employed)
    income = _col(raw, "AMT_INCOME_TOTAL")
    credit = _col(raw, "AMT_CREDIT")
    annuity = _col(raw, "AMT_ANNUITY")
    ext = raw[:, [RAW_INDEX["EXT_SOURCE_1"], RAW_INDEX["EXT_SOURCE_2"], RAW_INDEX["EXT_SOURCE_3"]]]
    ext_present = ~np.isnan(ext)
    n_ext = ext_present.sum(axis=1)
    ext_mean = _ratio(np.where(ext_present, ext, 0.0).sum(axis=1), n_ext.astype(float))

    base = raw[:, _MODEL_RAW_INDEX]
    base[:, _MODEL_RAW.index("DAYS_EMPLOYED")] = employed  # raw[:, idx] is a copy: raw stays untouched
    engineered = np.column_stack(
        [
            anomaly.astype(float),
            _ratio(credit, income),
            _ratio(annuity, income),
            _ratio(annuity, credit),
            _ratio(_col(raw, "AMT_GOODS_PRICE"), credit),
            _ratio(employed, _col(raw, "DAYS_BIRTH")),
            _ratio(income, _col(raw, "CNT_FAM_MEMBERS")),
            ext_mean,
            ext.prod(axis=1),
        ]
    )
    return np.hstack([base, engineered])


def encode_frame(frame: pd.DataFrame) -> np.ndarray:
    """Raw matrix from a DataFrame holding the 120 raw columns (labels for categories).

    Unknown labels become NaN: the model then treats them as missing.
    """
    missing = [c for c in RAW_COLUMNS if c not in frame.columns]
    if missing:
        raise KeyError(f"missing raw columns: {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    out = np.empty((len(frame), len(RAW_COLUMNS)), dtype=np.float64)
    for i, name in enumerate(RAW_COLUMNS):
        column = frame[name]
        if name in CATEGORY_CODES:
            codes = pd.Categorical(column, categories=list(FIELDS[name].categories)).codes
            out[:, i] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, i] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def encode_record(record: Mapping[str, Any]) -> list[float]:
    """One raw row from a *validated* record (labels for categories, None or absent for missing)."""
    row: list[float] = []
    for name in RAW_COLUMNS:
        value = record.get(name)
        if value is None:
            row.append(np.nan)
        elif name in CATEGORY_CODES:
            row.append(float(CATEGORY_CODES[name].get(value, np.nan)))
        else:
            row.append(float(value))
    return row


def encode_records(records: Iterable[Mapping[str, Any]]) -> np.ndarray:
    rows = [encode_record(r) for r in records]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(RAW_COLUMNS))


def feature_frame(features: np.ndarray) -> pd.DataFrame:
    """The model matrix as the DataFrame the MLflow signature describes (all float64)."""
    return pd.DataFrame(features, columns=list(FEATURE_NAMES))


def display_value(name: str, raw_row: np.ndarray, feature_row: np.ndarray) -> Any:
    """A feature's value as a person should read it (the label for a category)."""
    if name in CATEGORY_CODES:
        code = raw_row[RAW_INDEX[name]]
        return None if np.isnan(code) else FIELDS[name].categories[int(code)]
    value = float(feature_row[FEATURE_NAMES.index(name)])
    return None if np.isnan(value) else value
