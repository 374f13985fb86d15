"""`service.ui.form`: what the officer typed becomes the API payload, and refusals speak the form's words."""

from __future__ import annotations

import pytest

from scoring.errors import InvalidInput, Problem
from scoring.schema import DAYS_EMPLOYED_PENSIONER, REQUIRED
from service.openapi import EXAMPLE_LOW_RISK
from service.ui.form import BY_NAME, FORM, form_message, from_payload, parse_number, to_payload

NAMES = [f.name for f in FORM]


def form_values(values: list) -> dict:
    return dict(zip(NAMES, values[: len(FORM)], strict=True))


@pytest.mark.parametrize(
    ("text", "number"),
    [("150000", 150000.0), (" 150 000 ", 150000.0), ("150,000", 150000.0), ("0,45", 0.45), (".5", 0.5), ("", None)],
)
def test_numbers_as_people_type_them(text: str, number: float | None) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["abc12k", "12k", "1.2.3", "nan", "inf", "12 €", "1,5,0"])
def test_text_that_is_not_a_number_is_refused_not_half_read(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_an_untouched_form_sends_nothing() -> None:
    assert to_payload({}) == {}
    assert to_payload(dict.fromkeys(NAMES, "")) == {}
    assert to_payload(dict.fromkeys(NAMES)) == {}


def test_required_only_sends_exactly_those_fields() -> None:
    values = {"NAME_CONTRACT_TYPE": "Cash loans", "AMT_INCOME_TOTAL": "150000", "AMT_CREDIT": "500000"}
    values |= {"AMT_ANNUITY": "25000", "DAYS_BIRTH": "40"}
    payload = to_payload(values)
    assert set(payload) == set(REQUIRED) and payload["DAYS_BIRTH"] == -14610


def test_advanced_json_on_a_fresh_form_is_the_whole_application() -> None:
    *_, advanced = from_payload({})
    assert advanced == ""
    import json

    assert to_payload(dict.fromkeys(NAMES, ""), advanced=json.dumps(EXAMPLE_LOW_RISK)) == EXAMPLE_LOW_RISK


def test_a_filled_form_field_overrides_the_json_and_an_empty_one_does_not() -> None:
    payload = to_payload({"AMT_CREDIT": "7"}, advanced='{"AMT_CREDIT": 5, "AMT_ANNUITY": 3}')
    assert payload == {"AMT_CREDIT": 7.0, "AMT_ANNUITY": 3}


def test_examples_round_trip_through_the_form() -> None:
    *fields, unemployed, advanced = from_payload(EXAMPLE_LOW_RISK)
    payload = to_payload(form_values(fields), not_employed=unemployed, advanced=advanced)
    assert payload.keys() == EXAMPLE_LOW_RISK.keys()
    for name, value in EXAMPLE_LOW_RISK.items():
        assert payload[name] == pytest.approx(value, abs=40) if isinstance(value, int | float) else value


def test_not_employed_box_sends_the_placeholder() -> None:
    assert to_payload({"DAYS_EMPLOYED": "3"}, not_employed=True)["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PENSIONER


def test_refusals_name_the_form_field_and_its_unit() -> None:
    with pytest.raises(InvalidInput) as caught:
        to_payload({"AMT_INCOME_TOTAL": "-50000", "AMT_CREDIT": "abc12k"})
    assert [p.message for p in caught.value.problems] == [
        "Annual income cannot be negative (got -50,000)",
        "Credit amount: 'abc12k' is not a number",
    ]
    assert [p.field for p in caught.value.problems] == ["AMT_INCOME_TOTAL", "AMT_CREDIT"]


@pytest.mark.parametrize(
    ("field", "kind", "words"),
    [
        ("DAYS_BIRTH", "out_of_range", "Age must be between 18 and 100 years"),
        ("DAYS_EMPLOYED", "out_of_range", "Years in current job must be between 0 and 100 years"),
        ("EXT_SOURCE_2", "out_of_range", "External score 2 must be between 0 and 1"),
        ("AMT_CREDIT", "missing_field", "Credit amount is required"),
        ("CNT_CHILDREN", "out_of_range", "CNT_CHILDREN: API words"),  # not on the form: the API's words
    ],
)
def test_validation_problems_in_form_words(field: str, kind: str, words: str) -> None:
    assert form_message(Problem(field, kind, "API words")).startswith(words)
    assert field not in BY_NAME or field not in form_message(Problem(field, kind, "API words"))


def test_shard_paths_are_shown_relative_to_their_log_folder(tmp_path) -> None:
    from service.ui.data_tab import shown_path

    roots = {"live": tmp_path / "predictions", "history": tmp_path / "history"}
    assert shown_path(tmp_path / "predictions" / "2026-12-01" / "host-1.jsonl", roots) == "live/2026-12-01/host-1.jsonl"
    assert shown_path(tmp_path / "history" / "a.jsonl", roots) == "history/a.jsonl"
    assert shown_path("/elsewhere/secret/b.jsonl", roots) == "b.jsonl"
