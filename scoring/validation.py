"""Strict validation of one application, the same for every entry point.

A payload is a JSON object keyed by Home Credit field names. Every problem is reported with the
field it concerns and the reason, so a caller can fix its request without guessing. Validation
never raises anything but `InvalidInput`, whatever it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.errors import InvalidInput, Problem
from scoring.schema import DAYS_EMPLOYED_PENSIONER, DAYS_PER_YEAR, FIELDS, ID_COLUMN, REQUIRED, Field

MAX_CATEGORY_LENGTH = 100


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
        return None, Problem(
            spec.name, "unknown_category", f"unknown label {_shown(value)!r}; expected one of {list(spec.categories)}"
        )
    return value, None


def _shown(text: str) -> str:
    """Echo caller text safely: truncated, and lone surrogates (undecodable) replaced."""
    short = text if len(text) <= MAX_CATEGORY_LENGTH else text[:MAX_CATEGORY_LENGTH] + "..."
    return short.encode("utf-8", "replace").decode("utf-8")


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
    """Return (clean fields, client reference) or raise InvalidInput listing every problem.

    Clean fields hold only the Home Credit fields that were given and not null; the client
    reference (SK_ID_CURR) is returned apart because it must never reach the model.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput([Problem(None, "not_an_object", f"expected a JSON object, got {_describe(payload)}")])
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    client_ref = None
    for name, value in payload.items():
        if name == ID_COLUMN:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
                problems.append(Problem(ID_COLUMN, "wrong_type", "expected an integer or a string identifier"))
            elif value is not None:
                client_ref = str(value)[:64]
                if _shown(client_ref) != client_ref:
                    problems.append(Problem(ID_COLUMN, "wrong_type", "the identifier is not valid text"))
            continue
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            problems.append(
                Problem(_shown(str(name)), "unknown_field", "unknown field (not a Home Credit application column)")
            )
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
        raise InvalidInput(problems)
    return clean, client_ref


# ----------------------------------------------------------------------------- one request, fast
# The request path checks the usual case -- a dict of well-typed, in-range values -- in one pass
# that also writes the row of the raw matrix, and hands anything unusual (a wrong type, a bool, a
# float where a whole number is expected, an unknown field or label, a bound crossed, a required
# field absent) to `validate_application`, still the one place that words problems. So both give
# the same verdicts and the same clean fields (tests/reliability/test_properties.py).

_FLOAT, _INT, _LABEL = 0, 1, 2
_NAN_ROW: list[float] = [math.nan] * len(FIELDS)
_EMPLOYED = list(FIELDS).index("DAYS_EMPLOYED")


def _rule(index: int, spec: Field) -> tuple[int, int, float, float, Any]:
    if spec.kind == "category":
        return index, _LABEL, 0.0, 0.0, {label: float(code) for code, label in enumerate(spec.categories)}
    high = 0.0 if spec.name == "DAYS_EMPLOYED" else spec.maximum  # its placeholder is handled apart
    return index, _INT if spec.kind in ("int", "flag") else _FLOAT, spec.minimum, high, None


# field -> (raw column, kind, low, high, label codes); schema bounds are all finite (a test pins it)
_RULES: dict[str, tuple[int, int, float, float, Any]] = {
    name: _rule(i, spec) for i, (name, spec) in enumerate(FIELDS.items())
}


def validate_encoded(payload: Any) -> tuple[dict[str, Any], str | None, list[float]]:
    """`validate_application` plus the application's row of the raw matrix (see scoring.features)."""
    if type(payload) is dict:
        clean: dict[str, Any] = {}
        row = _NAN_ROW.copy()
        client_ref = None
        for name, value in payload.items():
            rule = _RULES.get(name)
            if rule is None:
                if name != ID_COLUMN or not (value is None or type(value) in (int, str)):
                    break
                if value is not None:
                    client_ref = str(value)[:64]
                    if _shown(client_ref) != client_ref:
                        break
                continue
            if value is None:
                continue
            index, kind, low, high, codes = rule
            kind_of_value = type(value)
            if kind == _LABEL:
                code = codes.get(value) if kind_of_value is str else None
                if code is None:
                    break
                row[index] = code
            elif kind_of_value is int or (kind == _FLOAT and kind_of_value is float):
                if not low <= value <= high and not (index == _EMPLOYED and value == DAYS_EMPLOYED_PENSIONER):
                    break  # NaN fails the comparison too
                row[index] = float(value)
            else:
                break
            clean[name] = value
        else:
            if all(name in clean for name in REQUIRED):
                return clean, client_ref, row
    from scoring.features import encode_record

    clean, client_ref = validate_application(payload)  # raises, wording every problem
    return clean, client_ref, encode_record(clean)


def age_years(days_birth: float) -> float:
    return -days_birth / DAYS_PER_YEAR


# ---------------------------------------------------------------------------------------- batches
# A batch is validated column by column with numpy: the per-field rules above, applied to 10,000
# values at once. Any row that a vectorised check cannot clear (a wrong type, an unknown field, a
# value out of bounds...) goes through `validate_application`, which stays the one place that
# words the problems, so both paths accept and refuse exactly the same rows.

