"""`create_api`: the FastAPI app of the REST door, assembled from its routers, its auth and its error translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI

from monitoring.outcomes.store import OutcomeStore
from service.api.auth import ANALYST, BearerToken
from service.api.docs import install_openapi
from service.api.model_routes import model_router
from service.api.ops_routes import ops_router
from service.api.outcomes_routes import outcome_schemas, outcomes_router
from service.api.pool import BatchPool
from service.api.problems import install_error_handlers
from service.api.scoring_routes import scoring_router
from service.api.swagger import install_swagger
from service.scoring import ScoringService
from service.settings import Settings

DESCRIPTION = (
    "Scores loan applications with Prêt à Dépenser's default-risk model. Send Home Credit "
    "`application_train` fields; get the probability of default and the decision at the business "
    "threshold. With `API_TOKEN` set, every /api route needs `Authorization: Bearer <token>`."
)


def create_api(
    service: ScoringService,
    *,
    settings: Settings,
    readiness: Callable[[], dict[str, Any]],
    outcomes: OutcomeStore | None = None,
) -> FastAPI:
    """The REST API: /api/v1/score, /score/batch, /outcomes, /model, /healthz, /readyz, /metrics."""
    api = FastAPI(
        title="Crédit Express scoring API",
        version=service.model.version,
        description=DESCRIPTION,
        docs_url=None,  # served by install_swagger from local assets
        redoc_url=None,
    )
    token = BearerToken(settings.token, settings.analyst)
    # open (demo) mode adds no dependency at all: the scoring path pays nothing for an absent check
    protected = [Depends(token)] if token.required else []
    pool = BatchPool(workers=settings.batch_workers, queue=settings.batch_queue)
    api.state.batch_pool = pool
    api.include_router(scoring_router(service, settings=settings, dependencies=protected, pool=pool))
    if outcomes is not None:
        # outcomes are the analyst role's (issue 14 item 10): a scoring token gets 403
        analyst = [Depends(token.for_role(ANALYST))] if token.required else []
        api.include_router(outcomes_router(outcomes, settings=settings, dependencies=analyst))
    api.include_router(model_router(service.model, dependencies=protected))
    api.include_router(ops_router(service.metrics, readiness=readiness, protected=protected))
    install_error_handlers(api, service)
    install_openapi(api, token_required=token.required, max_batch_rows=settings.max_batch_rows)
    if outcomes is not None:
        base = api.openapi

        def openapi() -> dict[str, Any]:
            schema = base()
            schema["components"]["schemas"].update(outcome_schemas(settings.max_outcome_rows))
            return schema

        api.openapi = openapi  # type: ignore[method-assign]
    install_swagger(api, title=api.title)
    return api
