"""The scoring form's fields and its translation to and from an API payload, in the form's own words.

Pure (no Gradio): a form value is the text a credit officer typed (or a dropdown's choice). An empty
field is missing, never 0; text that is not a number is refused, never half-parsed; every refusal is
worded with the field's label and the form's unit ("Age must be between 18 and 100 years").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring.errors import InvalidInput, Problem
from scoring.schema import DAYS_EMPLOYED_PENSIONER, DAYS_PER_YEAR, FIELDS

NOT_EMPLOYED = "not employed / pensioner"
ADVANCED = "Advanced fields"


@dataclass(frozen=True)
class FormField:
    name: str  # Home Credit field
    label: str
    kind: str  # amount | years_ago | share | category | rating | years_employed
    info: str = ""


FORM: tuple[FormField, ...] = (
    FormField("NAME_CONTRACT_TYPE", "Contract type", "category"),
    FormField("AMT_INCOME_TOTAL", "Annual income", "amount", "currency units"),
    FormField("AMT_CREDIT", "Credit amount", "amount", "currency units"),
    FormField("AMT_ANNUITY", "Annuity (yearly repayment)", "amount", "currency units"),
    FormField("AMT_GOODS_PRICE", "Price of the goods", "amount", "currency units, empty if none"),
    FormField("DAYS_BIRTH", "Age", "years_ago", "years"),
    FormField("DAYS_EMPLOYED", "Years in current job", "years_employed", "years; tick 'not employed' if none"),
    FormField("EXT_SOURCE_1", "External score 1", "share", "0 (bad) to 1 (good); empty if unknown"),
    FormField("EXT_SOURCE_2", "External score 2", "share", "0 to 1; empty if unknown"),
    FormField("EXT_SOURCE_3", "External score 3", "share", "0 to 1; empty if unknown"),
    FormField("NAME_EDUCATION_TYPE", "Education", "category"),
    FormField("NAME_INCOME_TYPE", "Income type", "category"),
    FormField("ORGANIZATION_TYPE", "Employer sector", "category"),
    FormField("OCCUPATION_TYPE", "Occupation", "category"),
    FormField("NAME_FAMILY_STATUS", "Family status", "category"),
    FormField("CODE_GENDER", "Gender (not used by the model)", "category"),
    FormField("FLAG_OWN_CAR", "Owns a car", "category"),
    FormField("DAYS_ID_PUBLISH", "Years since the ID document was issued", "years_ago", "years"),
    FormField("REGION_RATING_CLIENT_W_CITY", "Region rating (1 best, 3 worst)", "rating"),
)
BY_NAME: dict[str, FormField] = {f.name: f for f in FORM}
NUMERIC_KINDS = ("amount", "years_ago", "years_employed", "share")

_SPACES = re.compile(r"[\s\u00a0\u202f_']")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: Any) -> float | None:
    """A typed number, or None when the field is empty; ValueError for anything else.

    Accepts spaces or commas as thousands separators ("150 000", "150,000") and a decimal comma ("0,45");
    refuses letters, units and NaN/Infinity rather than keeping the digits it can find ("abc12k").
    """
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, int | float):
        return float(text)
    cleaned = _SPACES.sub("", str(text))
    if not cleaned:
        return None
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    elif _DECIMAL_COMMA.match(cleaned):
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.match(cleaned):
        raise ValueError(text)
    return float(cleaned)


def _years(days: float) -> str:
    return f"{abs(days) / DAYS_PER_YEAR:.0f}"


def range_message(field: FormField) -> str:
    """The allowed range of a form field, in the form's unit."""
    spec = FIELDS[field.name]
    if field.kind == "years_ago":
        return f"{field.label} must be between {_years(spec.maximum or 0)} and {_years(spec.minimum or 0)} years"
    if field.kind == "years_employed":
        return f"{field.label} must be between 0 and {_years(spec.minimum or 0)} years (or tick '{NOT_EMPLOYED}')"
    if field.kind == "share":
        return f"{field.label} must be between 0 and 1"
    if field.kind == "amount":
        return f"{field.label} must be between 0 and {spec.maximum:,.0f} (currency units)"
    return f"{field.label}: choose one of the listed values"


