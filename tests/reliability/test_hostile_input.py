"""Hostile requests by hand, over REST and the Gradio API: always a 4xx naming the field and the reason.

The basic 4xx classes (empty body, syntax error, top-level duplicate key, `[[[...]]]`, form encoding,
a 300 KB body) are in tests/service/test_rest.py; these are the nastier variants.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from gradio_client import Client

from scoring.schema import REQUIRED
from service.openapi import EXAMPLE_LOW_RISK
from tests.reliability.conftest import assert_explained_4xx, record_figures

pytestmark = pytest.mark.server

SCORE, BATCH = "/api/v1/score", "/api/v1/score/batch"
JSON = {"content-type": "application/json"}
MB = 1024 * 1024


def with_literal(field: str, literal: str, base: dict[str, Any] = EXAMPLE_LOW_RISK) -> bytes:
    """The example application with `field` set to a raw JSON literal (one the json module cannot write)."""
    text = json.dumps({k: v for k, v in base.items() if k != field})
    return (text[:-1] + f', "{field}": {literal}}}').encode()


@pytest.fixture(scope="module")
def fresh(server) -> httpx.Client:
    """No keep-alive: a request that kills its connection must not fail the next test's request."""
    with httpx.Client(base_url=server.url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        yield http


@pytest.fixture(scope="module")
def gradio(server) -> Client:
    return Client(server.url, verbose=False)


@pytest.fixture(autouse=True)
def _server_still_answers(fresh):
    yield
    assert fresh.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        (with_literal("AMT_CREDIT", "1e400"), "AMT_CREDIT", "wrong_type"),  # parses to inf
        (with_literal("AMT_CREDIT", "-1e400"), "AMT_CREDIT", "wrong_type"),
        (with_literal("AMT_CREDIT", "1" + "0" * 400), "AMT_CREDIT", "out_of_range"),  # 10**400, an exact int
        (with_literal("CNT_CHILDREN", "1" + "0" * 400), "CNT_CHILDREN", "out_of_range"),
        (with_literal("EXT_SOURCE_1", "-Infinity"), "EXT_SOURCE_1", "wrong_type"),
        (with_literal("AMT_CREDIT", '{"a": ' * 500 + "1" + "}" * 500), "AMT_CREDIT", "wrong_type"),
        (with_literal("AMT_CREDIT", "[" * 500 + "]" * 500), "AMT_CREDIT", "wrong_type"),
        (with_literal("CODE_GENDER", '"M\\u0000"'), "CODE_GENDER", "unknown_category"),
        (with_literal("CODE_GENDER", '"\\u202eM"'), "CODE_GENDER", "unknown_category"),  # right-to-left override
        (with_literal("CODE_GENDER", '"\\ud800"'), "CODE_GENDER", "unknown_category"),  # lone surrogate as a value
        (
            with_literal("NAME_CONTRACT_TYPE", json.dumps("Cash loans" + "\u0301")),
            "NAME_CONTRACT_TYPE",
            "unknown_category",
        ),
        (with_literal("NAME_CONTRACT_TYPE", json.dumps("x" * 100_000)), "NAME_CONTRACT_TYPE", "unknown_category"),
        (with_literal("\\u0000\\u001f", "1"), "\x00\x1f", "unknown_field"),
        (with_literal("AMT_CREDIT\\u200b", "1"), "AMT_CREDIT\u200b", "unknown_field"),  # zero-width space
        (with_literal("🙂", "1"), "🙂", "unknown_field"),
        (with_literal("SK_ID_CURR", "[1]"), "SK_ID_CURR", "wrong_type"),
        (with_literal("AMT_CREDIT", "true"), "AMT_CREDIT", "wrong_type"),
    ],
    ids=[
        "1e400",
        "-1e400",
        "10**400",
        "10**400-int-field",
        "-Infinity",
        "nested-500-objects",
        "nested-500-lists",
        "nul-in-category",
        "rtl-in-category",
        "surrogate-in-category",
        "combining-accent",
        "100k-char-category",
        "control-chars-key",
        "zero-width-key",
        "emoji-key",
        "id-list",
        "bool-for-number",
    ],
)
def test_hostile_values_are_422_naming_the_field(fresh, body, field, kind):
    response = fresh.post(SCORE, content=body, headers=JSON)
    problem = assert_explained_4xx(response)
    assert response.status_code == 422
    assert (problem["field"], problem["kind"]) == (field[:100], kind)


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "kind"),
    [
        (
            SCORE,
            with_literal("EXT_SOURCE_1", '{"a": ' * 50_000 + "1" + "}" * 50_000)[:250_000] + b"}" * 6000,
            JSON,
            400,
            "invalid_json",
        ),
        (SCORE, with_literal("AMT_CREDIT", "1" + "0" * 5000), JSON, 400, "invalid_json"),  # over Python's int limit
        (SCORE, b"\xff\xfe{\x00", JSON, 400, "invalid_json"),  # a UTF-16 BOM and half an object
        (SCORE, b"\x00" * 100, JSON, 400, "invalid_json"),
        (SCORE, json.dumps(EXAMPLE_LOW_RISK).encode(), {"content-type": "text/plain"}, 415, "wrong_content_type"),
        (
            SCORE,
            json.dumps(EXAMPLE_LOW_RISK).encode(),
            {"content-type": "multipart/form-data; boundary=x"},
            415,
            "wrong_content_type",
        ),
        (
            SCORE,
            json.dumps(EXAMPLE_LOW_RISK).encode(),
            {"content-type": "application/jsonx"},
            415,
            "wrong_content_type",
        ),
        (SCORE, b"null", JSON, 422, "not_an_object"),
        (SCORE, b'"an application"', JSON, 422, "not_an_object"),
        (SCORE, b"[]", JSON, 422, "not_an_object"),
        (BATCH, b'{"applications": [], "applications": []}', JSON, 400, "duplicate_key"),
        (
            BATCH,
            json.dumps({"applications": [EXAMPLE_LOW_RISK]}).encode()[:-3] + b', "AMT_CREDIT": 1}]}',
            JSON,
            400,
            "duplicate_key",
        ),
        (BATCH, b'{"applications": {"0": {}}}', JSON, 422, "wrong_type"),
        (BATCH, b'{"applications": [{}], "extra": 1}', JSON, 422, "unknown_field"),
        (BATCH, b"[" * 200_000 + b"]" * 200_000, JSON, 400, "invalid_json"),
    ],
    ids=[
        "nested-50k-objects",
        "5000-digit-int",
        "bom-nuls",
        "nuls",
        "text-plain",
        "multipart",
        "jsonx",
        "null",
        "string",
        "list",
        "batch-duplicate-envelope",
        "batch-duplicate-in-row",
        "batch-object",
        "batch-extra-key",
        "batch-nested-200k",
    ],
)
def test_malformed_bodies_are_explained_4xx(fresh, path, body, headers, status, kind):
    response = fresh.post(path, content=body, headers=headers)
    problem = assert_explained_4xx(response)
    assert (response.status_code, problem["kind"]) == (status, kind)


