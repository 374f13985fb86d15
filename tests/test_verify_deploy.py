"""scripts/verify_deploy.py waits for the new build, bounded, and says what it saw when it gives up."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import ROOT
from tests.server import free_port

SCRIPT = ROOT / "scripts" / "verify_deploy.py"
OLD, NEW = "a" * 40, "b" * 40


class Rollout:
    """A /readyz that reports the old commit for `switch_after` requests, then the new one."""

    def __init__(self, *, switch_after: int | None, ready: bool = True) -> None:
        self.switch_after = switch_after
        self.ready = ready
        self.requests = 0
        self.lock = threading.Lock()

    def answer(self) -> tuple[int, dict]:
        with self.lock:
            self.requests += 1
            seen = self.requests
        commit = NEW if self.switch_after is not None and seen > self.switch_after else OLD
        status = 200 if self.ready else 503
        build = {"commit": commit, "model_version": "m-1"}
        return status, {"ready": self.ready, "model_version": "m-1", "build": build}


@pytest.fixture
def rollout_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Rollout]]:
    rollout = Rollout(**request.param)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, body = rollout.answer() if self.path == "/readyz" else (404, {"error": "no route"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", rollout
    server.shutdown()
    server.server_close()


def verify(base_url: str, *extra: str, commit: str = NEW, timeout: float = 5) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--base-url", base_url, "--commit", commit]
    command += ["--timeout", str(timeout), "--interval", "0.2", "--no-smoke", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("rollout_server", [{"switch_after": 3}], indirect=True)
def test_waits_through_the_old_build_until_the_new_commit_serves(rollout_server: tuple[str, Rollout]) -> None:
    url, rollout = rollout_server
    result = verify(url)
    assert result.returncode == 0, result.stderr
    assert f"commit {OLD}" in result.stdout  # it saw the old build first ...
    assert f"serves commit {NEW}" in result.stdout  # ... and waited for the new one
    assert rollout.requests == 4


@pytest.mark.parametrize("rollout_server", [{"switch_after": None}], indirect=True)
def test_gives_up_after_the_timeout_naming_the_commit_it_saw(rollout_server: tuple[str, Rollout]) -> None:
    url, rollout = rollout_server
    result = verify(url, timeout=1.5)
    assert result.returncode == 1
    assert f"did not serve commit {NEW} within 2 s" in result.stderr
    assert f"last seen: HTTP 200, commit {OLD}" in result.stderr
    assert 3 <= rollout.requests <= 10  # polled at the interval, stopped at the deadline


@pytest.mark.parametrize("rollout_server", [{"switch_after": 0, "ready": False}], indirect=True)
def test_the_new_commit_must_also_be_ready(rollout_server: tuple[str, Rollout]) -> None:
    url, _ = rollout_server
    result = verify(url, timeout=1)
    assert result.returncode == 1
    assert f"HTTP 503, commit {NEW}, model m-1, not ready" in result.stderr


def test_no_service_at_all_is_reported_as_no_answer() -> None:
    result = verify(f"http://127.0.0.1:{free_port()}", timeout=1)
    assert result.returncode == 1
    assert "no answer from" in result.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = verify("http://127.0.0.1:9", "--example", str(tmp_path / "missing.json"), timeout=0)
    assert result.returncode == 2


@pytest.fixture(scope="module")
def staged_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The real service, run from a staged folder whose build-info.json names a known commit."""
    from tests.server import start_test_server as start_server

    staged = tmp_path_factory.mktemp("staged") / "space"
    commit = "d" * 40
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "deploy_space.py"), "--stage", str(staged), "--commit", commit],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    server = start_server(tmp_path_factory.mktemp("run"), command=[sys.executable, str(staged / "app.py")])
    yield server.url, commit
    server.stop()


@pytest.mark.server
def test_the_real_service_reports_its_staged_commit_and_passes_the_smoke_test(staged_service) -> None:
    url, commit = staged_service
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", url, "--commit", commit, "--timeout", "30", "--interval", "0.5"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"serves commit {commit}" in result.stdout
    assert "smoke OK" in result.stdout


@pytest.mark.server
def test_the_real_service_with_another_commit_fails_the_check(staged_service) -> None:
    url, commit = staged_service
    result = verify(url, commit=NEW, timeout=1.5)
    assert result.returncode == 1
    assert f"last seen: HTTP 200, commit {commit}" in result.stderr


@pytest.mark.server
def test_the_ui_footer_names_the_build_and_the_model(staged_service) -> None:
    import httpx

    url, commit = staged_service
    ready = httpx.get(f"{url}/readyz", timeout=30).json()
    assert ready["build"] == {"commit": commit, "model_version": ready["model_version"], "source": "build-info.json"}
    components = httpx.get(f"{url}/config", timeout=30).json()["components"]
    footer = [c for c in components if c.get("props", {}).get("elem_id") == "build-footer"]
    assert len(footer) == 1
    assert f"build `{commit[:12]}` · model `{ready['model_version']}`" in footer[0]["props"]["value"]
