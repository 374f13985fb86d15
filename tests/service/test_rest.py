"""The REST API of the real server (uvicorn on a free port), called with httpx."""

from __future__ import annotations

import json

import httpx
import pytest

from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK

pytestmark = pytest.mark.server

SCORE = "/api/v1/score"
BATCH = "/api/v1/score/batch"


def _detail(response: httpx.Response) -> dict:
    body = response.json()
    assert body["error"]
    return body["detail"][0]


def test_valid_application_has_every_field(client, model):
    response = client.post(SCORE, json=EXAMPLE_LOW_RISK)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {
        "probability",
        "decision",
        "threshold",
        "model_version",
        "request_id",
        "inference_ms",
        "warnings",
    }
    assert 0.0 <= body["probability"] <= 1.0
    assert body["threshold"] == pytest.approx(model.threshold)
    assert body["model_version"] == model.version
    assert body["decision"] == ("refuse" if body["probability"] >= body["threshold"] else "approve")
    assert body["inference_ms"] > 0
    assert "factors" not in body


def test_examples_fall_on_either_side_of_the_threshold(client):
    low = client.post(SCORE, json=EXAMPLE_LOW_RISK).json()
    high = client.post(SCORE, json=EXAMPLE_HIGH_RISK).json()
    assert (low["decision"], high["decision"]) == ("approve", "refuse")
    assert high["probability"] > 3 * low["probability"]


