"""POST /api/v1/outcomes and the Gradio `/record_outcomes` built in process: answers, token, limits, OpenAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fastapi.testclient import TestClient

from monitoring.log.reader import read_outcomes
from monitoring.outcomes.store import OutcomeStore
from scoring.predict import Scorer
from service.api.factory import create_api
from service.metrics import Metrics
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from service.readiness import Readiness
from service.scoring import ScoringService
from service.settings import Settings
from service.ui.outcomes_tab import make_record_outcomes, read_outcome_csv
from tests.factories import SALT, log_writer

TOKEN = "outcomes-token-1b2c"
ANALYST_TOKEN = "outcomes-analyst-9d8e"


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "predictions"


@pytest.fixture
def service(model, log_dir: Path) -> ScoringService:
    return ScoringService(Scorer(model), log_writer(log_dir), Metrics(), id_salt=SALT)


def make_client(service: ScoringService, *, token: str | None = None, **overrides: Any) -> TestClient:
    settings = Settings(_env_file=None, api_token=token, **overrides)
    readiness = Readiness(
        model_version=service.model.version,
        log_health=service.sink.health,
        hub_status=lambda: {"enabled": False},
        log_write_policy="refuse",
    )
    store = OutcomeStore(service.sink, dirs=[service.sink.directory], salt=SALT, max_rows=settings.max_outcome_rows)
    return TestClient(create_api(service, settings=settings, readiness=readiness, outcomes=store))


def test_outcomes_by_request_and_client_id(service: ScoringService, log_dir: Path) -> None:
    api = make_client(service)
    scored = api.post("/api/v1/score", json=EXAMPLE_LOW_RISK).json()
    api.post("/api/v1/score", json={**EXAMPLE_HIGH_RISK, "SK_ID_CURR": 424242})
    body = {
        "outcomes": [
            {"request_id": scored["request_id"], "defaulted": False, "observed_at": "2027-03-01"},
            {"client_id": 424242, "defaulted": True},
            {"request_id": "nobody", "defaulted": True},
            {"request_id": scored["request_id"], "defaulted": True},
            {"defaulted": True},
        ]
    }
    response = api.post("/api/v1/outcomes", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == [
        "recorded",
        "recorded",
        "unknown_request",
        "conflict",
        "invalid",
    ]
    assert answer["counts"] == {"recorded": 2, "duplicate": 0, "conflict": 1, "unknown_request": 1, "invalid": 1}
    again = api.post("/api/v1/outcomes", json={"outcomes": body["outcomes"][:2]}).json()
    assert again["counts"]["duplicate"] == 2
    stored = read_outcomes([log_dir])
    assert sorted(stored["status"]) == ["conflict", "recorded", "recorded"]
    assert "424242" not in "".join(p.read_text() for p in log_dir.rglob("outcomes-*.jsonl"))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"outcomes": []}, 422, "outcomes"),
        ({"rows": []}, 422, "outcomes"),
        ({"outcomes": [{"request_id": "a", "defaulted": True}], "x": 1}, 422, "x"),
        ({"outcomes": [{"request_id": "a", "defaulted": True}] * 3}, 413, "outcomes"),
    ],
)
def test_envelope_refusals_name_the_field(service: ScoringService, body: dict, status: int, field: str) -> None:
    response = make_client(service, max_outcome_rows=2).post("/api/v1/outcomes", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["field"] == field


def test_the_analyst_role_records_outcomes_and_it_is_documented(service: ScoringService) -> None:
    api = make_client(service, token=TOKEN, analyst_token=ANALYST_TOKEN)
    body = {"outcomes": [{"request_id": "a", "defaulted": True}]}
    assert api.post("/api/v1/outcomes", json=body).status_code == 401
    scoring = api.post("/api/v1/outcomes", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert scoring.status_code == 403  # outcomes belong to the analyst role
    ok = api.post("/api/v1/outcomes", json=body, headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert ok.status_code == 200 and ok.json()["results"][0]["status"] == "unknown_request"
    schema = api.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    post = schema["paths"]["/api/v1/outcomes"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Outcomes")
    assert schema["components"]["schemas"]["Outcomes"]["properties"]["outcomes"]["maxItems"] == 10_000
    assert set(schema["components"]["schemas"]["OutcomesAnswer"]["properties"]) == {"counts", "results"}


def test_gradio_record_outcomes_and_the_csv_reader(service: ScoringService, log_dir: Path, tmp_path: Path) -> None:
    scored = make_client(service).post("/api/v1/score", json=EXAMPLE_LOW_RISK).json()
    store = OutcomeStore(service.sink, dirs=[log_dir], salt=SALT)
    record = make_record_outcomes(store, max_rows=5)
    answer = record([{"request_id": scored["request_id"], "defaulted": True}])
    assert answer["results"][0]["status"] == "recorded"
    with pytest.raises(gr.Error, match="outcomes: expected a non-empty list"):
        record([])
    csv = tmp_path / "o.csv"
    csv.write_text(f"request_id,defaulted,observed_at\n{scored['request_id']},1,\nzzz,maybe,2027-01-01\n")
    rows = read_outcome_csv(str(csv), max_rows=5)
    assert rows == [
        {"request_id": scored["request_id"], "defaulted": "1"},
        {"request_id": "zzz", "defaulted": "maybe", "observed_at": "2027-01-01"},
    ]
    assert [r["status"] for r in store.record(rows, channel="gradio_batch")["results"]] == ["duplicate", "invalid"]
    (tmp_path / "bad.csv").write_text("loan,defaulted\n1,1\n")
    with pytest.raises(gr.Error, match="Unknown columns"):
        read_outcome_csv(str(tmp_path / "bad.csv"), max_rows=5)
