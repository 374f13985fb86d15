"""Strict validation of one application, the same for every entry point.

A payload is a JSON object keyed by Home Credit field names. Every problem is reported with the
field it concerns and the reason, so a caller can fix its request without guessing. Validation
never raises anything but `ValidationError`, whatever it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.schema import DAYS_EMPLOYED_PENSIONER, DAYS_PER_YEAR, FIELDS, ID_COLUMN, REQUIRED, Field

MAX_CATEGORY_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Problem:
    field: str | None
    kind: str  # unknown_field | missing_field | wrong_type | unknown_category | out_of_range | not_an_object
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "kind": self.kind, "message": self.message}


class ValidationError(ValueError):
    """One or more problems with an application; `problems[0]` is the one to show first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems))

    @property
    def field(self) -> str | None:
        return self.problems[0].field

    @property
    def kind(self) -> str:
        return self.problems[0].kind


@dataclass(frozen=True, slots=True)
class NonFinite:
    """A NaN or Infinity literal met while decoding JSON, kept so the field can be named."""

    literal: str


def _bounds_text(spec: Field) -> str:
    if spec.name == "DAYS_BIRTH":
        return f"between {spec.minimum:g} and {spec.maximum:g} days (an age of 18 to 100 years)"
    if spec.name == "DAYS_EMPLOYED":
        return f"between {spec.minimum:g} and 0 days, or {DAYS_EMPLOYED_PENSIONER} for 'not employed'"
    return f"between {spec.minimum:g} and {spec.maximum:g}"


def _check_number(spec: Field, value: Any) -> tuple[float | int | None, Problem | None]:
    if isinstance(value, NonFinite):
        return None, Problem(spec.name, "wrong_type", f"expected a finite number, got {value.literal}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, Problem(spec.name, "wrong_type", f"expected a number, got {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        return None, Problem(spec.name, "wrong_type", f"expected a finite number, got {value}")
    if spec.kind in ("int", "flag"):
        if isinstance(value, float):
            if not value.is_integer():
                return None, Problem(spec.name, "wrong_type", f"expected a whole number, got {value}")
            value = int(value)
        if spec.kind == "flag" and value not in (0, 1):
            return None, Problem(spec.name, "out_of_range", f"expected 0 or 1, got {value}")
    if spec.name == "DAYS_EMPLOYED" and value == DAYS_EMPLOYED_PENSIONER:
        return value, None
    too_low = spec.minimum is not None and value < spec.minimum
    too_high = spec.maximum is not None and value > (0 if spec.name == "DAYS_EMPLOYED" else spec.maximum)
    if too_low or too_high:
        return None, Problem(spec.name, "out_of_range", f"{value} is impossible: allowed {_bounds_text(spec)}")
    return value, None


def _check_category(spec: Field, value: Any) -> tuple[str | None, Problem | None]:
    if not isinstance(value, str):
        return None, Problem(spec.name, "wrong_type", f"expected one of the labels (a string), got {_describe(value)}")
    if value not in spec.categories:
        shown = value if len(value) <= MAX_CATEGORY_LENGTH else value[:MAX_CATEGORY_LENGTH] + "..."
        return None, Problem(
            spec.name, "unknown_category", f"unknown label {shown!r}; expected one of {list(spec.categories)}"
        )
    return value, None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return type(value).__name__


def validate_application(payload: Any) -> tuple[dict[str, Any], str | None]:
    """Return (clean fields, client reference) or raise ValidationError listing every problem.

    Clean fields hold only the Home Credit fields that were given and not null; the client
    reference (SK_ID_CURR) is returned apart because it must never reach the model.
    """
    if not isinstance(payload, Mapping):
        raise ValidationError([Problem(None, "not_an_object", f"expected a JSON object, got {_describe(payload)}")])
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    client_ref = None
    for name, value in payload.items():
        if name == ID_COLUMN:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
                problems.append(Problem(ID_COLUMN, "wrong_type", "expected an integer or a string identifier"))
            elif value is not None:
                client_ref = str(value)[:64]
            continue
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            shown = str(name)[:MAX_CATEGORY_LENGTH]
            problems.append(Problem(shown, "unknown_field", "unknown field (not a Home Credit application column)"))
            continue
        if value is None:
            continue
        checked, problem = (_check_category if spec.kind == "category" else _check_number)(spec, value)
        if problem:
            problems.append(problem)
        else:
            clean[name] = checked
    for name in REQUIRED:
        if name not in clean and not any(p.field == name for p in problems):
            problems.append(Problem(name, "missing_field", "required field is missing or null"))
    if problems:
        raise ValidationError(problems)
    return clean, client_ref


def age_years(days_birth: float) -> float:
    return -days_birth / DAYS_PER_YEAR
