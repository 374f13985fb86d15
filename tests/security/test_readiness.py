"""Issue 14 item 13: /readyz names no server path and answers "not ready" (503), never 500, when the log folder
is unreachable (ENOTDIR on the folder and on the push ledger)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from monitoring.log.writer import PredictionLog
from monitoring.sync.config import HubSyncConfig
from monitoring.sync.scheduler import HubSync
from scoring.predict import Scorer
from service.api.factory import create_api
from service.metrics import Metrics
from service.openapi import EXAMPLE_LOW_RISK
from service.readiness import Readiness
from service.scoring import ScoringService
from service.settings import Settings


def _client(model, log_dir: Path) -> TestClient:
    prediction_log = PredictionLog(log_dir)
    hub = HubSync.from_config(
        HubSyncConfig(repo_id=None, token=None, every_min=5.0, history_dir=log_dir.parent / "h"), prediction_log
    )
    service = ScoringService(Scorer(model), prediction_log, Metrics())
    readiness = Readiness(
        model_version=model.version, log_health=prediction_log.health, hub_status=hub.status, log_write_policy="refuse"
    )
    return TestClient(create_api(service, settings=Settings(_env_file=None), readiness=readiness))


def test_readyz_on_enotdir_is_a_clean_not_ready_without_paths(model, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    client = _client(model, blocker / "predictions")
    assert client.post("/api/v1/score", json=EXAMPLE_LOW_RISK).status_code == 503  # no decision unlogged
    response = client.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["ready"] is False and body["log"]["writable"] is False
    assert str(tmp_path) not in response.text and "not-a-folder" not in response.text
    assert body["log"]["last_error"], "the reason stays readable"


def test_a_refused_write_answers_503_and_the_reason_carries_no_path(model, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    client = _client(model, blocker / "predictions")
    score = client.post("/api/v1/score", json=EXAMPLE_LOW_RISK)
    assert score.status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "blocker" not in ready.text
    assert "NotADirectoryError" in ready.json()["log"]["last_error"]
