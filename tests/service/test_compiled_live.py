"""BATCH_RUNTIME=tl2cgen on the real server: /readyz reports the switch, a 1,000-row CSV batch is scored
by the compiled trees with the Booster's probabilities. A tiny model keeps the compile to about a second."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from scoring.model import load_model
from scoring.predict import Scorer
from scoring.schema import TARGET_COLUMN
from scoring.synth.generate import production_stream
from scoring.tables import CSV, frame_from_bytes
from tests.scoring.tiny_models import train_tiny
from tests.server import start_test_server


def _batch_runtime_when_settled(url: str, *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = httpx.get(url + "/readyz", timeout=5).json()["batch_runtime"]
        if state["state"] not in ("pending", "building") or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


@pytest.mark.slow
def test_a_big_csv_batch_is_scored_by_the_compiled_trees_with_the_boosters_numbers(tmp_path: Path) -> None:
    tiny = train_tiny(tmp_path / "tiny", rounds=40, rows=3_000)
    body = production_stream(1_000, seed=77).drop(columns=[TARGET_COLUMN]).to_csv(index=False).encode()
    server = start_test_server(
        tmp_path / "server",
        env={"MODEL_DIR": str(tiny), "BATCH_RUNTIME": "tl2cgen", "MODEL_CACHE_DIR": str(tmp_path / "cache")},
    )
    try:
        state = _batch_runtime_when_settled(server.url, timeout=60)
        assert state == {"in_use": "tl2cgen", "setting": "tl2cgen", "state": "ready", "reason": None}, state
        assert list((tmp_path / "cache" / "compiled").glob("model-*.so"))
        assert httpx.get(server.url + "/api/v1/model", timeout=5).json()["batch_runtime"] == "tl2cgen"
        answer = httpx.post(server.url + "/api/v1/score/batch", content=body, headers={"content-type": CSV}, timeout=60)
        assert answer.status_code == 200, answer.text
        served = answer.json()
    finally:
        server.stop()
    assert "batch runtime switched to tl2cgen" in server.output()
    reference = Scorer(load_model(tiny)).score_frame(frame_from_bytes(body, CSV))  # the Booster, in process
    assert served["n_scored"] == len(reference.indices) == 1_000
    got = np.array([r["probability"] for r in served["results"]])
    assert np.max(np.abs(got - reference.probabilities)) <= 1e-9
    assert [r["decision"] for r in served["results"]] == reference.decisions.tolist()
