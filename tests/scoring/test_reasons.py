"""`scoring.reasons`: the model's factors as reasons a credit officer can read and an audit can trace."""

from __future__ import annotations

import math

import pytest

from scoring.features import FEATURE_NAMES
from scoring.model import Factor
from scoring.reasons import SAYINGS, describe, reason_code, reasons
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("EXT_SOURCE_MEAN", 0.105, "Average external score 0.10 (low)"),
        ("DAYS_BIRTH", -9030.0, "Age 24.7 years"),
        ("GOODS_CREDIT_RATIO", 0.68, "Goods price is 68 % of the credit"),
        ("AMT_INCOME_TOTAL", 150000.0, "Annual income 150,000"),
        ("EXT_SOURCE_3", None, "External score 3: missing"),
        ("EXT_SOURCE_1", math.nan, "External score 1: missing"),
        ("OCCUPATION_TYPE", "Drivers", "Occupation: Drivers"),
        ("ORGANIZATION_TYPE", None, "Employer sector: missing"),
    ],
)
def test_values_in_words_and_units(feature: str, value, text: str) -> None:
    assert describe(feature, value) == text


def test_no_reason_shows_a_raw_column_name_or_none() -> None:
    for name in FEATURE_NAMES:
        for value in (None, 1.0):
            text = describe(name, "Y" if name.startswith(("NAME_", "FLAG_OWN")) and value else value)
            assert "None" not in text and "log-odds" not in text
            if name in SAYINGS:
                assert name not in text


def test_protected_attributes_are_never_a_reason() -> None:
    factors = [
        Factor("CODE_GENDER", "F", 0.9),
        Factor("EXT_SOURCE_MEAN", 0.2, 0.5),
        {"feature": "DAYS_BIRTH", "value": -9000.0, "contribution": -0.7},
    ]
    out = reasons(factors)
    assert [r.code for r in out] == ["AGE-LOWERS", "EXT_MEAN-RAISES"]  # strongest first, gender dropped


def test_codes_are_stable_and_unique() -> None:
    codes = [code for code, _ in SAYINGS.values()]
    assert len(codes) == len(set(codes))
    assert reason_code("EXT_SOURCE_MEAN", True) == "EXT_MEAN-RAISES"
    assert reason_code("FLAG_DOCUMENT_3", False) == "FLAG_DOCUMENT_3-LOWERS"


@pytest.mark.parametrize("example", [EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK])
def test_the_scorer_s_factors_become_reasons(scorer, example) -> None:
    score = scorer.score(example, explain=True)
    out = reasons(score.factors)
    assert len(out) == len(score.factors) and all(r.text and "=" not in r.text for r in out)
    assert {r.raises_risk for r in out} <= {True, False}
    assert [r.raises_risk for r in out] == [
        f.contribution > 0 for f in sorted(score.factors, key=lambda f: -abs(f.contribution))
    ]
