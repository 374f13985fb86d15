"""The real service as a child process: `python app.py` on a free 127.0.0.1 port with its own folder.

The one way the tests, the load test, the profiler and `make bench` start it (and `make bench` its
`mlflow models serve` baseline):
the prediction log in `<folder>/predictions`, the restored history in `<folder>/history`, stdout and
stderr in `<folder>/server.log`; `start_server` returns once `/healthz` answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    @property
    def log_dir(self) -> Path:
        return Path(self.env["PREDICTION_LOG_DIR"])

    @property
    def stdout_path(self) -> Path:
        return self.folder / "server.log"

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    folder: Path,
    *,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    health: str = "/healthz",
    wait: float = 120,
) -> Server:
    """Start the service (or another `command` listening on $PORT) and wait for `health` to answer 200."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PREDICTION_LOG_DIR": str(folder / "predictions"),
        "HISTORY_DIR": str(folder / "history"),
        "MODEL_DIR": str(ROOT / "model"),
        "PYTHONUNBUFFERED": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "OPEN_DEMO": "1",  # tests run in containers too; a token-less test server is an explicit open demo
        **(env or {}),
    }
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        command or [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        env=full_env,
        stdout=(folder / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", process, folder, full_env)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()[-3000:]}")
        try:
            if httpx.get(server.url + health, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start in {wait:.0f} s:\n{server.output()[-3000:]}")


def start_test_server(
    folder: Path, *, env: dict[str, str] | None = None, command: list[str] | None = None, wait: float = 90
) -> Server:
    """`start_server` as the tests use it: the alert loop (which spawns the analysis worker) kept idle.

    Tests that need the loop running set a shorter ALERT_EVERY_S in `env`.
    """
    return start_server(folder, env={"ALERT_EVERY_S": "3600", **(env or {})}, command=command, wait=wait)
