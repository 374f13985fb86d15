"""Every door writes exactly one typed row per scored application, and a rejection event per refusal."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest
from gradio_client import Client

from monitoring.log.reader import read_log
from scoring.schema import CATEGORICAL, RAW_COLUMNS
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from tests.server import start_test_server

pytestmark = pytest.mark.server

N_REST, N_GRADIO, N_BATCH, N_BAD, N_CONCURRENT = 100, 10, 7, 3, 160


async def _call_mcp(url: str) -> str:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url + "/gradio_api/mcp/") as (read, write, _), ClientSession(read, write) as s:
        await s.initialize()
        result = await s.call_tool("predict", {"application": EXAMPLE_HIGH_RISK, "explain": False})
        assert not result.isError, result.content
        return result.content[0].text


@pytest.fixture(scope="module")
def traffic(tmp_path_factory, applications):
    server = start_test_server(tmp_path_factory.mktemp("log-server"), env={"LOG_ID_SALT": "pepper-for-tests"})
    acknowledged: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for application in applications[:N_REST]:
            response = http.post("/api/v1/score", json={**application, "SK_ID_CURR": 424242})
            assert response.status_code == 200
            acknowledged.append(response.json()["request_id"])
        batch = http.post("/api/v1/score/batch", json={"applications": applications[N_REST : N_REST + N_BATCH]})
        acknowledged += [r["request_id"] for r in batch.json()["results"]]
        for bad in ({**EXAMPLE_LOW_RISK, "AMT_CREDIT": "abc"}, {"NAME_CONTRACT_TYPE": "Mortgage"}, b"{oops"):
            kwargs = {"content": bad} if isinstance(bad, bytes) else {"json": bad}
            assert http.post("/api/v1/score", headers={"content-type": "application/json"}, **kwargs).status_code in (
                400,
                422,
            )
    gradio = Client(server.url, verbose=False)
    for application in applications[200 : 200 + N_GRADIO]:
        acknowledged.append(gradio.predict(application, False, api_name="/predict")["request_id"])
    gradio.close()
    acknowledged.append(asyncio.run(_call_mcp(server.url)).split("'request_id': '")[1][:32])

    def concurrent_call(i: int) -> str:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return http.post("/api/v1/score", json=applications[i % len(applications)]).json()["request_id"]

    with ThreadPoolExecutor(16) as pool:
        acknowledged += list(pool.map(concurrent_call, range(N_CONCURRENT)))
    data = read_log([server.log_dir])
    yield server, data, acknowledged
    server.stop()


def test_one_row_per_acknowledged_prediction(traffic):
    _, data, acknowledged = traffic
    logged = data.predictions["request_id"].tolist()
    assert sorted(logged) == sorted(acknowledged)
    assert len(set(logged)) == len(logged)
    counts = data.predictions["channel"].value_counts()
    assert counts["rest"] == N_REST + N_CONCURRENT
    assert counts["rest_batch"] == N_BATCH
    assert counts["gradio_api"] == N_GRADIO
    assert counts["mcp"] == 1
    assert data.torn_lines == 0 and data.bad_lines == 0


def test_rows_are_complete_and_typed(traffic, model):
    _, data, _ = traffic
    frame = data.predictions
    for column in (
        "request_id",
        "ts",
        "channel",
        "model_version",
        "probability",
        "decision",
        "threshold",
        "warnings",
        "inference_ms",
        "latency_ms",
        "status",
        "schema_version",
        *RAW_COLUMNS,
    ):
        assert column in frame.columns, column
    assert isinstance(frame["ts"].dtype, pd.DatetimeTZDtype)
    assert frame["probability"].between(0, 1).all()
    assert set(frame["decision"]) <= {"approve", "refuse"}
    assert (frame["model_version"] == model.version).all()
    assert (frame["latency_ms"] >= frame["inference_ms"]).all()
    assert (frame["status"] == "ok").all()
    assert frame["AMT_CREDIT"].dtype == np.float64
    for name in CATEGORICAL:
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name


def test_logged_inputs_rescore_to_the_logged_probability(traffic, scorer):
    _, data, _ = traffic
    for _, row in data.predictions.head(20).iterrows():
        payload = {c: (None if pd.isna(row[c]) else row[c]) for c in RAW_COLUMNS}
        payload = {k: (v.item() if hasattr(v, "item") else v) for k, v in payload.items() if v is not None}
        assert scorer.score(payload).probability == pytest.approx(row["probability"], abs=1e-12)


def test_client_id_is_stored_only_as_a_keyed_hash(traffic):
    server, data, _ = traffic
    refs = data.predictions["client_ref"].dropna()
    assert len(refs) == N_REST
    assert refs.nunique() == 1 and "424242" not in refs.iloc[0] and len(refs.iloc[0]) == 64
    for path in server.log_dir.rglob("*.jsonl"):
        assert "424242" not in path.read_text()


def test_rejections_are_events_without_payload(traffic):
    server, data, _ = traffic
    rejected = data.rejections
    assert len(rejected) == N_BAD
    assert set(rejected["error_kind"]) == {"wrong_type", "unknown_category", "invalid_json"}
    assert "AMT_CREDIT" in set(rejected["field"].dropna())
    # every value but the random hex request id (which can contain "abc" by chance)
    lines = [json.loads(line) for p in server.log_dir.rglob("rejections*.jsonl") for line in p.read_text().splitlines()]
    text = json.dumps([{k: v for k, v in row.items() if k != "request_id"} for row in lines])
    assert "abc" not in text and "Mortgage" not in text
