"""The Batch tab through Gradio's raw queue protocol: a server path is never read, a real upload is.

FINDING 14.1: `gr.mount_gradio_app` leaves `blocks.has_launched` False, so Gradio's own check of input
files returned early and a `queue/join` naming `/any/file.csv` scored that file. The attack is replayed
here as a client would send it, next to the same call with a file sent through `/gradio_api/upload`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

CSV = (
    "SK_ID_CURR,NAME_CONTRACT_TYPE,AMT_INCOME_TOTAL,AMT_CREDIT,AMT_ANNUITY,DAYS_BIRTH\n"
    "100002,Cash loans,150000,500000,25000,-14000\n"
)


def batch_fn_index(client: httpx.Client) -> int:
    """The index of the Batch tab's handler: the event whose input is the upload component."""
    config = client.get("/config").json()
    upload_id = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "batch-upload")
    return next(i for i, dep in enumerate(config["dependencies"]) if dep["inputs"] == [upload_id])


def join_and_wait(client: httpx.Client, fn_index: int, file_data: dict[str, Any]) -> dict[str, Any]:
    """`queue/join` then the session's SSE stream up to the completion message."""
    session = uuid.uuid4().hex[:10]
    body = {"data": [file_data], "fn_index": fn_index, "session_hash": session, "event_data": None}
    joined = client.post("/gradio_api/queue/join", json=body)
    assert joined.status_code == 200, joined.text
    with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the queue never completed the call")


def file_data(path: str) -> dict[str, Any]:
    return {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def test_a_server_path_is_refused_and_nothing_of_it_leaks(client, server, tmp_path):
    secret = tmp_path / "server-secret.csv"
    secret.write_text("SK_ID_CURR,SECRET_COLUMN\n1,s3cr3t-value\n")
    index = batch_fn_index(client)
    for path in (str(secret), "/etc/passwd", str(server.folder / "server.log")):
        message = join_and_wait(client, index, file_data(path))
        assert message["success"] is False, message
        text = json.dumps(message)
        assert "not uploaded to this service" in text
        assert "SECRET_COLUMN" not in text and "s3cr3t" not in text and "root:" not in text and path not in text


def test_a_file_sent_through_the_upload_route_is_scored(client):
    uploaded = client.post("/gradio_api/upload", files={"files": ("apps.csv", CSV.encode(), "text/csv")})
    assert uploaded.status_code == 200, uploaded.text
    message = join_and_wait(client, batch_fn_index(client), file_data(uploaded.json()[0]))
    assert message["success"] is True, message
    summary, scored, _ = message["output"]["data"]
    assert "**1** scored, **0** rejected" in summary
    text = client.get(scored["url"]).text
    assert text.splitlines()[0].endswith("probability,decision,status,errors,request_id")


def test_an_upload_over_the_size_cap_is_refused(client):
    big = b"AMT_CREDIT\n" + b"1\n" * (17 * 1024 * 1024)  # over the 32 MiB cap once doubled below
    response = client.post("/gradio_api/upload", files={"files": ("big.csv", big + big, "text/csv")})
    assert response.status_code == 413