def form_message(problem: Problem) -> str:
    """A validation problem in the form's words when it concerns a form field, else the API's words."""
    field = BY_NAME.get(problem.field or "")
    if field is None:
        return f"{problem.field}: {problem.message}" if problem.field else problem.message
    if problem.kind == "missing_field":
        return f"{field.label} is required"
    if problem.kind == "out_of_range":
        return range_message(field)
    if problem.kind == "unknown_category":
        return f"{field.label}: choose one of the listed values"
    return f"{field.label}: {problem.message}"


def _form_value(field: FormField, value: Any, not_employed: bool) -> tuple[Any, Problem | None]:
    """One form value -> (API value or None when missing, a problem in form words or None)."""
    if field.kind == "years_employed" and not_employed:
        return DAYS_EMPLOYED_PENSIONER, None
    if field.kind not in NUMERIC_KINDS:
        return (None if value in (None, "") else value), None
    try:
        number = parse_number(value)
    except ValueError:
        return None, Problem(field.name, "wrong_type", f"{field.label}: {str(value)!r} is not a number")
    if number is None:
        return None, None
    if number < 0:
        return None, Problem(field.name, "out_of_range", f"{field.label} cannot be negative (got {number:,g})")
    if field.kind in ("years_ago", "years_employed"):
        return -round(number * DAYS_PER_YEAR), None
    return number, None


def _advanced(text: str | None) -> dict[str, Any]:
    if not text or not text.strip():
        return {}
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [Problem(None, "invalid_json", f"{ADVANCED}: not valid JSON ({exc.msg} at line {exc.lineno})")]
        ) from exc
    if not isinstance(extra, dict):
        raise InvalidInput([Problem(None, "not_an_object", f"{ADVANCED}: expected a JSON object of field: value")])
    return extra


def to_payload(values: Mapping[str, Any], *, not_employed: bool = False, advanced: str | None = None) -> dict[str, Any]:
    """Form values (the officer's units) -> API payload (Home Credit units); raise InvalidInput in form words.

    The advanced JSON gives any field; a form field that was filled in overrides it, an empty one does not.
    """
    payload = _advanced(advanced)
    problems: list[Problem] = []
    for field in FORM:
        value, problem = _form_value(field, values.get(field.name), not_employed)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            payload[field.name] = value
    if problems:
        raise InvalidInput(problems)
    return payload


def from_payload(example: Mapping[str, Any]) -> list[Any]:
    """API payload -> form values (text for numbers), then the 'not employed' box and the advanced JSON."""
    out: list[Any] = []
    for field in FORM:
        value = example.get(field.name)
        if value is not None and field.kind in ("years_ago", "years_employed"):
            value = None if value == DAYS_EMPLOYED_PENSIONER else round(-value / DAYS_PER_YEAR, 1)
        if value is not None and field.kind in NUMERIC_KINDS:
            value = f"{value:g}" if isinstance(value, float) else str(value)
        out.append(value)
    out.append(example.get("DAYS_EMPLOYED") == DAYS_EMPLOYED_PENSIONER)
    rest = {k: v for k, v in example.items() if k not in BY_NAME}
    out.append(json.dumps(rest, indent=1) if rest else "")
    return out


def messages(problems: Sequence[Problem]) -> list[str]:
    """Every problem in form words; problems already worded by the form are kept as they are."""
    return [p.message if _is_form_worded(p) else form_message(p) for p in problems]


def _is_form_worded(problem: Problem) -> bool:
    field = BY_NAME.get(problem.field or "")
    return (field is not None and problem.message.startswith(field.label)) or problem.message.startswith(ADVANCED)
