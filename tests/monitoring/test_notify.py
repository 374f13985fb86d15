"""Webhook notifications against a real local HTTP receiver: one message per incident, never a raise."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitoring.alerts.model import Alert
from monitoring.notify import WebhookNotifier


class Receiver(ThreadingHTTPServer):
    """Records every POSTed JSON body and answers `status`."""

    daemon_threads = True

    def __init__(self, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook/secret-token"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def alert(key: str = "latency:rest", severity: str = "critical") -> Alert:
    return Alert(key=key, kind="latency", severity=severity, title=f"{key} is bad", check="look at it")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_one_message_per_new_alert_with_slack_text_and_fields(receiver: Receiver, clock: FakeClock) -> None:
    notifier = WebhookNotifier(receiver.url, cooldown_s=900, clock=clock)
    assert notifier.notify([alert("latency:rest"), alert("storage:hub", "warning")]) == 2
    assert notifier.flush()
    assert sorted(b["alert"]["key"] for b in receiver.bodies) == ["latency:rest", "storage:hub"]
    body = next(b for b in receiver.bodies if b["alert"]["key"] == "latency:rest")
    assert body["text"].startswith("[CRITICAL] credit-scoring: latency:rest is bad.")
    assert "Check: look at it" in body["text"]
    notifier.close()


def test_cooldown_sends_one_message_per_incident(receiver: Receiver, clock: FakeClock) -> None:
    notifier = WebhookNotifier(receiver.url, cooldown_s=900, clock=clock)
    notifier.notify([alert()])
    clock.now += 60
    assert notifier.notify([alert()]) == 0  # same key within the cooldown: silent
    assert notifier.notify([alert("errors:wrong_type:AMT_CREDIT", "warning")]) == 1  # a new key: sent
    clock.now += 900
    assert notifier.notify([alert()]) == 1  # cooldown over: reminded
    assert notifier.flush()
    assert [b["alert"]["key"] for b in receiver.bodies].count("latency:rest") == 2
    assert len(receiver.bodies) == 3
    notifier.close()


def test_a_warning_that_turns_critical_is_sent_again(receiver: Receiver, clock: FakeClock) -> None:
    notifier = WebhookNotifier(receiver.url, clock=clock)
    notifier.notify([alert(severity="warning")])
    assert notifier.notify([alert(severity="warning")]) == 0
    assert notifier.notify([alert(severity="critical")]) == 1
    info = Alert(key="traffic:history", kind="traffic", severity="info", title="note", check="none")
    assert notifier.notify([info]) == 0  # below min_severity
    assert notifier.flush() and len(receiver.bodies) == 2
    notifier.close()


def test_a_receiver_answering_500_never_raises_and_is_retried(
    receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 500
    notifier = WebhookNotifier(receiver.url, clock=clock)
    notifier.notify([alert()])
    assert notifier.flush()
    assert notifier.failed == 1 and notifier.sent == 0
    assert "HTTP 500" in caplog.text and "secret-token" not in caplog.text  # the URL is a credential
    receiver.status = 200
    assert notifier.notify([alert()]) == 1  # a failed send does not start the cooldown
    assert notifier.flush() and notifier.sent == 1
    notifier.close()


def test_a_receiver_that_is_down_never_raises_nor_blocks(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = WebhookNotifier(f"http://127.0.0.1:{port}/hook", timeout_s=0.5, clock=clock)
    assert notifier.notify([alert(), alert("storage:hub")]) == 2  # returns at once: the POSTs are queued
    assert notifier.flush(timeout=5)
    assert notifier.failed == 2
    notifier.close()


def test_a_full_queue_drops_rather_than_blocks(clock: FakeClock) -> None:
    gate = threading.Event()
    notifier = WebhookNotifier("http://127.0.0.1:9/hook", max_queue=1, clock=clock)
    notifier._post = lambda *args: gate.wait(5)  # type: ignore[method-assign]  # a webhook that hangs
    queued = notifier.notify([alert(f"k{i}") for i in range(5)])
    assert 1 <= queued <= 2  # one may already be in the worker's hands, the rest were dropped
    gate.set()
    assert notifier.flush()
    notifier.close()


HOSTILE_FIELD = "<!channel> <https://evil.example/login|Log in again> & <@U123>"


def test_caller_text_in_an_alert_cannot_mention_or_link(receiver: Receiver, clock: FakeClock) -> None:
    """Issue 14 item 5: an unknown field's name (caller text) reaches the message inert."""
    from monitoring.alerts.errors import _wave_check, _wave_title

    wave = Alert(
        key=f"errors:unknown_field:{HOSTILE_FIELD}",
        kind="errors",
        severity="critical",
        title=_wave_title("unknown_field", HOSTILE_FIELD, 0.4),
        check=_wave_check("unknown_field", HOSTILE_FIELD),
        subject=HOSTILE_FIELD,
    )
    notifier = WebhookNotifier(receiver.url, cooldown_s=900, clock=clock)
    assert notifier.notify([wave]) == 1 and notifier.flush()
    (body,) = receiver.bodies
    sent = json.dumps(body)
    for live in ("<!channel>", "<https://", "<@U123>", "https://evil"):
        assert live not in sent, live
    assert "&lt;!channel&gt;" in body["text"] and "evil.example/login" in body["text"]  # shown, not acted on
    assert body["alert"]["subject"].startswith("&lt;!channel&gt;")
    notifier.close()
