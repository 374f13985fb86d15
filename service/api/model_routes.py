"""GET /api/v1/model: the model card a client needs (version, threshold, metrics, fairness, input schema)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.params import Depends
from fastapi.responses import JSONResponse, Response

from scoring.model import ScoringModel
from service.openapi import application_schema

TOP_INPUTS = 20


def model_card(model: ScoringModel) -> dict[str, object]:
    meta = model.metadata
    return {
        "model_version": model.version,
        "source": dict(model.source),  # uri, and for a registered version its name, version and alias
        "threshold": model.threshold,
        # what batches of 256+ rows run on now: the Booster, or its trees compiled to C once checked
        "batch_runtime": model.batch_status()["in_use"],
        "trained_at": meta.get("trained_at"),
        "metrics": meta.get("metrics"),
        "fairness": meta.get("fairness"),
        "input_importance": meta.get("input_importance", [])[:TOP_INPUTS],
        "data": meta.get("data"),
        "input_schema": application_schema(),
    }


def model_router(model: ScoringModel, *, dependencies: Sequence[Depends]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=dependencies)

    @router.get("/model", summary="The model: version, threshold, metrics, fairness and the input schema")
    async def model_info() -> Response:
        return JSONResponse(model_card(model))

    return router
