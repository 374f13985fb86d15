"""service/ui/fastcall.py: the queue loop it replaces is the pinned Gradio's, and the event stream keeps its bytes.

A failure of the first test after a Gradio upgrade means `Queue.start_processing` changed: re-read it,
bring `_start_processing` in step, then update `LOOP_SOURCE_SHA256`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.ui import fastcall, fastpath

APPLICATION = {"AMT_CREDIT": 500000.0}


def _mounted() -> tuple[gr.Blocks, FastAPI]:
    with gr.Blocks(analytics_enabled=False) as blocks:

        def predict(application: dict, explain: bool = False) -> dict:
            """Echo the application."""
            return {"decision": "approve", **application}

        gr.api(predict, api_name="predict", queue=False)
    blocks.queue(default_concurrency_limit=2)
    return blocks, gr.mount_gradio_app(FastAPI(), blocks, path="/", enable_monitoring=False, run_history=False)


def test_the_replaced_queue_loop_is_the_pinned_gradios():
    assert fastcall.loop_source_digest() == fastcall.LOOP_SOURCE_SHA256, (
        "Gradio's Queue.start_processing changed: bring fastcall._start_processing in step, then the digest"
    )


def test_call_and_stream_answer_through_the_woken_queue_and_its_two_writes():
    blocks, app = _mounted()
    assert fastcall.wake_driven_queue(blocks._queue)
    assert fastcall.fewer_stream_writes(app)
    for _ in range(2):  # served twice, on two event loops, as in-process tests do
        with TestClient(app) as client:
            for n in range(4):  # the queue goes idle between calls: each one must wake it
                body = {"data": [{**APPLICATION, "n": n}, False]}
                event = client.post("/gradio_api/call/predict", json=body).json()
                answer = client.get(f"/gradio_api/call/predict/{event['event_id']}")
                assert answer.status_code == 200
                assert answer.headers["content-type"].startswith("text/event-stream")
                assert answer.text.startswith("event: complete\ndata: ") and f'"n": {n}' in answer.text
    assert blocks._queue._wake_driven


def test_a_changed_loop_or_a_started_queue_is_left_alone(monkeypatch, caplog):
    blocks, app = _mounted()
    monkeypatch.setattr(fastcall, "LOOP_SOURCE_SHA256", "0" * 64)
    with caplog.at_level(logging.WARNING):
        assert not fastcall.wake_driven_queue(blocks._queue)
    assert "still polls" in caplog.text
    assert not hasattr(blocks._queue, "_wake_driven")
    with TestClient(app):  # started: the loop already runs, replacing it now would do nothing
        monkeypatch.undo()
        assert not fastcall.wake_driven_queue(blocks._queue)
        assert not fastcall.fewer_stream_writes(app)


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.arrived.set()


async def _stream(
    parts: list[bytes], *, pause_after: int | None = None, fail: bool = False, recorder: _Recorder | None = None
) -> _Recorder:
    """Run EventStreamWrites over a stand-in app streaming `parts`; returns what reached the server."""
    recorder = recorder or _Recorder()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            if i == pause_after:  # a stream that waits (a heartbeat, a generator): this part must go out now
                recorder.arrived.clear()
                await asyncio.wait_for(recorder.arrived.wait(), timeout=5)
        if fail:
            raise RuntimeError("the app broke mid-stream")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    scope = {"type": "http", "method": "GET", "path": "/gradio_api/call/predict/abc"}
    await fastcall.EventStreamWrites(app)(scope, None, recorder.send)
    return recorder


def _bodies(recorder: _Recorder) -> list[tuple[bytes, bool]]:
    return [(m["body"], m["more_body"]) for m in recorder.messages if m["type"] == "http.response.body"]


def test_the_last_event_leaves_with_the_end_of_the_stream():
    recorder = asyncio.run(_stream([b"event: complete\ndata: 1\n\n"]))
    assert [m["type"] for m in recorder.messages] == ["http.response.start", "http.response.body"]
    assert _bodies(recorder) == [(b"event: complete\ndata: 1\n\n", False)]


def test_a_waiting_stream_gets_each_event_when_it_is_sent_and_the_same_bytes():
    parts = [b"event: heartbeat\ndata: null\n\n", b"event: complete\ndata: 2\n\n"]
    recorder = asyncio.run(_stream(parts, pause_after=0))
    assert recorder.messages[0]["type"] == "http.response.start"
    assert _bodies(recorder) == [(parts[0], True), (parts[1], False)]


def test_what_was_sent_before_a_failure_still_goes_out():
    recorder = _Recorder()
    with pytest.raises(RuntimeError, match="mid-stream"):
        asyncio.run(_stream([b"event: error\ndata: null\n\n"], fail=True, recorder=recorder))
    assert recorder.messages[0]["type"] == "http.response.start"
    assert _bodies(recorder) == [(b"event: error\ndata: null\n\n", True)]


def test_other_routes_pass_through_untouched():
    recorder = _Recorder()
    sent = [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"{}", "more_body": False},
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in sent:
            await send(message)

    asyncio.run(fastcall.EventStreamWrites(app)({"type": "http", "method": "POST", "path": "/x"}, None, recorder.send))
    assert recorder.messages == sent


def test_apply_reports_the_two_call_route_hooks():
    blocks, app = _mounted()
    try:
        on = fastpath.apply(blocks, app)
    finally:
        fastpath.undo()
    assert on["wake_driven_queue"] and on["event_stream_writes"]