_NUMBER_TYPES = frozenset({int, float, type(None)})
_INT_TYPES = frozenset({int, type(None)})
_LABEL_TYPES = frozenset({str, type(None)})
_ALLOWED_KEYS = frozenset(FIELDS) | {ID_COLUMN}


@dataclass(slots=True)
class ValidatedBatch:
    """The rows that passed, in order: their indices, clean fields, client references and raw matrix."""

    indices: list[int]
    clean: list[dict[str, Any]]
    client_refs: list[str | None]
    raw: Any  # np.ndarray, n_valid x 120 (see scoring.features)
    errors: dict[int, InvalidInput]


def column_suspects(name: str, spec: Field, values: list[Any], codes: Mapping[str, int] | None) -> tuple[Any, Any]:
    """(float column, boolean mask of rows the scalar validator must look at) for one field."""
    import numpy as np

    n = len(values)
    allowed = _LABEL_TYPES if spec.kind == "category" else _INT_TYPES if spec.kind in ("int", "flag") else _NUMBER_TYPES
    wrong = np.zeros(n, dtype=bool)
    if not set(map(type, values)) <= allowed:  # rare: find the offending rows, blank them for the numpy pass
        wrong = np.array([type(v) not in allowed for v in values])
        values = [None if w else v for v, w in zip(values, wrong.tolist(), strict=True)]
    if spec.kind == "category":
        column = np.array([np.nan if v is None else codes.get(v, -1) for v in values], dtype=np.float64)
        return column, wrong | (column == -1)
    try:
        column = np.array(values, dtype=np.float64)  # None -> NaN
    except OverflowError:  # an integer beyond float range: let the scalar check word it
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    missing = np.isnan(column)
    if int(missing.sum()) != values.count(None):  # a NaN float given as a value, not as a missing field
        wrong |= missing & np.array([v is not None for v in values])
    with np.errstate(invalid="ignore"):
        bad = np.isinf(column) | (column < spec.minimum)
        bad |= column > (0 if name == "DAYS_EMPLOYED" else spec.maximum)
        if name == "DAYS_EMPLOYED":
            bad &= column != DAYS_EMPLOYED_PENSIONER
    return column, wrong | bad


def validate_many(payloads: list[Any], category_codes: Mapping[str, Mapping[str, int]]) -> ValidatedBatch:
    """Validate a batch column-wise; same verdicts and messages as `validate_application` per row."""
    import numpy as np

    from scoring.schema import RAW_COLUMNS

    n = len(payloads)
    suspect = np.zeros(n, dtype=bool)
    rows: list[Mapping[str, Any]] = []
    for i, payload in enumerate(payloads):
        if not isinstance(payload, Mapping) or not payload.keys() <= _ALLOWED_KEYS:
            suspect[i] = True
            rows.append({})
        else:
            rows.append(payload)
    raw = np.empty((n, len(RAW_COLUMNS)), dtype=np.float64)
    # map() + zip() transpose the rows into columns at C speed: a comprehension per column is 3x slower.
    columns = list(zip(*[list(map(row.get, RAW_COLUMNS)) for row in rows], strict=True)) if n else []
    for j, name in enumerate(RAW_COLUMNS):
        spec = FIELDS[name]
        values = list(columns[j])
        raw[:, j], bad = column_suspects(name, spec, values, category_codes.get(name))
        suspect |= bad
        if spec.required:
            suspect |= np.isnan(raw[:, j])
    refs = [row.get(ID_COLUMN) for row in rows]
    if not set(map(type, refs)) <= {int, str, type(None)}:
        suspect |= np.array([type(r) not in (int, str, type(None)) for r in refs])
    errors: dict[int, InvalidInput] = {}
    clean: dict[int, dict[str, Any]] = {}
    client_refs: dict[int, str | None] = {}
    for i in np.flatnonzero(suspect).tolist():
        try:
            clean[i], client_refs[i] = validate_application(payloads[i])
        except InvalidInput as exc:
            errors[i] = exc
    indices = [i for i in range(n) if i not in errors]
    for i in indices:
        if i not in clean:
            row = rows[i]
            ref = row.get(ID_COLUMN)
            if ref is None and None not in row.values():
                clean[i] = dict(row)  # already exactly the clean fields
            else:
                clean[i] = {k: v for k, v in row.items() if v is not None and k != ID_COLUMN}
            client_refs[i] = None if ref is None else str(ref)[:64]
    keep = np.array(indices, dtype=np.intp)
    valid_raw = raw[keep]
    rechecked = [k for k, i in enumerate(indices) if suspect[i]]
    if rechecked:  # rows the scalar validator cleared: encode them from their clean fields
        from scoring.features import encode_record

        valid_raw[rechecked] = [encode_record(clean[indices[k]]) for k in rechecked]
    return ValidatedBatch(indices, [clean[i] for i in indices], [client_refs[i] for i in indices], valid_raw, errors)
