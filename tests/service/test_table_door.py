"""POST /api/v1/score/batch with CSV, Parquet and Arrow bodies answers and logs as the JSON door does.

In process: the real FastAPI app, model and prediction log (in tmp_path), driven through TestClient.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from scoring.predict import Scorer
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.tables import ARROW, CSV, PARQUET
from service.api.factory import create_api
from service.metrics import Metrics
from service.readiness import Readiness
from service.scoring import ScoringService
from service.settings import Settings
from tests.factories import frame_payloads, log_writer

BATCH = "/api/v1/score/batch"
# what differs between two acknowledgements of the same application: ids, clocks, the door's own timing
_PER_CALL = {"request_id", "ts", "latency_ms", "inference_ms", "batch_id"}


def _client(model: Any, log_dir: Path, **overrides: Any) -> TestClient:
    service = ScoringService(Scorer(model), log_writer(log_dir), Metrics())
    readiness = Readiness(
        model_version=service.model.version,
        log_health=service.sink.health,
        hub_status=lambda: {"enabled": False},
        log_write_policy="refuse",
    )
    return TestClient(create_api(service, settings=Settings(_env_file=None, **overrides), readiness=readiness))


def _logged(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


@pytest.fixture
def frame(stream) -> pd.DataFrame:
    """200 applications with bad rows a typed table can carry: a bound crossed, a label, a required field."""
    out = stream.drop(columns=[TARGET_COLUMN]).head(200).copy()
    out.loc[3, "AMT_CREDIT"] = -5.0
    out.loc[40, "NAME_CONTRACT_TYPE"] = "Mortgage"
    out.loc[41, "AMT_ANNUITY"] = np.nan
    out.loc[150, ["DAYS_EMPLOYED", "FLAG_MOBIL"]] = [12, 3]
    return out


def _body(frame: pd.DataFrame, kind: str) -> bytes:
    if kind == CSV:
        return frame.to_csv(index=False).encode()
    if kind == PARQUET:
        return frame.to_parquet(index=False)
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _comparable(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("request_id", "inference_ms")} for r in results]


@pytest.mark.parametrize("kind", [CSV, PARQUET, ARROW])
def test_a_table_body_gets_the_json_doors_answer_and_log_rows(model, tmp_path, frame, kind):
    api = _client(model, tmp_path / "log")
    payloads = [{ID_COLUMN: int(ref), **p} for ref, p in zip(frame[ID_COLUMN], frame_payloads(frame), strict=True)]
    by_json = api.post(BATCH, json={"applications": payloads}).json()
    response = api.post(BATCH, content=_body(frame, kind), headers={"content-type": kind})
    assert response.status_code == 200, response.text
    by_table = response.json()
    assert (by_table["n_scored"], by_table["n_rejected"]) == (by_json["n_scored"], by_json["n_rejected"]) == (196, 4)
    assert _comparable(by_table["results"]) == _comparable(by_json["results"])
    assert by_table["results"][3]["errors"][0]["message"].startswith("-5.0 is impossible")

    rows = _logged(tmp_path / "log")
    table_rows = [r for r in rows if r["request_id"].startswith(by_table["batch_id"])]
    json_rows = [r for r in rows if r["request_id"].startswith(by_json["batch_id"])]
    assert len(table_rows) == len(json_rows) == 200  # once each: 196 predictions, 4 rejection events
    assert sorted(r["request_id"] for r in table_rows) == sorted(r["request_id"] for r in by_table["results"])
    key = lambda r: r["request_id"].rsplit("-", 1)[1]  # noqa: E731
    for ours, theirs in zip(sorted(table_rows, key=key), sorted(json_rows, key=key), strict=True):
        assert {k: v for k, v in ours.items() if k not in _PER_CALL} == {
            k: v for k, v in theirs.items() if k not in _PER_CALL
        }


@pytest.mark.parametrize("accept", [CSV, PARQUET])
def test_the_answer_comes_in_the_format_accept_asks(model, tmp_path, frame, accept):
    api = _client(model, tmp_path / "log")
    as_json = api.post(BATCH, content=_body(frame, PARQUET), headers={"content-type": PARQUET}).json()
    response = api.post(
        BATCH, content=_body(frame, CSV), headers={"content-type": CSV, "accept": f"{accept}, */*;q=0.1"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    assert (response.headers["x-batch-scored"], response.headers["x-batch-rejected"]) == ("196", "4")
    body = io.BytesIO(response.content)
    table = pd.read_csv(body) if accept == CSV else pd.read_parquet(body)
    assert table["index"].tolist() == list(range(200))
    scored = [r for r in as_json["results"] if r["status"] == "ok"]
    ok = table[table["status"] == "ok"]
    np.testing.assert_allclose(ok["probability"].to_numpy(), [r["probability"] for r in scored], rtol=0, atol=1e-12)
    assert ok["decision"].tolist() == [r["decision"] for r in scored]
    refused = table[table["status"] == "rejected"]
    assert refused["index"].tolist() == [3, 40, 41, 150]
    assert [json.loads(e) for e in refused["errors"]] == [r["errors"] for r in as_json["results"] if "errors" in r]


def test_limits_are_documented_and_a_413_says_which(model, tmp_path, frame):
    api = _client(model, tmp_path / "log", max_batch_rows=5, max_batch_body_bytes=20_000)
    operation = api.get("/openapi.json").json()["paths"][BATCH]["post"]
    assert operation["x-limits"] == {"max_rows": 5, "max_body_bytes": 20_000}
    assert {CSV, PARQUET, ARROW, "application/json"} <= set(operation["requestBody"]["content"])
    assert "5 rows" in operation["responses"]["413"]["description"]
    too_many = api.post(BATCH, content=_body(frame.head(6), CSV), headers={"content-type": CSV})
    assert too_many.status_code == 413
    assert too_many.json()["detail"][0]["kind"] == "batch_too_large" and "at most 5" in too_many.json()["error"]
    too_big = api.post(BATCH, content=_body(frame.head(5), PARQUET) + b"\0" * 20_000, headers={"content-type": PARQUET})
    assert too_big.status_code == 413 and too_big.json()["detail"][0]["kind"] == "too_large"
    assert "20000 bytes" in too_big.json()["error"]  # the byte limit, by its value, as /docs shows it
    limits_text = operation["description"]
    assert "**5 rows**" in limits_text and "**20,000 bytes**" in limits_text and "batch_too_large" in limits_text
    assert api.post(BATCH, content=_body(frame.head(5), CSV), headers={"content-type": CSV}).status_code == 200


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind"),
    [
        (b"PAR1 not really", {"content-type": PARQUET}, 400, "unreadable_table"),
        (b"\xff\xfe\x00garbage", {"content-type": ARROW}, 400, "unreadable_table"),
        (b"", {"content-type": CSV}, 400, "empty_body"),
        (b"AMT_CREDIT,AMT_ANNUITY\n", {"content-type": CSV}, 400, "empty_body"),
        (b"a,b\n1,2\n", {"content-type": "text/plain"}, 415, "wrong_content_type"),
        (b"AMT_CREDIT\n1\n", {"content-type": CSV, "accept": "image/png"}, 406, "wrong_content_type"),
    ],
)
def test_an_unusable_table_request_is_refused_with_the_reason(model, tmp_path, body, headers, status, kind):
    api = _client(model, tmp_path / "log")
    response = api.post(BATCH, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["kind"] == kind and response.json()["error"]
    assert [(r["kind"], r["error_kind"]) for r in _logged(tmp_path / "log")] == [("rejection", kind)]


def test_a_small_parquet_body_that_decodes_to_a_huge_table_is_refused_by_its_footer(model, tmp_path, frame):
    api = _client(model, tmp_path / "log", max_batch_rows=5, max_batch_body_bytes=200_000)
    one = frame.head(1).copy()
    one["NAME_CONTRACT_TYPE"] = "A" * 3_000_000  # 3 MB of text, a few kB once compressed
    body = one.to_parquet(index=False, compression="zstd")
    assert len(body) < 200_000
    bomb = api.post(BATCH, content=body, headers={"content-type": PARQUET})
    assert bomb.status_code == 413 and bomb.json()["detail"][0]["kind"] == "too_large", bomb.text
    assert "decodes to" in bomb.json()["error"] and "200000 bytes" in bomb.json()["error"]
    many = pa.table({"AMT_CREDIT": pa.array(np.ones(200_000))})  # 1.6 MB of floats in ~1 kB
    sink = io.BytesIO()
    pq.write_table(many, sink)
    refused = api.post(BATCH, content=sink.getvalue(), headers={"content-type": PARQUET})
    assert refused.status_code == 413 and refused.json()["detail"][0]["kind"] == "batch_too_large"
    assert "200000 rows" in refused.json()["error"]
    assert not any(r["kind"] == "prediction" for r in _logged(tmp_path / "log"))


def test_a_compressed_arrow_stream_is_held_to_the_limits_before_it_is_decoded(model, tmp_path, frame):
    api = _client(model, tmp_path / "log", max_batch_rows=5, max_batch_body_bytes=200_000)

    def stream(table: pa.Table) -> bytes:
        sink = io.BytesIO()
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
            for batch in table.to_batches(max_chunksize=100_000):
                writer.write_batch(batch)
        return sink.getvalue()

    many = stream(pa.table({"AMT_CREDIT": pa.array(np.ones(1_000_000))}))  # 8 MB of floats in a few kB
    assert len(many) < 200_000
    refused = api.post(BATCH, content=many, headers={"content-type": ARROW})
    assert refused.status_code == 413 and refused.json()["detail"][0]["kind"] == "batch_too_large"
    assert "1000000 rows" in refused.json()["error"]
    one = pa.Table.from_pandas(frame.head(1).assign(NAME_CONTRACT_TYPE="A" * 3_000_000), preserve_index=False)
    bomb = api.post(BATCH, content=stream(one), headers={"content-type": ARROW})
    assert bomb.status_code == 413 and bomb.json()["detail"][0]["kind"] == "too_large", bomb.text
    assert "decodes to" in bomb.json()["error"]
    plain = api.post(BATCH, content=_body(frame.head(5), ARROW), headers={"content-type": ARROW})
    assert plain.status_code == 200 and plain.json()["n_rows"] == 5
    assert sum(r["kind"] == "prediction" for r in _logged(tmp_path / "log")) == plain.json()["n_scored"]
