"""What /docs and /openapi.json say beyond the routes: shared error responses, schemas, the bearer scheme."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.openapi import components

_ERROR_CONTENT = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
# The answers every /api/v1 scoring route may give besides its own success.
COMMON_RESPONSES: dict[str, Any] = {
    "400": {"description": "malformed JSON", **_ERROR_CONTENT},
    "401": {"description": "missing or wrong token", **_ERROR_CONTENT},
    "413": {"description": "body too large", **_ERROR_CONTENT},
    "415": {"description": "not application/json", **_ERROR_CONTENT},
    "422": {"description": "invalid application: the field and the reason", **_ERROR_CONTENT},
    "503": {
        "description": "the prediction log cannot be written, or too many batches at once (see Retry-After)",
        **_ERROR_CONTENT,
    },
}


def install_openapi(api: FastAPI, *, token_required: bool, max_batch_rows: int) -> None:
    """Add the body schemas (the handlers read raw bodies, so FastAPI cannot infer them) and the auth scheme."""
    base_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = base_openapi()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(components(max_batch_rows=max_batch_rows))
            if token_required:
                schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                schema["security"] = [{"bearer": []}]
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
