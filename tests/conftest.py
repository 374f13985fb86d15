"""Shared fixtures: the committed model, application factories and the real server on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "model"

# Everything a test run writes goes to temp folders, and nothing phones home.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
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
    from scoring.data import production_stream

    frame = production_stream(2_000, seed=123)
    return frame


def frame_payloads(frame, *, limit: int | None = None) -> list[dict[str, Any]]:
    from service.ui.batch_tab import frame_to_payloads

    rows = frame.drop(columns=["TARGET", "SK_ID_CURR"], errors="ignore")
    rows = rows.head(limit) if limit else rows
    return frame_to_payloads(rows.astype(object).where(rows.notna(), None))


@pytest.fixture(scope="session")
def applications(stream) -> list[dict[str, Any]]:
    return frame_payloads(stream, limit=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    log_dir: Path
    process: subprocess.Popen
    stdout_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(tmp: Path, *, env: dict[str, str] | None = None, wait: float = 90) -> Server:
    """`python app.py` for real, on a free port, with its own log folder; waits for /readyz."""
    port = free_port()
    log_dir = tmp / "predictions"
    full_env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PREDICTION_LOG_DIR": str(log_dir),
        "HISTORY_DIR": str(tmp / "history"),
        "MODEL_DIR": str(MODEL_DIR),
        "PYTHONUNBUFFERED": "1",
        # the alert loop spawns the analysis worker; tests that need it set a shorter period
        "ALERT_EVERY_S": "3600",
        **(env or {}),
    }
    stdout_path = tmp / "server.log"
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env=full_env,
        stdout=stdout_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", log_dir, process, stdout_path, full_env)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()[-3000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start in {wait}s:\n{server.output()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    handle = start_server(tmp_path_factory.mktemp("server"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
