"""REST batches off the event loop (FINDING 14.3): back-pressure, a huge body refused unread, doors alive.

One server with a single batch worker and no waiting place: while a 10,000-row batch with explanations
runs, `/healthz` and a single score are answered (before the batch is), a second batch is refused at once
with 503 and `Retry-After`, and a body declaring 60 MB is refused with 413 without being sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from service.openapi import EXAMPLE_LOW_RISK
from tests.server import Server, start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]
BATCH = "/api/v1/score/batch"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_test_server(tmp_path_factory.mktemp("pool"), env={"BATCH_WORKERS": "1", "BATCH_QUEUE": "0"})
    yield server
    server.stop()


def test_a_running_batch_leaves_the_doors_open_and_a_second_one_is_refused(one_worker, applications):
    rows = [applications[i % len(applications)] for i in range(10_000)]
    answers: dict[str, httpx.Response] = {}
    order: list[str] = []

    def big_batch() -> None:
        body = json.dumps({"applications": rows}).encode()
        with httpx.Client(base_url=one_worker.url, timeout=600, headers=JSON) as http:
            for _ in range(100):  # as a client told "Retry-After" would: a probe below may hold the place
                answers["batch"] = http.post(BATCH + "?explain=true", content=body)
                if answers["batch"].status_code != 503:
                    break
                time.sleep(0.1)
            order.append("batch")

    sender = threading.Thread(target=big_batch)
    sender.start()
    with httpx.Client(base_url=one_worker.url, timeout=60) as http:
        for _ in range(600):  # until the server has taken the batch (its place is then held)
            refused = http.post(BATCH, json={"applications": [EXAMPLE_LOW_RISK]})
            if refused.status_code == 503 or "batch" in order:
                break
            time.sleep(0.1)
        health = http.get("/healthz")
        order.append("healthz")
        single = http.post("/api/v1/score", json=EXAMPLE_LOW_RISK)
        order.append("score")
    sender.join()
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["detail"][0]["kind"] == "overloaded"
    assert health.status_code == 200 and single.status_code == 200
    assert order == ["healthz", "score", "batch"]  # answered while the batch was still running
    assert answers["batch"].status_code == 200 and answers["batch"].json()["n_scored"] == 10_000
    after = httpx.post(one_worker.url + BATCH, json={"applications": [EXAMPLE_LOW_RISK]}, timeout=60)
    assert after.status_code == 200  # the place is given back


def test_a_declared_huge_body_is_refused_before_it_is_sent(one_worker):
    with socket.create_connection(("127.0.0.1", one_worker.port), timeout=30) as sock:
        sock.sendall(
            f"POST {BATCH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {60 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "the limit is" in answer


def _read_answer(sock: socket.socket) -> str:
    """The whole HTTP answer: the server may send its headers and its body in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _content_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def _content_length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