def test_20_mb_bodies_are_refused_without_reading_them(fresh):
    big = b" " * (20 * MB)
    declared = fresh.post(SCORE, content=b"{" + big + b"}", headers=JSON)
    assert (declared.status_code, assert_explained_4xx(declared)["kind"]) == (413, "too_large")

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield b"{"
        for _ in range(20):
            yield b" " * MB
        yield b"}"

    streamed = fresh.post(SCORE, content=chunks(), headers=JSON)
    assert (streamed.status_code, assert_explained_4xx(streamed)["kind"]) == (413, "too_large")
    garbage = fresh.post(BATCH, content=b"[" + big, headers=JSON)  # under the 48 MB batch limit, not JSON
    assert (garbage.status_code, assert_explained_4xx(garbage)["kind"]) == (400, "invalid_json")


def test_100_000_row_batch_is_refused_by_count_and_by_size(fresh):
    required = {k: EXAMPLE_LOW_RISK[k] for k in REQUIRED}
    body = json.dumps({"applications": [required] * 100_000}).encode()  # ~15 MB: read, parsed, counted
    by_count = fresh.post(BATCH, content=body, headers=JSON)
    problem = assert_explained_4xx(by_count)
    assert (by_count.status_code, problem["field"], problem["kind"]) == (413, "applications", "batch_too_large")
    too_big = b'{"applications": [' + b" " * (49 * MB) + b"]}"  # over the 48 MB batch limit
    by_size = fresh.post(BATCH, content=too_big, headers=JSON)
    assert (by_size.status_code, assert_explained_4xx(by_size)["kind"]) == (413, "too_large")
    record_figures("100k-row batch", body_mb=round(len(body) / MB, 1), status=by_count.status_code)


def test_hostile_rows_in_a_batch_are_reported_by_index(fresh):
    rows = [EXAMPLE_LOW_RISK, {**EXAMPLE_LOW_RISK, "CODE_GENDER": "M\x00"}, {"\x00": 1}, [], None, 10**30]
    body = json.dumps({"applications": rows}).encode()[:-2] + b", " + with_literal("AMT_CREDIT", "NaN") + b"]}"
    response = fresh.post(BATCH, content=body, headers=JSON)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["ok"] + ["rejected"] * 6
    for result in results[1:]:
        assert all(e["message"] and (e["field"] is not None or e["kind"] == "not_an_object") for e in result["errors"])
    assert results[-1]["errors"][0]["field"] == "AMT_CREDIT"


