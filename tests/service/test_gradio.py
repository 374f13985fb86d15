"""The Gradio API of the real server, called with gradio_client; and the equivalence of all doors."""

from __future__ import annotations

import pytest
from gradio_client import Client

from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def gradio(server) -> Client:
    return Client(server.url, verbose=False)


def test_predict_endpoint(gradio, model):
    result = gradio.predict(EXAMPLE_HIGH_RISK, False, api_name="/predict")
    assert result["decision"] == "refuse"
    assert result["model_version"] == model.version
    assert 0 <= result["probability"] <= 1
    explained = gradio.predict(EXAMPLE_HIGH_RISK, True, api_name="/predict")
    assert len(explained["factors"]) == 5


def test_predict_error_names_the_field(gradio):
    with pytest.raises(Exception, match="AMT_CREDIT") as info:
        gradio.predict({**EXAMPLE_LOW_RISK, "AMT_CREDIT": "abc"}, False, api_name="/predict")
    assert "Traceback" not in str(info.value)


def test_predict_batch_endpoint(gradio):
    result = gradio.predict([EXAMPLE_LOW_RISK, {"AMT_CREDIT": 1}, EXAMPLE_HIGH_RISK], api_name="/predict_batch")
    assert (result["n_scored"], result["n_rejected"]) == (2, 1)
    assert [r["status"] for r in result["results"]] == ["ok", "rejected", "ok"]


def test_endpoints_are_listed(gradio):
    info = gradio.view_api(print_info=False, return_format="dict")
    assert {"/predict", "/predict_batch"} <= set(info["named_endpoints"])


def test_rest_gradio_and_in_process_agree(gradio, client, scorer, applications):
    for application in applications[:15]:
        rest = client.post("/api/v1/score", json=application).json()["probability"]
        via_gradio = gradio.predict(application, False, api_name="/predict")["probability"]
        in_process = scorer.score(application).probability
        assert rest == pytest.approx(in_process, abs=1e-12)
        assert via_gradio == pytest.approx(in_process, abs=1e-12)


def _gauge(client, name: str) -> float | None:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


@pytest.mark.slow  # 300 Gradio API calls, then waits for the sweep
def test_finished_api_sessions_are_forgotten(gradio, server, client, applications):
    """Each raw `/gradio_api/call` request is a Gradio session; finished ones must not pile up (FINDING-4)."""
    import asyncio
    import time

    import httpx

    from tests.load import _gradio

    async def calls(n: int) -> list[str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            limit = asyncio.Semaphore(8)

            async def one(i: int) -> list[str]:
                async with limit:
                    return await _gradio(http, applications[i % len(applications)])

            return [rid for ids in await asyncio.gather(*(one(i) for i in range(n))) for rid in ids]

    ids = asyncio.run(calls(300))
    assert len(set(ids)) == 300
    deadline, tracked = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        tracked = _gauge(client, "gradio_sessions_tracked")
        if tracked is not None and tracked <= 10:
            break
        time.sleep(1)
    assert tracked is not None and tracked <= 10, f"{tracked} finished sessions still tracked after 300 calls"
    # A long-lived gradio_client session whose bookkeeping was swept joins again transparently.
    assert gradio.predict(EXAMPLE_LOW_RISK, False, api_name="/predict")["decision"] == "approve"


def test_the_fast_path_is_on_in_the_real_app(client):
    """All three hooks of service/ui/fastpath.py found their Gradio internals on the real Blocks at startup."""
    assert _gauge(client, "gradio_fast_path") == 1


def test_the_plain_run_route_scores(client, model):
    """`/gradio_api/run/predict`: one POST, the answer in its body (the route README points callers to)."""
    answer = client.post("/gradio_api/run/predict", json={"data": [EXAMPLE_HIGH_RISK, False]})
    assert answer.status_code == 200
    (result,) = answer.json()["data"]
    assert result["decision"] == "refuse" and result["model_version"] == model.version
    refused = client.post("/gradio_api/run/predict", json={"data": [{**EXAMPLE_LOW_RISK, "AMT_CREDIT": "abc"}, False]})
    # a client error carrying the field and the reason (issue 14 item 6), not Gradio's blanket 500
    assert refused.status_code == 422 and "Traceback" not in refused.text
    assert refused.json()["detail"][0]["field"] == "AMT_CREDIT"
