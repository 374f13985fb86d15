"""The columnar batch door: POST /api/v1/score/batch with a CSV, Parquet or Arrow IPC stream body.

A table body skips the 120-key JSON object per row: it is read into columns (scoring.tables) and
validated on them (scoring.columnar) with the JSON door's verdicts and messages. The answer comes
as JSON (the JSON door's shape), CSV or Parquet, as `Accept` asks; the batch's totals then travel
in `X-Batch-*` headers. Limits: `max_batch_body_bytes` (413 `too_large`) and `max_batch_rows`
(413 `batch_too_large`), the same settings as the JSON door. A Parquet or Arrow body is held to both by
what it declares (its footer, its message headers) before anything is decompressed: a few kB of either
can decode to gigabytes.
"""

from __future__ import annotations

import pandas as pd
from fastapi import Request
from fastapi.responses import Response

from scoring.errors import UnreadableTable
from scoring.tables import (
    ARROW,
    CSV,
    PARQUET,
    arrow_stream_footprint,
    frame_from_bytes,
    parquet_footprint,
    table_to_bytes,
)
from service.api.body import JSON_TYPES
from service.api.problems import RequestRefused
from service.table_result import TableResult

JSON = "application/json"
ANSWER_TYPES = (JSON, CSV, PARQUET)


def answer_type(request: Request) -> str:
    """The first answer format `Accept` allows, by its order of preference; JSON when it allows any."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(request.headers.get("accept", "*/*").split(",")):
        name, *params = (p.strip().lower() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            wanted.append((-quality, position, name))
    for _, _, name in sorted(wanted):
        if name in ("*/*", "application/*", *JSON_TYPES):
            return JSON
        if name in ANSWER_TYPES:
            return name
        if name == "text/*":
            return CSV
    raise RequestRefused(406, "wrong_content_type", f"answers come as {', '.join(ANSWER_TYPES)}", field="Accept")


def _check_footprint(body: bytes, kind: str, *, max_rows: int, max_bytes: int) -> None:
    """Refuse a Parquet or Arrow body by the rows and decoded bytes it declares (the Parquet footer, the
    IPC message headers), before anything is decompressed."""
    rows, decoded = parquet_footprint(body) if kind == PARQUET else arrow_stream_footprint(body)
    if rows > max_rows:
        raise RequestRefused(413, "batch_too_large", f"{rows} rows; at most {max_rows} per batch (max_batch_rows)")
    if decoded > max_bytes:
        raise RequestRefused(413, "too_large", f"the table decodes to {decoded} bytes; the limit is {max_bytes} bytes")


def table_rows(body: bytes, kind: str, *, max_rows: int, max_bytes: int) -> pd.DataFrame:
    """A `kind` body as a table of applications, refused when unreadable, empty or over `max_rows` rows;
    a Parquet or Arrow body also when it would decode to more than `max_bytes` (the body limit)."""
    if not body.strip():
        raise RequestRefused(400, "empty_body", f"the request body is empty; send a {kind} table")
    try:
        if kind in (PARQUET, ARROW):
            _check_footprint(body, kind, max_rows=max_rows, max_bytes=max_bytes)
        frame = frame_from_bytes(body, kind)
    except UnreadableTable as exc:
        raise RequestRefused(400, "unreadable_table", str(exc)) from exc
    if frame.empty:
        raise RequestRefused(400, "empty_body", "the table has no rows")
    if len(frame) > max_rows:
        raise RequestRefused(
            413, "batch_too_large", f"{len(frame)} rows; at most {max_rows} per batch (max_batch_rows)"
        )
    return frame


def table_answer(result: TableResult, kind: str) -> Response:
    """A scored table's answer as JSON (the JSON door's shape), or as a CSV or Parquet table of its rows."""
    if kind == JSON:  # built column by column (service.table_result): no dict per row
        return Response(result.to_json(), media_type=JSON)
    headers = {
        "X-Batch-Id": result.batch_id,
        "X-Batch-Rows": str(result.n_rows),
        "X-Batch-Scored": str(result.n_scored),
        "X-Batch-Rejected": str(result.n_rejected),
        "X-Model-Version": result.model_version,
    }
    return Response(table_to_bytes(result.to_table(), kind), media_type=kind, headers=headers)
