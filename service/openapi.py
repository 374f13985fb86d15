"""JSON Schemas of the REST bodies, derived from the one application schema.

The handlers read and validate the raw body themselves (strict rules, exact error messages, no
coercion of "123" into 123); these schemas only document the contract in /docs and /openapi.json.
"""

from __future__ import annotations

from typing import Any

from scoring.schema import FIELDS, ID_COLUMN, REQUIRED, Field

EXAMPLE_LOW_RISK: dict[str, Any] = {
    "NAME_CONTRACT_TYPE": "Cash loans",
    "CODE_GENDER": "F",
    "FLAG_OWN_CAR": "Y",
    "FLAG_OWN_REALTY": "Y",
    "CNT_CHILDREN": 1,
    "AMT_INCOME_TOTAL": 270000.0,
    "AMT_CREDIT": 450000.0,
    "AMT_ANNUITY": 22500.0,
    "AMT_GOODS_PRICE": 450000.0,
    "NAME_INCOME_TYPE": "State servant",
    "NAME_EDUCATION_TYPE": "Higher education",
    "NAME_FAMILY_STATUS": "Married",
    "NAME_HOUSING_TYPE": "House / apartment",
    "DAYS_BIRTH": -18250,
    "DAYS_EMPLOYED": -4380,
    "OWN_CAR_AGE": 4.0,
    "CNT_FAM_MEMBERS": 3.0,
    "REGION_RATING_CLIENT": 1,
    "REGION_RATING_CLIENT_W_CITY": 1,
    "OCCUPATION_TYPE": "Core staff",
    "ORGANIZATION_TYPE": "Government",
    "EXT_SOURCE_1": 0.78,
    "EXT_SOURCE_2": 0.74,
    "EXT_SOURCE_3": 0.81,
}
EXAMPLE_HIGH_RISK: dict[str, Any] = {
    "NAME_CONTRACT_TYPE": "Cash loans",
    "CODE_GENDER": "M",
    "FLAG_OWN_CAR": "N",
    "FLAG_OWN_REALTY": "N",
    "CNT_CHILDREN": 2,
    "AMT_INCOME_TOTAL": 90000.0,
    "AMT_CREDIT": 900000.0,
    "AMT_ANNUITY": 45000.0,
    "AMT_GOODS_PRICE": 765000.0,
    "NAME_INCOME_TYPE": "Working",
    "NAME_EDUCATION_TYPE": "Secondary / secondary special",
    "NAME_FAMILY_STATUS": "Single / not married",
    "NAME_HOUSING_TYPE": "Rented apartment",
    "DAYS_BIRTH": -8400,
    "DAYS_EMPLOYED": -200,
    "CNT_FAM_MEMBERS": 3.0,
    "REGION_RATING_CLIENT": 3,
    "REGION_RATING_CLIENT_W_CITY": 3,
    "OCCUPATION_TYPE": "Laborers",
    "ORGANIZATION_TYPE": "Self-employed",
    "EXT_SOURCE_2": 0.12,
    "EXT_SOURCE_3": 0.09,
}


def _field_schema(spec: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": spec.description}
    if spec.kind == "category":
        schema["anyOf"] = [{"type": "string", "enum": list(spec.categories)}, {"type": "null"}]
        return schema
    number: dict[str, Any] = {"type": "integer" if spec.kind in ("int", "flag") else "number"}
    if spec.minimum is not None:
        number["minimum"] = spec.minimum
    if spec.maximum is not None and spec.name != "DAYS_EMPLOYED":
        number["maximum"] = spec.maximum
    if spec.unit:
        schema["description"] += f" Unit: {spec.unit}."
    schema["anyOf"] = [number, {"type": "null"}]
    return schema


def application_schema() -> dict[str, Any]:
    properties = {
        ID_COLUMN: {
            "anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 64}],
            "description": "Optional client reference; never a model input, logged only as a keyed hash.",
        }
    }
    properties.update({name: _field_schema(spec) for name, spec in FIELDS.items()})
    for name in REQUIRED:
        properties[name]["anyOf"] = [s for s in properties[name]["anyOf"] if s != {"type": "null"}]
    return {
        "title": "Application",
        "type": "object",
        "description": "One loan application: Home Credit `application_train` fields. Omitted or null fields "
        "are treated as missing (the model handles them), except the required ones.",
        "properties": properties,
        "required": list(REQUIRED),
        "additionalProperties": False,
        "examples": [EXAMPLE_LOW_RISK],
    }


_FACTOR = {
    "type": "object",
    "properties": {
        "feature": {"type": "string"},
        "value": {"description": "the applicant's value of that feature"},
        "contribution": {"type": "number", "description": "TreeSHAP contribution, in log-odds of default"},
        "direction": {"type": "string", "enum": ["increases risk", "decreases risk"]},
    },
}
SCORE_SCHEMA: dict[str, Any] = {
    "title": "Score",
    "type": "object",
    "properties": {
        "request_id": {"type": "string"},
        "probability": {"type": "number", "minimum": 0, "maximum": 1, "description": "probability of default"},
        "decision": {"type": "string", "enum": ["approve", "refuse"]},
        "threshold": {"type": "number", "description": "refuse at or above this probability"},
        "model_version": {"type": "string"},
        "inference_ms": {"type": "number", "description": "time spent in the model call"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "factors": {"type": "array", "items": _FACTOR, "description": "top 5 factors, with ?explain=true"},
    },
    "required": ["request_id", "probability", "decision", "threshold", "model_version", "inference_ms", "warnings"],
}
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "the first problem, readable"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "kind": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def batch_schema(max_rows: int) -> dict[str, Any]:
    items = {"type": "array", "items": {"$ref": "#/components/schemas/Application"}, "maxItems": max_rows}
    return {
        "title": "Batch",
        "type": "object",
        "properties": {"applications": items},
        "required": ["applications"],
        "additionalProperties": False,
    }


def components(*, max_batch_rows: int) -> dict[str, Any]:
    """Every schema the routes refer to; the batch limit is the service's setting (MAX_BATCH_ROWS)."""
    return {
        "Application": application_schema(),
        "Score": SCORE_SCHEMA,
        "Error": ERROR_SCHEMA,
        "Batch": batch_schema(max_batch_rows),
    }
