"""Shared fixtures: the committed model, application factories and the real server on a free port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.server import Server, free_port
from benchmarks.server import start_server as _start_server

__all__ = ["MODEL_DIR", "ROOT", "Server", "free_port", "start_server"]

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "model"

# Everything a test run writes goes to temp folders, and nothing phones home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


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
    """Fresh applicants of the training population, as API payloads (missing fields left out)."""
    from scoring.synth.generate import production_stream

    frame = production_stream(2_000, seed=123)
    return frame


def frame_payloads(frame, *, limit: int | None = None) -> list[dict[str, Any]]:
    from scoring.payloads import frame_to_payloads

    return frame_to_payloads(frame.head(limit) if limit else frame, drop=("TARGET", "SK_ID_CURR"))


@pytest.fixture(scope="session")
def applications(stream) -> list[dict[str, Any]]:
    return frame_payloads(stream, limit=300)


def start_server(
    tmp: Path, *, env: dict[str, str] | None = None, command: list[str] | None = None, wait: float = 90
) -> Server:
    """`python app.py` for real, on a free port, with its own log folder (see benchmarks/server.py)."""
    # the alert loop spawns the analysis worker; tests that need it set a shorter period
    return _start_server(tmp, env={"ALERT_EVERY_S": "3600", **(env or {})}, command=command, wait=wait)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    handle = start_server(tmp_path_factory.mktemp("server"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