def test_explain_returns_five_factors(client):
    body = client.post(SCORE, params={"explain": "true"}, json=EXAMPLE_HIGH_RISK).json()
    factors = body["factors"]
    assert len(factors) == 5
    assert {f["direction"] for f in factors} <= {"increases risk", "decreases risk"}
    magnitudes = [abs(f["contribution"]) for f in factors]
    assert magnitudes == sorted(magnitudes, reverse=True)
    for f in factors:
        assert (f["contribution"] > 0) == (f["direction"] == "increases risk")


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        ({"AMT_CREDIT": "abc"}, "AMT_CREDIT", "wrong_type"),
        ({"NAME_CONTRACT_TYPE": 1}, "NAME_CONTRACT_TYPE", "wrong_type"),
        ({"NAME_CONTRACT_TYPE": "Mortgage"}, "NAME_CONTRACT_TYPE", "unknown_category"),
        ({"AMT_ANNUITY": [1]}, "AMT_ANNUITY", "wrong_type"),
        ({"AMT_ANNUITY": {"v": 1}}, "AMT_ANNUITY", "wrong_type"),
        ({"AMT_CREDIT": -1}, "AMT_CREDIT", "out_of_range"),
        ({"DAYS_BIRTH": 10}, "DAYS_BIRTH", "out_of_range"),
        ({"EXT_SOURCE_3": 1.5}, "EXT_SOURCE_3", "out_of_range"),
        ({"CNT_CHILDREN": -2}, "CNT_CHILDREN", "out_of_range"),
        ({"SHOE_SIZE": 42}, "SHOE_SIZE", "unknown_field"),
        ({"AMT_CREDIT": None}, "AMT_CREDIT", "missing_field"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, change, field, kind):
    response = client.post(SCORE, json={**EXAMPLE_LOW_RISK, **change})
    assert response.status_code == 422
    detail = _detail(response)
    assert (detail["field"], detail["kind"]) == (field, kind)
    assert field in response.json()["error"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_name_the_field(client, literal):
    base = {k: v for k, v in EXAMPLE_LOW_RISK.items() if k != "EXT_SOURCE_1"}
    body = json.dumps(base)[:-1] + f', "EXT_SOURCE_1": {literal}}}'
    response = client.post(SCORE, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert _detail(response)["field"] == "EXT_SOURCE_1"
    assert literal.lstrip("-") in _detail(response)["message"]


def test_missing_required_field_is_named(client):
    payload = {k: v for k, v in EXAMPLE_LOW_RISK.items() if k != "DAYS_BIRTH"}
    response = client.post(SCORE, json=payload)
    assert response.status_code == 422
    assert (_detail(response)["field"], _detail(response)["kind"]) == ("DAYS_BIRTH", "missing_field")


def test_plausible_value_outside_training_range_is_scored_with_a_warning(client, model):
    _, high = model.training_ranges["AMT_INCOME_TOTAL"]
    response = client.post(SCORE, json={**EXAMPLE_LOW_RISK, "AMT_INCOME_TOTAL": high * 3})
    assert response.status_code == 200
    warnings = response.json()["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("AMT_INCOME_TOTAL=")


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind"),
    [
        (b"", {"content-type": "application/json"}, 400, "empty_body"),
        (b"{not json", {"content-type": "application/json"}, 400, "invalid_json"),
        (b'{"AMT_CREDIT": 1, "AMT_CREDIT": 2}', {"content-type": "application/json"}, 400, "duplicate_key"),
        (b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}, 400, "invalid_json"),
        (b"AMT_CREDIT=1", {"content-type": "application/x-www-form-urlencoded"}, 415, "wrong_content_type"),
        (b"{" + b" " * 300_000 + b"}", {"content-type": "application/json"}, 413, "too_large"),
    ],
    ids=["empty", "syntax", "duplicate-key", "deep-nesting", "form-encoded", "too-large"],
)
def test_malformed_requests_are_4xx(client, body, headers, status, kind):
    response = client.post(SCORE, content=body, headers=headers)
    assert response.status_code == status
    assert _detail(response)["kind"] == kind
    assert client.get("/healthz").status_code == 200  # and the server is still there


def test_batch_with_mixed_rows(client):
    rows = [EXAMPLE_LOW_RISK, {**EXAMPLE_LOW_RISK, "AMT_CREDIT": "x"}, EXAMPLE_HIGH_RISK, "not an object"]
    response = client.post(BATCH, json={"applications": rows})
    assert response.status_code == 200
    body = response.json()
    assert (body["n_rows"], body["n_scored"], body["n_rejected"]) == (4, 2, 2)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["ok", "rejected", "ok", "rejected"]
    assert body["results"][1]["errors"][0]["field"] == "AMT_CREDIT"
    assert body["results"][2]["decision"] == "refuse"


def test_batch_probabilities_equal_single_calls(client, applications):
    rows = applications[:50]
    batch = client.post(BATCH, json={"applications": rows}).json()["results"]
    singles = [client.post(SCORE, json=row).json() for row in rows[:10]]
    for one, many in zip(singles, batch[:10], strict=True):
        assert one["probability"] == pytest.approx(many["probability"], abs=1e-12)


def test_batch_limits(client):
    too_many = client.post(BATCH, json={"applications": [{}] * 10_001})
    assert too_many.status_code == 413
    assert _detail(too_many)["kind"] == "batch_too_large"
    assert client.post(BATCH, json={"applications": []}).status_code == 422
    assert client.post(BATCH, json={"rows": []}).status_code == 422


def test_model_endpoint(client, model):
    body = client.get("/api/v1/model").json()
    assert body["model_version"] == model.version
    assert body["threshold"] == pytest.approx(model.threshold)
    assert 0.75 <= body["metrics"]["holdout"]["roc_auc"] <= 0.78
    assert set(body["input_schema"]["required"]) >= {
        "AMT_CREDIT",
        "AMT_ANNUITY",
        "AMT_INCOME_TOTAL",
        "DAYS_BIRTH",
        "NAME_CONTRACT_TYPE",
    }
    assert len(body["input_schema"]["properties"]) == 121


def test_health_readiness_metrics_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    client.post(SCORE, json=EXAMPLE_LOW_RISK)
    client.post(SCORE, json={**EXAMPLE_LOW_RISK, "AMT_CREDIT": "x"})
    metrics = client.get("/metrics").text
    assert 'scoring_request_latency_ms_bucket{channel="rest",le="+Inf"}' in metrics
    assert 'scoring_predictions_total{channel="rest",decision="approve"}' in metrics
    assert 'scoring_errors_total{channel="rest",kind="wrong_type"}' in metrics
    assert "swagger" in client.get("/docs").text.lower()
    spec = client.get("/openapi.json").json()
    app_schema = spec["components"]["schemas"]["Application"]
    assert app_schema["properties"]["AMT_CREDIT"]["description"]
    assert SCORE in spec["paths"] and BATCH in spec["paths"]
