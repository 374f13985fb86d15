"""Shared fixtures: the committed model, applications and the real server on a free port.

The builders behind them are plain functions in tests/factories.py; the server helper is tests/server.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import MODEL_DIR, RegistryStore, frame_payloads, registry_store
from tests.server import Server, start_test_server

# Everything a test run writes goes to temp folders, and nothing phones home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Test servers (tests/server.py copies this environment) and in-process apps keep batches on the Booster:
# compiling the committed model takes ~10 s of gcc per server. tests/scoring/test_compiled.py asks for it.
os.environ.setdefault("BATCH_RUNTIME", "booster")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`container` tests build the image (minutes, rootful podman): only with RUN_CONTAINER=1 (.ci/run)."""
    if os.environ.get("RUN_CONTAINER", "").strip().lower() in ("1", "true", "yes"):
        return
    skip = pytest.mark.skip(reason="builds the container image: set RUN_CONTAINER=1 (.ci/run does)")
    for item in items:
        if "container" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_stores(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{base / 'mlflow.db'}")
    monkeypatch.setenv("HF_HOME", str(base / "hf-home"))


@pytest.fixture(scope="session")
def model():
    from scoring.model import load_model

    return load_model(MODEL_DIR)


@pytest.fixture(scope="session")
def scorer(model):
    from scoring.predict import Scorer

    return Scorer(model)


@pytest.fixture(scope="session")
def stream():
    """Fresh applicants of the training population (a frame; `applications` has them as payloads)."""
    from scoring.synth.generate import production_stream

    return production_stream(2_000, seed=123)


@pytest.fixture(scope="session")
def applications(stream) -> list[dict[str, Any]]:
    return frame_payloads(stream, limit=300)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> RegistryStore:
    """A sqlite MLflow store with two tiny models of `credit-scoring`: v1 @champion (seed 5) and
    v2 @challenger (seed 6), their exported folders in `registry.root` (`model-champion-5`, ...).

    Shared by the whole session, so read it only: a test that moves aliases or registers versions
    works on `registry.copy(tmp_path)`.
    """
    store = registry_store(tmp_path_factory.mktemp("registry"))
    store.train(seed=5, alias="champion")
    store.train(seed=6, alias="challenger")
    return store


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    handle = start_test_server(tmp_path_factory.mktemp("server"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
