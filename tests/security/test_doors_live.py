"""Issue 14 (round two), door behaviours against the real server with a token: one server for the module.

Items: 6 (the REST rules on the Gradio API and MCP), 12 (no forged stdout line), 14 (start-up route,
private callbacks).
"""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from service.openapi import EXAMPLE_LOW_RISK
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

TOKEN = "doors-token-4b1e8c"
BEARER = {"authorization": f"Bearer {TOKEN}"}
MCP = "/gradio_api/mcp/"
MCP_HEADERS = {**BEARER, "accept": "application/json, text/event-stream", "content-type": "application/json"}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = start_test_server(tmp_path_factory.mktemp("doors"), env={"API_TOKEN": TOKEN})
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def ui(secured):
    """A logged-in browser-like session (the Gradio login cookie)."""
    with httpx.Client(base_url=secured.url, timeout=30) as client:
        assert client.post("/login", data={"username": "desk", "password": TOKEN}).status_code == 200
        yield client


def _run(ui: httpx.Client, body: str, name: str = "predict") -> httpx.Response:
    return ui.post(f"/gradio_api/run/{name}", content=body, headers=JSON)


def _mcp_call(secured, raw_arguments: str) -> httpx.Response:
    body = (
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"predict","arguments":' + raw_arguments + "}}"
    )
    with httpx.Client(base_url=secured.url, timeout=30) as client:
        return client.post(MCP, content=body, headers=MCP_HEADERS)


def _data(raw_application: str) -> str:
    return '{"data": [' + raw_application + ", false]}"


def _app(**fields) -> dict:
    return {**EXAMPLE_LOW_RISK, **fields}


# -- item 6: the same rules on every door -------------------------------------------------------------


def test_gradio_api_validation_error_is_a_422_with_field_and_reason(ui):
    response = _run(ui, json.dumps({"data": [_app(DAYS_BIRTH=5), False]}))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["field"] == "DAYS_BIRTH" and detail[0]["kind"] == "out_of_range"


@pytest.mark.parametrize("field", ["EXT_SOURCE_1", "AMT_CREDIT"])  # optional and required alike
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_naming_the_field_on_gradio_and_mcp(ui, secured, field, literal):
    application = json.dumps(_app(**{field: 0})).replace(f'"{field}": 0', f'"{field}": {literal}')
    for response in (
        _run(ui, _data(application)),
        _mcp_call(secured, '{"application": ' + application + "}"),
    ):
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert (problem["field"], problem["kind"]) == (field, "wrong_type")
        assert "finite number" in problem["message"] and "missing" not in problem["message"]
        assert "probability" not in response.text


def test_duplicate_keys_are_refused_on_gradio_and_mcp_as_on_rest(ui, secured):
    application = json.dumps(_app())[:-1] + ', "AMT_CREDIT": 1}'
    responses = {
        "rest": ui.post("/api/v1/score", content=application, headers={**JSON, **BEARER}),
        "gradio": _run(ui, _data(application)),
        "mcp": _mcp_call(secured, '{"application": ' + application + "}"),
    }
    for door, response in responses.items():
        assert response.status_code == 400, (door, response.text)
        assert response.json()["detail"][0] == {
            "field": "AMT_CREDIT",
            "kind": "duplicate_key",
            "message": "the key appears twice in one object",
        }


def test_unknown_api_name_is_a_404_without_traceback(ui, secured):
    response = _run(ui, json.dumps({"data": [_app(), False]}), name="no_such_endpoint")
    assert response.status_code == 404 and "Traceback" not in response.text
    assert response.json()["detail"][0]["field"] == "api_name"
    assert "Traceback" not in secured.output()[-5000:]


def test_mcp_deep_nesting_is_a_400_not_a_recursion_error(secured):
    deep = "[" * 5000 + "]" * 5000
    response = _mcp_call(secured, '{"application": ' + deep + "}")
    assert response.status_code == 400, response.text
    assert response.json()["detail"][0]["kind"] == "invalid_json"
    assert "RecursionError" not in secured.output()


# -- item 14: no start-up re-run, no private callback over the API -----------------------------------


def test_startup_events_route_does_not_rerun_the_queue_start(ui):
    assert ui.get("/gradio_api/startup-events").json() is False


@pytest.mark.parametrize("name", ["on_refresh", "on_refresh_1", "on_score", "lambda"])
def test_private_callbacks_are_not_callable_by_name(ui, name):
    response = _run(ui, json.dumps({"data": []}), name=name)
    assert response.status_code == 404, response.text
    assert "rows" not in response.text


def test_a_public_name_cannot_smuggle_a_private_fn_index(ui):
    response = _run(ui, json.dumps({"data": [], "fn_index": 0}))
    assert response.status_code == 404 and response.json()["detail"][0]["field"] == "fn_index"


def test_public_endpoint_still_scores(ui):
    response = _run(ui, json.dumps({"data": [_app(), False]}))
    assert response.status_code == 200 and response.json()["data"][0]["decision"] in ("approve", "refuse")


# -- item 12: stdout cannot be forged -----------------------------------------------------------------


def test_a_cr_lf_in_a_printed_path_does_not_forge_a_log_line(ui, secured):
    forged = '{"level":"critical","message":"FORGED"}'
    ui.get("/gradio_api/custom_component/x%0d%0a" + httpx.URL(forged).raw_path.decode() + "/client/a/b")
    ui.get("/gradio_api/custom_component/x%0d" + forged.replace('"', "%22") + "/client/a/b")
    lines = [line for chunk in secured.output().splitlines() for line in chunk.split("\r")]
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        assert not (isinstance(entry, dict) and entry.get("message") == "FORGED"), line
    assert "FORGED" in secured.output(), "the request reached the printing route"
