"""service/ui/fastpath.py: each hook finds what it replaces in the pinned Gradio, and changes nothing a caller sees.

These run a small Blocks with every kind of component the UI uses, mounted on FastAPI as app.py mounts
its own, through Starlette's TestClient (the real Gradio routes, in process). A failure here after a
Gradio upgrade means the upgrade moved an internal that the fast path relies on: re-read
`SessionState.__init__`, `Queue.process_events` and the `login_check` dependency in the new version.
"""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
import orjson
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gradio import queueing
from gradio.state_holder import SessionState

from service.ui import fastpath

APPLICATION = {"AMT_CREDIT": 500000.0, "NAME_CONTRACT_TYPE": "Cash loans"}


def _blocks() -> gr.Blocks:
    with gr.Blocks(analytics_enabled=False) as blocks:
        gr.Markdown("## title")
        with gr.Tabs():
            with gr.Tab("Form", id="form"):
                with gr.Row(), gr.Column():
                    gr.Dropdown(choices=["a", "b"], label="d")
                    gr.Number(label="n", minimum=0)
                    gr.Checkbox(label="c")
                with gr.Accordion("more", open=False):
                    gr.Code(language="json")
                gr.Button("go")
                gr.HTML("<b>card</b>")
                gr.Plot(label="p")
            with gr.Tab("Data", id="data"):
                gr.Dataframe(pd.DataFrame({"x": [1, 2]}))
                gr.File(label="f")
                gr.State({"kept": []})

        def predict(application: dict, explain: bool = False) -> dict:
            """Echo the application with a decision."""
            return {"decision": "approve", "explain": explain, **application}

        gr.api(predict, api_name="predict", queue=False)
    blocks.queue(default_concurrency_limit=4)
    return blocks


def _mount(*, auth: tuple[str, str] | None = None) -> tuple[gr.Blocks, FastAPI]:
    blocks = _blocks()
    app = gr.mount_gradio_app(FastAPI(), blocks, path="/", auth=auth, enable_monitoring=False, run_history=False)
    return blocks, app


@pytest.fixture
def restore_gradio() -> Iterator[None]:
    yield
    fastpath.undo()


def _configs(state: SessionState) -> bytes:
    return orjson.dumps(list(state.components), option=orjson.OPT_SERIALIZE_NUMPY, default=str)


def test_every_hook_finds_what_it_replaces(restore_gradio):
    blocks, app = _mount()
    assert fastpath.matches_gradio(blocks), "a lazy SessionState no longer matches Gradio's own: see the docstring"
    on = fastpath.apply(blocks, app)
    assert on == dict.fromkeys(
        ("lazy_sessions", "skip_analytics_summary", "inline_login_check", "wake_driven_queue", "event_stream_writes"),
        True,
    )
    assert SessionState(blocks).config_values.computed() == 0


def test_a_lazy_session_reads_as_gradios_own_after_a_call(restore_gradio):
    """Deep links dump a session's configs: after the same call they must be byte for byte the same."""
    blocks, app = _mount()
    body = {"data": [APPLICATION, True]}
    with TestClient(app) as client:
        assert client.post("/gradio_api/run/predict", json={**body, "session_hash": "eager"}).status_code == 200
        assert fastpath.apply(blocks, app)["lazy_sessions"]
        answer = client.post("/gradio_api/run/predict", json={**body, "session_hash": "lazy"})
    assert answer.status_code == 200
    assert answer.json()["data"][0] == {"decision": "approve", "explain": True, **APPLICATION}
    holder = fastpath.gradio_app_of(app).state_holder
    eager, lazy = holder["eager"], holder["lazy"]
    assert isinstance(lazy.config_values, fastpath.LazyBlockConfigs)
    # the call wrote its two inputs and its output into the session, and computed nothing else
    assert lazy.config_values.computed() == 3 < len(blocks.blocks)
    assert _configs(lazy) == _configs(eager)


def test_state_stays_per_session(restore_gradio):
    blocks, app = _mount()
    fastpath.apply(blocks, app)
    state_id = next(k for k, b in blocks.blocks.items() if isinstance(b, gr.State))
    first, second = SessionState(blocks), SessionState(blocks)
    first[state_id]["kept"].append(1)
    assert second[state_id] == {"kept": []}
    assert blocks.blocks[state_id].value == {"kept": []}


def test_queued_calls_answer_without_rebuilding_the_dashboard_summary(restore_gradio):
    blocks, app = _mount()
    fastpath.apply(blocks, app)
    assert queueing.run_sync is not fastpath._THREAD_RUN_SYNC
    with TestClient(app) as client:
        for _ in range(3):
            event = client.post("/gradio_api/call/predict", json={"data": [APPLICATION, False]}).json()
            stream = client.get(f"/gradio_api/call/predict/{event['event_id']}").text
            assert "event: complete" in stream and '"decision": "approve"' in stream
    queue = blocks._queue
    assert len(queue.event_analytics) == 3  # the per-event records are still kept (and capped by the janitor)
    assert queue.cached_event_analytics_summary == {"functions": {}}


def test_the_inline_login_check_still_refuses_a_missing_login(restore_gradio):
    blocks, app = _mount(auth=("user", "secret"))
    assert fastpath.apply(blocks, app)["inline_login_check"]
    gradio_app = fastpath.gradio_app_of(app)
    assert not gradio_app.dependency_overrides  # put in place once, not rebuilt on every request
    trees = list(fastpath._dependency_trees(gradio_app.routes))
    login = next(r for r in fastpath._api_routes(gradio_app.routes) if r.path == "/gradio_api/login_check").endpoint
    assert not any(fastpath._calls(tree, login) for tree in trees)
    body = {"data": [APPLICATION, False]}
    with TestClient(app) as client:
        assert client.post("/gradio_api/run/predict", json=body).status_code == 401
        assert client.post("/gradio_api/call/predict", json=body).status_code == 401
        assert client.post("/login", data={"username": "user", "password": "wrong"}).status_code == 400
        assert client.post("/gradio_api/run/predict", json=body).status_code == 401
        assert client.post("/login", data={"username": "user", "password": "secret"}).status_code == 200
        assert client.post("/gradio_api/run/predict", json=body).status_code == 200


def test_a_changed_session_constructor_is_left_alone(restore_gradio, monkeypatch, caplog):
    """If Gradio's constructor grows an attribute the lazy one lacks, nothing is installed and the log says so."""
    blocks, _ = _mount()
    original = fastpath._GRADIO_INIT

    def grown(self, blocks):  # noqa: ANN001, ANN202 - stands in for a future Gradio
        original(self, blocks)
        self.new_in_gradio_7 = {}

    monkeypatch.setattr(fastpath, "_GRADIO_INIT", grown)
    monkeypatch.setattr(SessionState, "__init__", grown)
    assert not fastpath.lazy_sessions(blocks)
    assert SessionState.__init__ is grown
    assert "no longer match" in caplog.text
