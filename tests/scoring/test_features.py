"""Feature engineering: pure, vectorised, identical for one row and for a frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.features import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    RAW_INDEX,
    build_features,
    encode_frame,
    encode_record,
    encode_records,
)
from scoring.schema import DAYS_EMPLOYED_PENSIONER, RAW_COLUMNS
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK


def _feature(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, FEATURE_NAMES.index(name)]


def test_gender_is_not_a_model_input():
    assert "CODE_GENDER" not in FEATURE_NAMES
    assert "CODE_GENDER" in RAW_COLUMNS


def test_ratios_and_anomaly_flag():
    raw = encode_records([EXAMPLE_LOW_RISK, {**EXAMPLE_HIGH_RISK, "DAYS_EMPLOYED": DAYS_EMPLOYED_PENSIONER}])
    x = build_features(raw)
    assert _feature(x, "CREDIT_INCOME_RATIO")[0] == pytest.approx(450000 / 270000)
    assert _feature(x, "ANNUITY_CREDIT_RATIO")[0] == pytest.approx(22500 / 450000)
    assert _feature(x, "INCOME_PER_PERSON")[0] == pytest.approx(270000 / 3)
    assert _feature(x, "DAYS_EMPLOYED_ANOMALY").tolist() == [0.0, 1.0]
    assert np.isnan(_feature(x, "DAYS_EMPLOYED")[1])  # the placeholder is a missing value, not 1,000 years
    assert np.isnan(_feature(x, "EMPLOYED_BIRTH_RATIO")[1])
    assert _feature(x, "EXT_SOURCE_MEAN")[1] == pytest.approx((0.12 + 0.09) / 2)  # mean of those present
    assert np.isnan(_feature(x, "EXT_SOURCE_PROD")[1])


def test_zero_denominator_is_missing_not_infinite():
    raw = encode_records([{**EXAMPLE_LOW_RISK, "AMT_INCOME_TOTAL": 0.0}])
    x = build_features(raw)
    assert np.isnan(_feature(x, "CREDIT_INCOME_RATIO")[0])
    assert np.isfinite(x[~np.isnan(x)]).all()


def test_one_row_equals_the_same_row_in_a_frame():
    frame = pd.DataFrame([EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK]).reindex(columns=list(RAW_COLUMNS))
    from_frame = build_features(encode_frame(frame))
    from_records = build_features(encode_records([EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK]))
    np.testing.assert_array_equal(from_frame, from_records)


def test_categories_are_codes_and_unknown_labels_are_missing():
    row = encode_record({**EXAMPLE_LOW_RISK, "NAME_CONTRACT_TYPE": "Revolving loans"})
    assert row[RAW_INDEX["NAME_CONTRACT_TYPE"]] == 1.0
    frame = pd.DataFrame([{**EXAMPLE_LOW_RISK, "NAME_CONTRACT_TYPE": "Mortgage"}]).reindex(columns=list(RAW_COLUMNS))
    assert np.isnan(encode_frame(frame)[0, RAW_INDEX["NAME_CONTRACT_TYPE"]])
    assert set(CATEGORICAL_FEATURES) <= set(FEATURE_NAMES)


def test_build_features_does_not_modify_its_input():
    raw = encode_records([EXAMPLE_LOW_RISK])
    before = raw.copy()
    build_features(raw)
    np.testing.assert_array_equal(raw, before)


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="120 columns"):
        build_features(np.zeros((1, 10)))
