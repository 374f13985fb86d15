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


_N_BASE = len(_MODEL_RAW)
_OUT = {name: _N_BASE + i for i, name in enumerate(ENGINEERED)}
_EMPLOYED_IN_BASE = _MODEL_RAW.index("DAYS_EMPLOYED")
_EXT = np.array([RAW_INDEX["EXT_SOURCE_1"], RAW_INDEX["EXT_SOURCE_2"], RAW_INDEX["EXT_SOURCE_3"]])
# The six ratios, as (numerator, denominator) in ENGINEERED order: computed by one division of two
# gathered blocks. DAYS_EMPLOYED's numerator is taken after its placeholder became NaN.
_RATIOS = (
    ("CREDIT_INCOME_RATIO", "AMT_CREDIT", "AMT_INCOME_TOTAL"),
    ("ANNUITY_INCOME_RATIO", "AMT_ANNUITY", "AMT_INCOME_TOTAL"),
    ("ANNUITY_CREDIT_RATIO", "AMT_ANNUITY", "AMT_CREDIT"),
    ("GOODS_CREDIT_RATIO", "AMT_GOODS_PRICE", "AMT_CREDIT"),
    ("EMPLOYED_BIRTH_RATIO", "DAYS_EMPLOYED", "DAYS_BIRTH"),
    ("INCOME_PER_PERSON", "AMT_INCOME_TOTAL", "CNT_FAM_MEMBERS"),
)
_RATIO_OUT = [_OUT[name] for name, _, _ in _RATIOS]
assert list(range(_RATIO_OUT[0], _RATIO_OUT[0] + len(_RATIOS))) == _RATIO_OUT, "ratios must be contiguous"
_RATIO_BLOCK = slice(_RATIO_OUT[0], _RATIO_OUT[-1] + 1)
_NUMERATORS = np.array([RAW_INDEX[num] for _, num, _ in _RATIOS])
_DENOMINATORS = np.array([RAW_INDEX[den] for _, _, den in _RATIOS])
_EMPLOYED_IN_RATIOS = [num for _, num, _ in _RATIOS].index("DAYS_EMPLOYED")


def build_features(raw: np.ndarray) -> np.ndarray:
    """Model matrix (n x len(FEATURE_NAMES)) from a raw matrix (n x 120). Pure, vectorised.

    Written as a dozen whole-block operations into one preallocated matrix, because the same
    function serves a single API request, where each extra numpy call is a visible share of the
    latency (about 1 us each on one row).
    """
    if raw.ndim != 2 or raw.shape[1] != len(RAW_COLUMNS):
        raise ValueError(f"expected a raw matrix with {len(RAW_COLUMNS)} columns, got shape {raw.shape}")
    out = np.empty((raw.shape[0], len(FEATURE_NAMES)))
    np.take(raw, _MODEL_RAW_INDEX, axis=1, out=out[:, :_N_BASE])
    employed = out[:, _EMPLOYED_IN_BASE]
    anomaly = employed == DAYS_EMPLOYED_PENSIONER
    out[:, _OUT["DAYS_EMPLOYED_ANOMALY"]] = anomaly
    employed[anomaly] = np.nan  # the placeholder is "not employed", not a 1,000-year career
    numerators = raw.take(_NUMERATORS, axis=1)
    numerators[:, _EMPLOYED_IN_RATIOS] = employed
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(numerators, raw.take(_DENOMINATORS, axis=1), out=out[:, _RATIO_BLOCK])
        ext = raw.take(_EXT, axis=1)
        present = ~np.isnan(ext)
        np.divide(
            np.where(present, ext, 0.0).sum(axis=1), present.sum(axis=1), out=out[:, _OUT["EXT_SOURCE_MEAN"]]
        )  # mean of the scores present; none present -> NaN
        ext.prod(axis=1, out=out[:, _OUT["EXT_SOURCE_PROD"]])
    out[np.isinf(out)] = np.nan  # a zero denominator gives a missing ratio, not an infinite one
    return out


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
