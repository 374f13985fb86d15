"""Strict reading of a JSON body: content type, size limit while streaming, duplicate keys, NaN/Infinity.

FastAPI's own body parsing is bypassed on purpose: it would accept duplicate keys (last one wins) and turn
`NaN` into a float silently; here both are refused or kept as markers so validation names the field.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from scoring.validation import NonFinite
from service.api.problems import RequestRefused

JSON_TYPES = ("application/json", "application/problem+json")


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _printable(key: object) -> str:
    return str(key)[:100].encode("utf-8", "replace").decode("utf-8")


def decode_json(body: bytes, *, max_depth: int | None = None) -> Any:
    """Strict JSON: duplicate keys refused; NaN/Infinity kept as markers so validation names the field.

    `max_depth` refuses containers nested deeper (the Gradio doors, whose own processing recurses);
    REST leaves it unset: a deep value there is one field of the wrong type, refused by validation.
    """
    if not body.strip():
        raise RequestRefused(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        value = json.loads(body, object_pairs_hook=_object_without_duplicates, parse_constant=NonFinite)
    except _DuplicateKey as exc:
        field = _printable(exc)
        raise RequestRefused(400, "duplicate_key", "the key appears twice in one object", field=field) from exc
    except RecursionError as exc:
        raise RequestRefused(400, "invalid_json", "the JSON is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRefused(400, "invalid_json", f"the body is not valid JSON ({str(exc)[:120]})") from exc
    if max_depth is not None and _too_deep(value, max_depth):
        raise RequestRefused(400, "invalid_json", f"the JSON is nested deeper than {max_depth} levels")
    return value


def _too_deep(value: Any, max_depth: int) -> bool:
    """Whether containers nest past `max_depth` (iterative: a deep document must not recurse here either)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower case; JSON when none is given."""
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int, *, types: tuple[str, ...] = JSON_TYPES) -> bytes:
    """The raw body, refused (415/413) on a content type not in `types` or past `limit` bytes, declared or streamed."""
    content_type = media_type(request)
    if content_type not in types:
        raise RequestRefused(415, "wrong_content_type", f"send {types[0]}, not {content_type[:60]!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRefused(413, "too_large", f"the body is {int(declared)} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRefused(413, "too_large", f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    return decode_json(await read_body(request, limit))


def batch_rows(body: Any, max_rows: int) -> list[Any]:
    """The rows of a `{"applications": [...]}` envelope; anything else refused naming `applications`."""
    if not isinstance(body, dict) or "applications" not in body:
        raise RequestRefused(422, "wrong_type", 'expected {"applications": [...]}', field="applications")
    extra = [k for k in body if k != "applications"]
    if extra:
        raise RequestRefused(422, "unknown_field", "unknown field in the batch envelope", field=_printable(extra[0]))
    rows = body["applications"]
    if not isinstance(rows, list):
        raise RequestRefused(422, "wrong_type", "expected a list of application objects", field="applications")
    if not rows:
        raise RequestRefused(422, "wrong_type", "the batch is empty", field="applications")
    if len(rows) > max_rows:
        raise RequestRefused(
            413, "batch_too_large", f"{len(rows)} rows; at most {max_rows} per batch", field="applications"
        )
    return rows
