"""Faults: SIGKILL under load, SIGTERM with the Hub on, an unwritable log folder, a Hub outage, a bad model.

Tests run as root, for whom permission bits do not stop a write; the unwritable log is therefore a
read-only bind mount inside a private mount namespace (`unshare -m`), the same EROFS a read-only
volume gives, with a folder-below-a-file (ENOTDIR) fallback where mounts are not allowed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from monitoring.log.reader import read_log
from service.openapi import EXAMPLE_LOW_RISK
from tests.factories import MODEL_DIR, ROOT
from tests.load import check_log, run_load
from tests.monitoring.hub_standin import StandInHub
from tests.reliability.conftest import record_figures, wait_until
from tests.server import Server, free_port, start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

SCORE = "/api/v1/score"
HF_TOKEN = "hf_standin_token_for_fault_tests"
REPO = "acme/credit-predictions"


def _hub_env(hub: StandInHub, tmp: Path, every_min: float) -> dict[str, str]:
    return {
        "HF_DATASET_REPO": REPO,
        "HF_TOKEN": HF_TOKEN,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp / "hf-home"),
        "HF_PUSH_EVERY_MIN": str(every_min),
        "HF_MAX_COMMITS_PER_DAY": "100000",  # the default bound would stretch a 3 s period to 15 min
    }


def _score(http: httpx.Client, applications, count: int) -> list[str]:
    ids = []
    for payload in applications[:count]:
        response = http.post(SCORE, json=payload)
        assert response.status_code == 200, response.text[:300]
        ids.append(response.json()["request_id"])
    return ids


def _hub_request_ids(hub: StandInHub, folder: Path) -> Counter[str]:
    """The Hub repo's shards, written out and read back with the service's own reader."""
    for rel, content in hub.files(REPO).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    predictions = read_log([folder]).predictions
    return Counter(predictions["request_id"]) if len(predictions) else Counter()


# ------------------------------------------------------------------------------------------- SIGKILL


def test_sigkill_under_load_keeps_every_acknowledged_row(tmp_path, applications):
    server = start_test_server(tmp_path)
    stop = threading.Event()
    results = []
    runner = threading.Thread(
        target=lambda: results.append(
            asyncio.run(run_load(server.url, seconds=60, concurrency=8, payloads=applications, stop=stop, timeout=10))
        )
    )
    runner.start()
    try:
        wait_until(
            lambda: server.log_dir.exists() and read_log([server.log_dir]).predictions.shape[0] > 200,
            timeout=60,
            step=0.5,
            what="200 logged predictions",
        )
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    finally:
        stop.set()
        runner.join(30)
        server.stop(signal.SIGKILL)
    result = results[0]
    log = check_log(server.log_dir, result.acknowledged)
    assert log["missing_from_log"] == log["logged_twice"] == log["acknowledged_twice"] == 0, log
    assert log["logged"] >= log["acknowledged"] > 200

    # A crash in the middle of a line: the reader skips the partial last line and counts it.
    shard = max(server.log_dir.glob("date=*/predictions-*.jsonl"), key=lambda p: p.stat().st_mtime)
    with shard.open("ab") as handle:
        handle.write(b'{"schema_version": 1, "kind": "prediction", "request_id": "torn-by-the-test", "ts": "20')
    after = read_log([server.log_dir])
    assert after.torn_lines == log["torn_lines"] + 1
    assert len(after.predictions) == log["logged"] and "torn-by-the-test" not in set(after.predictions["request_id"])
    record_figures(
        "sigkill under load",
        acknowledged=log["acknowledged"],
        logged=log["logged"],
        lost=log["missing_from_log"],
        duplicated=log["logged_twice"],
        torn_by_kill=log["torn_lines"],
        client_errors_after_kill=dict(result.errors),
    )


# ------------------------------------------------------------------------------- Hub outage, SIGTERM


@pytest.fixture(scope="module")
def hub() -> StandInHub:
    with StandInHub(token=HF_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory, hub):
    tmp = tmp_path_factory.mktemp("hub-server")
    server = start_test_server(tmp, env=_hub_env(hub, tmp, every_min=0.05))  # a push every 3 s
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def acknowledged() -> list[str]:
    return []


def _hub_state(http: httpx.Client) -> dict:
    return http.get("/readyz").json()["hub"]


def test_hub_outage_loses_and_duplicates_nothing(hub_server, hub, applications, acknowledged, tmp_path):
    with httpx.Client(base_url=hub_server.url, timeout=30) as http:
        acknowledged += _score(http, applications, 20)
        wait_until(lambda: _hub_state(http)["pushes"] >= 1, timeout=30, what="a first push")
        hub.fail(status=503)  # the Hub goes down
        acknowledged += _score(http, applications[20:], 30)
        failures = wait_until(lambda: _hub_state(http)["failures"], timeout=30, what="a failed push")
        assert _hub_state(http)["last_push_ok"] is False
        assert http.get("/readyz").status_code == 200  # an outage of the Hub does not stop scoring
        pushes = _hub_state(http)["pushes"]
        hub.recover()
        wait_until(
            lambda: _hub_state(http)["pushes"] > pushes and _hub_state(http)["last_push_ok"],
            timeout=30,
            what="a push after the outage",
        )
    on_hub = _hub_request_ids(hub, tmp_path / "pulled")
    assert set(on_hub) == set(acknowledged) and max(on_hub.values()) == 1
    record_figures(
        "hub outage",
        acknowledged=len(acknowledged),
        on_hub=sum(on_hub.values()),
        failed_pushes=failures,
        lost=0,
        duplicated=0,
    )


def test_sigterm_stops_cleanly_with_a_final_push(hub_server, hub, applications, acknowledged, tmp_path):
    with httpx.Client(base_url=hub_server.url, timeout=30) as http:
        acknowledged += _score(http, applications[50:], 10)  # not pushed yet: the final push must carry them
    started = time.monotonic()
    code = hub_server.stop(signal.SIGTERM, timeout=30)
    seconds = time.monotonic() - started
    output = hub_server.output()
    # uvicorn re-raises the SIGTERM once its graceful shutdown is over, so a clean stop exits "by SIGTERM"
    # (-15 here, 143 in a shell or a container): the shutdown lines below are what prove it was clean.
    assert code in (0, -signal.SIGTERM) and seconds < 25, (code, seconds, output[-2000:])
    assert "Application shutdown complete." in output and "Finished server process" in output
    assert "final push" in output and "hub_push_ok" in output.split("final push", 1)[1]
    on_hub = _hub_request_ids(hub, tmp_path / "pulled")
    assert set(on_hub) == set(acknowledged) and max(on_hub.values()) == 1
    record_figures("sigterm", exit_code=code, stop_seconds=round(seconds, 1), rows_on_hub=sum(on_hub.values()))


# ------------------------------------------------------------------------------------ unwritable log


def _can_mount_read_only(tmp: Path) -> bool:
    probe = tmp / "mount-probe"
    probe.mkdir()
    script = f'mount --bind "{probe}" "{probe}" && mount -o remount,bind,ro "{probe}" && ! touch "{probe}/x"'
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_with_unwritable_log(tmp: Path, *, policy: str) -> tuple[Server, str]:
    """The server with a prediction log folder that really refuses writes, even to root."""
    log_dir = tmp / "predictions"
    env = {"LOG_WRITE_POLICY": policy}
    command = [sys.executable, str(ROOT / "app.py")]
    if _can_mount_read_only(tmp):
        method = "read-only bind mount (EROFS)"
        log_dir.mkdir()
        command = [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind "$LOG" "$LOG" && mount -o remount,bind,ro "$LOG" && exec "$@"',
            "sh",
            *command,
        ]
        env["LOG"] = str(log_dir)
    else:
        method = "folder below a regular file (ENOTDIR)"
        (tmp / "not-a-folder").write_text("")
        log_dir = tmp / "not-a-folder" / "predictions"
    env["PREDICTION_LOG_DIR"] = str(log_dir)
    return start_test_server(tmp, env=env, command=command), method


@pytest.mark.parametrize("policy", ["refuse", "serve"])
def test_unwritable_log_follows_the_policy(tmp_path, policy):
    server, method = start_with_unwritable_log(tmp_path, policy=policy)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            response = http.post(SCORE, json=EXAMPLE_LOW_RISK)
            ready = http.get("/readyz")
            state = ready.json()
            metrics = http.get("/metrics").text
            gradio = http.post("/gradio_api/call/predict", json={"data": [EXAMPLE_LOW_RISK, False]})
            stream = http.get(f"/gradio_api/call/predict/{gradio.json()['event_id']}").text
    finally:
        server.stop()
    assert state["log"]["writable"] is False and state["log_write_policy"] == policy
    assert 'scoring_errors_total{channel="rest",kind="log_write_failed"} 1.0' in metrics
    if policy == "refuse":
        assert response.status_code == 503
        assert response.json()["detail"][0]["kind"] == "log_unavailable"
        assert "prediction log" in response.json()["error"]
        assert ready.status_code == 503 and state["ready"] is False
        assert "event: error" in stream and "prediction log" in stream
    else:
        assert response.status_code == 200 and response.json()["decision"] in ("approve", "refuse")
        assert ready.status_code == 200 and state["ready"] is True
        assert state["log"]["last_error"]  # the alarm: what failed and when
        assert "event: complete" in stream
    assert "prediction log write failed" in server.output()
    record_figures(
        f"unwritable log ({policy})",
        method=method,
        score_status=response.status_code,
        readyz_status=ready.status_code,
        last_error=state["log"]["last_error"],
    )


# ---------------------------------------------------------------------------------------- bad model


def _model_cases(tmp: Path) -> dict[str, Path]:
    corrupt_booster = shutil.copytree(MODEL_DIR, tmp / "corrupt-booster")
    (corrupt_booster / "model.lgb").write_bytes(b"tree\nversion=v4\nnot a booster at all\n")
    corrupt_metadata = shutil.copytree(MODEL_DIR, tmp / "corrupt-metadata")
    (corrupt_metadata / "metadata.json").write_text('{"feature_names": [')
    return {"missing": tmp / "no-such-model", "corrupt-booster": corrupt_booster, "corrupt-metadata": corrupt_metadata}


def test_bad_model_stops_the_start_with_a_clear_error(tmp_path):
    """All three at once (each start imports the whole stack): non-zero exit, a reason, never a listening port."""
    runs = {}
    for name, model_dir in _model_cases(tmp_path).items():
        port, out = free_port(), tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "MODEL_DIR": str(model_dir),
            "PREDICTION_LOG_DIR": str(tmp_path / name / "predictions"),
            "HISTORY_DIR": str(tmp_path / name / "h"),
            "OPEN_DEMO": "1",  # token-less on purpose: this test is about the model, not the open-mode refusal
        }
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=out.open("wb"), stderr=subprocess.STDOUT
        )
        runs[name] = (process, port, out)
    listened = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(p.poll() is None for p, _, _ in runs.values()):
        for name, (process, port, _) in runs.items():
            if process.poll() is None and _port_open(port):
                listened.add(name)
        time.sleep(0.1)
    for process, _, _ in runs.values():
        if process.poll() is None:
            process.kill()
    codes = {name: process.wait(5) for name, (process, _, _) in runs.items()}
    outputs = {name: out.read_text(errors="replace") for name, (_, _, out) in runs.items()}
    assert not listened, f"a half-working server listened: {listened}"
    for name, code in codes.items():
        assert code == 2, (name, code, outputs[name][-1500:])
        assert "cannot start: the model did not load" in outputs[name] and '"reason"' in outputs[name]
        assert "Traceback" not in outputs[name]
    assert "no exported model" in outputs["missing"]
    record_figures("bad model", exit_codes=codes)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.05)
        return sock.connect_ex(("127.0.0.1", port)) == 0
