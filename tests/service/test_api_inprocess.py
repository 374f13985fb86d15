"""The REST API and the Gradio Blocks built in process: the real app objects, model and log, no server.

`TestClient(create_api(...))` drives the FastAPI app through httpx; the Blocks' callbacks are called
directly. Each test checks the answer and what landed in the prediction log (in tmp_path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scoring.predict import Scorer
from service.api.auth import BearerToken, protect_mcp
from service.api.factory import create_api
from service.metrics import Metrics
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from service.readiness import Readiness
from service.scoring import ScoringService
from service.settings import Settings
from service.ui.blocks import build_ui
from service.ui.score_tab import FORM
from tests.factories import log_writer

TOKEN = "in-process-token-7f3a"
JSON = {"content-type": "application/json"}


def logged(folder: Path) -> list[dict[str, Any]]:
    """Every row of the prediction log under `folder`, predictions and rejections."""
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "predictions"


@pytest.fixture
def service(model, log_dir: Path) -> ScoringService:
    return ScoringService(Scorer(model), log_writer(log_dir), Metrics())


def make_client(service: ScoringService, *, token: str | None = None, **overrides: Any) -> TestClient:
    settings = Settings(_env_file=None, api_token=token, **overrides)
    readiness = Readiness(
        model_version=service.model.version,
        log_health=service.sink.health,
        hub_status=lambda: {"enabled": False},
        log_write_policy="refuse",
    )
    return TestClient(create_api(service, settings=settings, readiness=readiness))


@pytest.fixture
def api(service: ScoringService) -> TestClient:
    return make_client(service)


def test_score_answers_the_decision_and_logs_it_once(api: TestClient, service, log_dir: Path) -> None:
    response = api.post("/api/v1/score?explain=true", json=EXAMPLE_HIGH_RISK)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "refuse" and body["probability"] >= body["threshold"] == service.model.threshold
    assert len(body["factors"]) == 5
    rows = [r for r in logged(log_dir) if r["request_id"] == body["request_id"]]
    assert len(rows) == 1 and rows[0]["decision"] == "refuse" and rows[0]["channel"] == "rest"


def test_batch_scores_good_rows_and_names_the_bad_one(api: TestClient, log_dir: Path) -> None:
    batch = {"applications": [EXAMPLE_LOW_RISK, {**EXAMPLE_LOW_RISK, "DAYS_BIRTH": 5}, EXAMPLE_HIGH_RISK]}
    body = api.post("/api/v1/score/batch", json=batch).json()
    assert (body["n_rows"], body["n_scored"], body["n_rejected"]) == (3, 2, 1)
    assert [r["status"] for r in body["results"]] == ["ok", "rejected", "ok"]
    assert [r.get("decision") for r in body["results"]] == ["approve", None, "refuse"]
    assert body["results"][1]["errors"][0]["field"] == "DAYS_BIRTH"
    rows = logged(log_dir)
    assert sorted(r.get("decision") or r.get("error_kind") for r in rows) == ["approve", "out_of_range", "refuse"]
    assert {r["channel"] for r in rows} == {"rest_batch"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind", "field"),
    [
        (b'{"AMT_CREDIT": 1, "AMT_CREDIT": 2}', JSON, 400, "duplicate_key", "AMT_CREDIT"),
        (b'{"NAME_CONTRACT_TYPE": "Cash loans", "AMT_CREDIT": NaN}', JSON, 422, "wrong_type", "AMT_CREDIT"),
        (b'{"NAME_CONTRACT_TYPE": "Cash loans", "AMT_ANNUITY": -Infinity}', JSON, 422, "wrong_type", "AMT_ANNUITY"),
        (b"{not json", JSON, 400, "invalid_json", None),
        (b"  ", JSON, 400, "empty_body", None),
        (b"{}", {"content-type": "text/plain"}, 415, "wrong_content_type", None),
        (b'{"x": "' + b"a" * 300_000 + b'"}', JSON, 413, "too_large", None),
    ],
)
def test_strict_json_refusals_name_the_field_and_are_logged(
    api: TestClient, log_dir: Path, body: bytes, headers: dict[str, str], status: int, kind: str, field: str | None
) -> None:
    response = api.post("/api/v1/score", content=body, headers=headers)
    assert response.status_code == status, response.text
    problem = response.json()["detail"][0]
    assert (problem["kind"], problem["field"]) == (kind, field)
    assert response.json()["error"].startswith(f"{field}: " if field else problem["message"])
    rows = logged(log_dir)
    assert [(r["kind"], r["error_kind"], r["http_status"]) for r in rows] == [("rejection", kind, status)]


def test_batch_limit_comes_from_the_setting(service: ScoringService) -> None:
    api = make_client(service, max_batch_rows=2)
    response = api.post("/api/v1/score/batch", json={"applications": [EXAMPLE_LOW_RISK] * 3})
    assert response.status_code == 413 and response.json()["detail"][0]["kind"] == "batch_too_large"
    schema = api.get("/openapi.json").json()
    assert schema["components"]["schemas"]["Batch"]["properties"]["applications"]["maxItems"] == 2
    assert "Score up to 2 applications" in schema["paths"]["/api/v1/score/batch"]["post"]["summary"]


def test_token_is_required_on_the_api_and_metrics_only(service: ScoringService, log_dir: Path) -> None:
    api = make_client(service, token=TOKEN)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"}):
        response = api.post("/api/v1/score", json=EXAMPLE_LOW_RISK, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"][0]["kind"] == "auth"
    assert api.get("/metrics").status_code == 401 and api.get("/api/v1/model").status_code == 401
    assert api.get("/healthz").status_code == 200 and api.get("/readyz").json()["ready"] is True
    good = {"authorization": f"Bearer {TOKEN}"}
    assert api.post("/api/v1/score", json=EXAMPLE_LOW_RISK, headers=good).json()["decision"] == "approve"
    assert "scoring_errors_total" in api.get("/metrics", headers=good).text
    kinds = [r.get("error_kind") for r in logged(log_dir)]
    # a 401 writes no row here: the auth throttle in front of every door counts it and samples the rows
    # (one per door and minute, tests/security/test_roles_live.py), so a flood cannot fill the disk
    assert kinds.count("auth") == 0 and kinds.count(None) == 1


def test_mcp_routes_need_the_same_token() -> None:
    app = FastAPI()

    @app.get("/gradio_api/mcp/schema")
    async def schema() -> dict[str, str]:
        return {"tools": "listed"}

    protect_mcp(app, BearerToken(TOKEN))
    client = TestClient(app)
    refused = client.get("/gradio_api/mcp/schema")
    assert refused.status_code == 401 and refused.json()["detail"][0]["kind"] == "auth"
    assert client.get("/gradio_api/mcp/schema", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_query_parameter_errors_use_the_error_shape(api: TestClient) -> None:
    response = api.post("/api/v1/score?explain=maybe", json=EXAMPLE_LOW_RISK)
    assert response.status_code == 422
    assert response.json()["detail"][0] == {
        "field": "explain",
        "kind": "wrong_type",
        "message": response.json()["detail"][0]["message"],
    }


# ----------------------------------------------------------------------------------------- Gradio


@pytest.fixture
def blocks(service: ScoringService) -> gr.Blocks:
    return build_ui(service, max_rows=50, concurrency=2)


def callback(blocks: gr.Blocks, name: str) -> Any:
    """The Python function behind a Blocks event or API endpoint, found by its name."""
    matches = [f.fn for f in blocks.fns.values() if f.name == name]
    assert len(matches) == 1, [f.name for f in blocks.fns.values()]
    return matches[0]


def low_risk_form(blocks: gr.Blocks) -> list[Any]:
    """What the "Example: low risk" button puts in the form (the first of the two example buttons)."""
    fill = next(f.fn for f in blocks.fns.values() if f.name == "<lambda>")
    return fill()


def test_form_callback_scores_and_logs_from_the_form(blocks: gr.Blocks, log_dir: Path) -> None:
    on_score = callback(blocks, "on_score")
    card, figure = on_score(*low_risk_form(blocks), True)
    assert 'id="decision">APPROVE<' in card and figure is not None
    rows = logged(log_dir)
    assert len(rows) == 1 and rows[0]["channel"] == "gradio_form" and rows[0]["decision"] == "approve"


def test_form_callback_names_the_bad_field_in_form_words(blocks: gr.Blocks, log_dir: Path) -> None:
    on_score = callback(blocks, "on_score")
    *fields, unemployed, extra = low_risk_form(blocks)
    fields[[f.name for f in FORM].index("AMT_CREDIT")] = "-5"
    card, figure = on_score(*fields, unemployed, extra, False)
    assert 'id="form-error"' in card and "Credit amount cannot be negative" in card and figure is None
    assert 'id="decision"' not in card  # the previous decision card is replaced, not left under the error
    fields[[f.name for f in FORM].index("AMT_CREDIT")] = "500000"
    fields[[f.name for f in FORM].index("DAYS_BIRTH")] = "150"
    card, _ = on_score(*fields, unemployed, extra, False)
    assert "Age must be between 18 and 100 years" in card and "-54788" not in card
    assert [r["error_kind"] for r in logged(log_dir)] == ["out_of_range", "out_of_range"]


def test_form_refuses_text_that_is_not_a_number(blocks: gr.Blocks, log_dir: Path) -> None:
    on_score = callback(blocks, "on_score")
    *fields, unemployed, extra = low_risk_form(blocks)
    fields[[f.name for f in FORM].index("AMT_INCOME_TOTAL")] = "abc12k"
    card, _ = on_score(*fields, unemployed, extra, False)
    assert "Annual income: &#x27;abc12k&#x27; is not a number" in card
    assert [r["error_kind"] for r in logged(log_dir)] == ["wrong_type"]


def test_form_error_is_one_log_line_without_traceback(blocks: gr.Blocks, caplog: pytest.LogCaptureFixture) -> None:
    on_score = callback(blocks, "on_score")
    *fields, unemployed, extra = low_risk_form(blocks)
    fields[[f.name for f in FORM].index("DAYS_BIRTH")] = "150"
    with caplog.at_level("INFO"):
        on_score(*fields, unemployed, extra, False)
    refused = [r for r in caplog.records if r.getMessage() == "form input refused"]
    assert len(refused) == 1 and refused[0].fields == ["DAYS_BIRTH"] and refused[0].exc_info is None
    assert refused[0].reasons == ["Age must be between 18 and 100 years"]


def test_gradio_predict_batch_reports_the_bad_row(blocks: gr.Blocks) -> None:
    predict_batch = callback(blocks, "predict_batch")
    result = predict_batch([EXAMPLE_LOW_RISK, {"bad": 1}])
    assert (result["n_scored"], result["n_rejected"]) == (1, 1)
    assert result["results"][1]["errors"][0] == {
        "field": "bad",
        "kind": "unknown_field",
        "message": result["results"][1]["errors"][0]["message"],
    }
    with pytest.raises(gr.Error, match="at most 50"):
        predict_batch([EXAMPLE_LOW_RISK] * 51)
    assert "Score up to 50 loan applications" in (predict_batch.__doc__ or "")


def test_logout_link_only_behind_a_login(service: ScoringService) -> None:
    def links(blocks: gr.Blocks) -> list[str]:
        return [b.link for b in blocks.blocks.values() if isinstance(b, gr.Button) and b.link]

    assert links(build_ui(service, max_rows=5, concurrency=1, logout=True)) == ["/logout"]
    assert links(build_ui(service, max_rows=5, concurrency=1)) == []


def test_latency_counts_from_arrival_in_the_app(service: ScoringService, log_dir: Path) -> None:
    """Time spent before the handler (here a slow inner middleware) is in latency_ms, as docs/monitoring.md says."""
    import asyncio

    from service.timing import ArrivalClock

    api = make_client(service).app

    @api.middleware("http")
    async def slow_framework(request, call_next):  # stands for routing, body reading, Gradio's own work
        await asyncio.sleep(0.08)
        return await call_next(request)

    api.add_middleware(ArrivalClock)  # outermost, as app.py installs it
    body = TestClient(api).post("/api/v1/score", json=EXAMPLE_LOW_RISK).json()
    row = next(r for r in logged(log_dir) if r["request_id"] == body["request_id"])
    assert row["latency_ms"] >= 80 and body["inference_ms"] < 80
