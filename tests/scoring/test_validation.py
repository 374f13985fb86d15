"""Validation rules, the same for every entry point: each bad input names its field and reason."""

from __future__ import annotations

import math

import pytest

from scoring.errors import InvalidInput
from scoring.schema import DAYS_EMPLOYED_PENSIONER, FIELDS, REQUIRED
from scoring.validation import NonFinite, validate_application
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK


def _problem(payload):
    with pytest.raises(InvalidInput) as info:
        validate_application(payload)
    return info.value


def test_examples_are_valid():
    for example in (EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK):
        clean, ref = validate_application(example)
        assert clean == {k: v for k, v in example.items()}
        assert ref is None


def test_client_reference_is_set_apart():
    clean, ref = validate_application({**EXAMPLE_LOW_RISK, "SK_ID_CURR": 100002})
    assert ref == "100002"
    assert "SK_ID_CURR" not in clean


@pytest.mark.parametrize("name", REQUIRED)
def test_required_field_missing_or_null(name):
    for payload in ({k: v for k, v in EXAMPLE_LOW_RISK.items() if k != name}, {**EXAMPLE_LOW_RISK, name: None}):
        error = _problem(payload)
        assert (error.field, error.kind) == (name, "missing_field")


def test_optional_fields_may_be_null_or_absent():
    clean, _ = validate_application({**EXAMPLE_LOW_RISK, "EXT_SOURCE_1": None, "OCCUPATION_TYPE": None})
    assert "EXT_SOURCE_1" not in clean and "OCCUPATION_TYPE" not in clean


def test_unknown_field_is_named():
    error = _problem({**EXAMPLE_LOW_RISK, "FAVOURITE_COLOUR": "blue"})
    assert (error.field, error.kind) == ("FAVOURITE_COLOUR", "unknown_field")


@pytest.mark.parametrize(
    ("field", "value", "kind", "words"),
    [
        ("AMT_CREDIT", "abc", "wrong_type", "number"),
        ("AMT_CREDIT", "450000", "wrong_type", "number"),
        ("AMT_CREDIT", True, "wrong_type", "number"),
        ("AMT_CREDIT", [1, 2], "wrong_type", "list"),
        ("AMT_CREDIT", {"a": 1}, "wrong_type", "object"),
        ("AMT_CREDIT", float("nan"), "wrong_type", "finite"),
        ("AMT_CREDIT", NonFinite("Infinity"), "wrong_type", "Infinity"),
        ("NAME_CONTRACT_TYPE", 3, "wrong_type", "string"),
        ("NAME_CONTRACT_TYPE", "Mortgage", "unknown_category", "Cash loans"),
        ("CNT_CHILDREN", 1.5, "wrong_type", "whole"),
        ("FLAG_MOBIL", 2, "out_of_range", "0 or 1"),
        ("AMT_CREDIT", -5.0, "out_of_range", "between 0"),
        ("DAYS_BIRTH", 100, "out_of_range", "18 to 100"),
        ("DAYS_BIRTH", -40000, "out_of_range", "18 to 100"),
        ("EXT_SOURCE_2", 1.2, "out_of_range", "between 0 and 1"),
        ("CNT_CHILDREN", -1, "out_of_range", "between 0"),
        ("DAYS_EMPLOYED", 10, "out_of_range", "365243"),
    ],
)
def test_bad_values_name_field_and_reason(field, value, kind, words):
    error = _problem({**EXAMPLE_LOW_RISK, field: value})
    assert error.field == field
    assert error.kind == kind
    assert words in error.problems[0].message


def test_every_problem_is_reported():
    error = _problem({**EXAMPLE_LOW_RISK, "AMT_CREDIT": "x", "EXT_SOURCE_1": 5, "NOPE": 1})
    assert {p.field for p in error.problems} == {"AMT_CREDIT", "EXT_SOURCE_1", "NOPE"}


def test_pensioner_placeholder_and_integral_floats_are_accepted():
    clean, _ = validate_application({**EXAMPLE_LOW_RISK, "DAYS_EMPLOYED": DAYS_EMPLOYED_PENSIONER, "CNT_CHILDREN": 2.0})
    assert clean["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PENSIONER
    assert clean["CNT_CHILDREN"] == 2 and isinstance(clean["CNT_CHILDREN"], int)


@pytest.mark.parametrize("payload", [None, [], "text", 3, [EXAMPLE_LOW_RISK]])
def test_not_an_object(payload):
    assert _problem(payload).kind == "not_an_object"


def test_every_field_has_bounds_or_labels():
    for spec in FIELDS.values():
        if spec.kind == "category":
            assert spec.categories
        else:
            assert spec.minimum is not None and spec.maximum is not None and math.isfinite(spec.maximum)


def _same_as_the_scalar_path(payload) -> None:
    import numpy as np

    from scoring.features import encode_record
    from scoring.validation import validate_encoded

    clean, ref, row = validate_encoded(payload)
    assert (clean, ref) == validate_application(payload)
    np.testing.assert_array_equal(np.array(row), np.array(encode_record(clean)))


def test_request_path_validation_equals_the_scalar_one_on_production_rows(applications):
    for application in applications:
        _same_as_the_scalar_path(application)


@pytest.mark.parametrize("name", [n for n, spec in FIELDS.items() if spec.kind != "category"])
def test_request_path_validation_at_each_bound(name):
    spec = FIELDS[name]
    low, high = spec.minimum, 0 if name == "DAYS_EMPLOYED" else spec.maximum
    if spec.kind != "float":  # whole numbers; a float such as 3.0 is accepted and made an int
        low, high = math.ceil(low), math.floor(high)
    for value in (low, high, float(low), DAYS_EMPLOYED_PENSIONER if name == "DAYS_EMPLOYED" else high):
        _same_as_the_scalar_path({**EXAMPLE_LOW_RISK, name: value, "SK_ID_CURR": "ref-1"})
