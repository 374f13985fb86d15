"""The real service on registry URIs with a challenger: what it reports, what it logs, how it stops.

MODEL_URI=models:/credit-scoring@champion, CHALLENGER_URI=models:/credit-scoring@challenger from the
session's sqlite store; REST single requests, Gradio API calls and a batch, then SIGTERM: every answered prediction is
in the log with the challenger's score, equal to the challenger scored offline.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from gradio_client import Client

from monitoring.log.reader import read_log
from scoring.model import load_model
from scoring.predict import Scorer
from scoring.registry import resolve_model
from tests.factories import RegistryStore
from tests.server import start_test_server

pytestmark = pytest.mark.server


def test_registry_models_and_a_shadow_challenger_live(tmp_path, registry: RegistryStore, applications) -> None:
    env = {
        "MLFLOW_TRACKING_URI": registry.tracking_uri,
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "MODEL_URI": "models:/credit-scoring@champion",
        "CHALLENGER_URI": "models:/credit-scoring@challenger",
    }
    server = start_test_server(tmp_path / "server", env=env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            ready = http.get("/readyz").json()
            card = http.get("/api/v1/model").json()
            answers = [http.post("/api/v1/score", json=a).json() for a in applications[:15]]
            batch = http.post("/api/v1/score/batch", json={"applications": applications[15:40]}).json()
        gradio = Client(server.url, verbose=False)  # the Gradio API door (the form's and MCP's path too)
        answers += [gradio.predict(a, False, api_name="/predict") for a in applications[40:43]]
    finally:
        server.stop()
    assert "shutting down" in server.output()
    assert ready["model"] == {"uri": "models:/credit-scoring@champion", "name": "credit-scoring", "version": "1"} | {
        "alias": "champion"
    }
    assert ready["challenger"]["version"] == "2" and ready["challenger"]["alias"] == "challenger"
    assert card["source"]["version"] == "1" and card["model_version"] == ready["model_version"]

    ids = [a["request_id"] for a in answers] + [r["request_id"] for r in batch["results"]]
    frame = read_log([tmp_path / "server" / "predictions"]).predictions.set_index("request_id")
    assert sorted(frame.index) == sorted(ids)  # every answer logged once, none lost at shutdown
    challenger = load_model(
        resolve_model("models:/credit-scoring/2", tracking_uri=registry.tracking_uri, cache_dir=registry.cache_dir).path
    )
    offline = Scorer(challenger).score_batch(applications[:43]).scores
    order = [*range(15), *range(40, 43), *range(15, 40)]  # singles (REST, then Gradio), then the batch
    expected = np.array([offline[i].probability for i in order])
    # the worker drains its queue before the final push: no shadow row is missing after a clean stop
    np.testing.assert_allclose(frame.loc[ids, "challenger_probability"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert set(frame["challenger_version"]) == {challenger.version}
    assert set(frame["model_version"]) == {ready["model_version"]} != {challenger.version}