def gradio_call(http: httpx.Client, name: str, data: list[Any]) -> tuple[str, Any]:
    """Gradio's HTTP API by hand (gradio_client refuses to send NaN or a lone surrogate): (event, data)."""
    started = http.post(f"/gradio_api/call/{name}", content=json.dumps({"data": data}), headers=JSON)
    assert started.status_code == 200, started.text[:300]
    stream = http.get(f"/gradio_api/call/{name}/{started.json()['event_id']}").text
    event = stream.split("event:", 1)[1].split("\n", 1)[0].strip()
    return event, json.loads(stream.split("data:", 1)[1].split("\n", 1)[0])


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        ({**EXAMPLE_LOW_RISK, "AMT_CREDIT": float("nan")}, "AMT_CREDIT: expected a finite number"),
        ({**EXAMPLE_LOW_RISK, "AMT_CREDIT": float("-inf")}, "AMT_CREDIT: expected a finite number"),
        ({**EXAMPLE_LOW_RISK, "AMT_CREDIT": 10**400}, "AMT_CREDIT: 1000"),
        ({**EXAMPLE_LOW_RISK, "CODE_GENDER": "M\x00\u202e"}, "CODE_GENDER: unknown label"),
        ({**EXAMPLE_LOW_RISK, "\ud800": 1}, "unknown field"),
        ({**EXAMPLE_LOW_RISK, "\x00": 1}, "unknown field"),
        ({**EXAMPLE_LOW_RISK, "AMT_CREDIT": {"a": [[[[[]]]]]}}, "AMT_CREDIT: expected a number"),
        ("not an object", "expected a JSON object"),
    ],
    ids=["nan", "-inf", "10**400", "control-category", "surrogate-key", "nul-key", "nested", "string"],
)
def test_gradio_predict_errors_name_the_field(fresh, application, expected):
    event, data = gradio_call(fresh, "predict", [application, False])
    assert event == "error" and expected in data["error"] and "Traceback" not in data["error"]


def test_gradio_batch_limits(fresh, gradio):
    with pytest.raises(Exception, match=r"applications: 100000 rows; at most 10000"):
        gradio.predict([{}] * 100_000, api_name="/predict_batch")
    with pytest.raises(Exception, match="applications: expected a non-empty list"):
        gradio.predict("not a list", api_name="/predict_batch")
    event, data = gradio_call(
        fresh, "predict_batch", [[{**EXAMPLE_LOW_RISK, "\ud800": 1}, {"AMT_CREDIT": float("nan")}]]
    )
    assert event == "complete" and (data[0]["n_scored"], data[0]["n_rejected"]) == (0, 2)


def test_gradio_20_mb_argument_is_refused_or_explained(fresh):
    body = json.dumps({"data": [{"NAME_CONTRACT_TYPE": "x" * (20 * MB)}, False]})
    response = fresh.post("/gradio_api/call/predict", content=body, headers=JSON)
    if response.status_code == 200:  # accepted by Gradio: the handler must still refuse it, naming the field
        stream = fresh.get(f"/gradio_api/call/predict/{response.json()['event_id']}")
        assert "event: error" in stream.text and "NAME_CONTRACT_TYPE" in stream.text
    else:
        assert 400 <= response.status_code < 500


# ---------------------------------------------------------------------------------- known findings


def test_surrogate_key_is_a_422_not_a_500(fresh):
    response = fresh.post(SCORE, content=with_literal("\\ud800", "1"), headers=JSON)
    assert response.status_code == 422, response.text[:200]
    assert assert_explained_4xx(response)["kind"] == "unknown_field"


def test_surrogate_key_in_a_batch_rejects_only_its_row(fresh):
    body = b'{"applications": [' + with_literal("\\ud800", "1") + b", " + json.dumps(EXAMPLE_LOW_RISK).encode() + b"]}"
    response = fresh.post(BATCH, content=body, headers=JSON)
    assert response.status_code == 200, response.text[:200]
    first, second = response.json()["results"]
    assert first["status"] == "rejected" and first["errors"][0]["kind"] == "unknown_field"
    assert second["status"] == "ok"


def test_bad_query_parameter_uses_the_error_shape(fresh):
    response = fresh.post(SCORE + "?explain=maybe", json=EXAMPLE_LOW_RISK)
    problem = assert_explained_4xx(response)
    assert problem["field"] == "explain"
