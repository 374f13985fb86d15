"""Prediction rows of a whole scored table as JSON Lines, built column by column.

`build_prediction_row` + orjson cost ~40 µs a row (a 136-key dict, then its encoding): 0.4 s for a
10,000-row body, four times the model call. Here each column is encoded once (orjson on a numpy
array, a lookup table for labels), constant values (the batch's timestamp, channel, model version,
threshold, an absent field) are folded into the text between two columns, and each line is one C-level
`%`-formatting of a template with that row's items: no Python dict, no Python call per cell.

The lines hold what `build_prediction_row(..., validated=True)` writes for the same rows, key for
key and value for value once parsed (tests/monitoring/test_log_bulk.py reads both back through
`read_log`). One difference by design: the rows of a table share one `ts` and one `latency_ms`
(the table's), where the per-row builder stamps each row a few microseconds apart.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import orjson

from monitoring.log.records import SCHEMA_VERSION, Channel, format_ts
from scoring.schema import FIELDS, RAW_COLUMNS

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_NULL = b"null"


@dataclass(frozen=True, slots=True)
class ScoredTable:
    """The scored rows of one table, as columns: what the log needs to write one line per row.

    `raw` is the scored raw matrix (scoring.features: RAW_COLUMNS order, labels as their codes, NaN
    for missing); `positions` each row's index in the batch (its `batch_index`, and the tail of its
    request id `<batch_id>-<position>`); `warnings` maps a row (0-based, in `raw`) to its texts.
    """

    raw: np.ndarray
    positions: np.ndarray
    client_refs: Sequence[str | None]
    probabilities: np.ndarray
    decisions: np.ndarray
    batch_id: str
    channel: Channel
    model_version: str
    threshold: float
    inference_ms: float
    warnings: Mapping[int, Sequence[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.positions)


def _split(encoded: bytes) -> list[bytes]:
    """The items of an orjson array of numbers or of texts without commas ('[1,2]' -> [b'1', b'2'])."""
    return encoded[1:-1].split(b",") if len(encoded) > 2 else []


def _numbers(values: np.ndarray, *, whole: bool) -> bytes | list[bytes]:
    """JSON of a float column (NaN -> null); `whole` writes ints, as the per-row builder does for int fields."""
    missing = np.isnan(values)
    if missing.all():
        return _NULL
    if not whole:
        return _split(orjson.dumps(values, option=_NUMPY))  # orjson writes NaN as null
    items = _split(orjson.dumps(np.where(missing, 0, values).astype(np.int64), option=_NUMPY))
    if missing.any():
        cells = np.array(items, dtype=object)
        cells[missing] = _NULL
        return cells.tolist()
    return items


def _labels(name: str, codes: np.ndarray) -> bytes | list[bytes]:
    missing = np.isnan(codes)
    if missing.all():
        return _NULL
    labels = FIELDS[name].categories
    table = np.array([orjson.dumps(label) for label in labels] + [_NULL], dtype=object)
    return table[np.where(missing, len(labels), codes).astype(np.intp)].tolist()


def _feature(name: str, values: np.ndarray) -> bytes | list[bytes]:
    kind = FIELDS[name].kind
    if kind == "category":
        return _labels(name, values)
    return _numbers(values, whole=kind in ("int", "flag"))


def client_ref_hashes(refs: Sequence[str | None], salt: str | None) -> list[str | None] | None:
    """`hash_client_id` of every reference (the keyed hash of its text); None when no row has one."""
    if not salt or all(ref is None for ref in refs):
        return None
    key = salt.encode()
    return [None if ref is None else hmac.digest(key, str(ref).encode(), "sha256").hex() for ref in refs]


def _client_refs(refs: Sequence[str | None], salt: str | None) -> bytes | list[bytes]:
    hashed = client_ref_hashes(refs, salt)
    return _NULL if hashed is None else _split(orjson.dumps(hashed))  # hex and null: no commas inside


def _warnings(n: int, warnings: Mapping[int, Sequence[str]]) -> bytes | list[bytes]:
    if not any(warnings.values()):
        return b"[]"
    cells = [b"[]"] * n
    for k, texts in warnings.items():
        cells[k] = orjson.dumps([str(t) for t in texts])
    return cells


def _key(name: str, *, first: bool = False) -> bytes:
    return (b"{" if first else b",") + orjson.dumps(name) + b":"


def prediction_lines(
    table: ScoredTable, *, started: float, salt: str | None = None, now: datetime | None = None
) -> bytes:
    """The table's prediction rows as JSON Lines (one line per row, in order), ready for one write."""
    n = len(table)
    if n == 0:
        return b""
    positions = _split(orjson.dumps(np.asarray(table.positions, dtype=np.int64), option=_NUMPY))
    decisions = np.where(np.asarray(table.decisions) == "refuse", b'"refuse"', b'"approve"').astype(object).tolist()
    meta: list[bytes | list[bytes]] = [
        _key("schema_version", first=True),
        orjson.dumps(SCHEMA_VERSION),
        _key("kind") + b'"prediction"',
        _key("request_id") + b'"' + orjson.dumps(str(table.batch_id))[1:-1] + b"-",
        positions,
        b'"' + _key("ts") + orjson.dumps(format_ts(now or datetime.now(UTC))),
        _key("channel") + orjson.dumps(table.channel),
        _key("model_version") + orjson.dumps(str(table.model_version)),
        _key("client_ref"),
        _client_refs(table.client_refs, salt),
        _key("status") + b'"ok"',
        _key("probability"),
        _split(orjson.dumps(np.asarray(table.probabilities, dtype=np.float64), option=_NUMPY)),
        _key("decision"),
        decisions,
        _key("threshold") + orjson.dumps(float(table.threshold)),
        _key("warnings"),
        _warnings(n, table.warnings),
        _key("inference_ms") + orjson.dumps(round(float(table.inference_ms), 3)),
        _key("batch_id") + orjson.dumps(str(table.batch_id)),
        _key("batch_index"),
        positions,
    ]
    columns = np.ascontiguousarray(np.asarray(table.raw, dtype=np.float64).T)  # orjson reads contiguous arrays
    for name, values in zip(RAW_COLUMNS, columns, strict=True):
        meta += [_key(name), _feature(name, values)]
    latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
    meta.append(_key("latency_ms") + orjson.dumps(latency_ms) + b"}\n")
    return _assemble(n, meta)


def _assemble(n: int, parts: Sequence[bytes | list[bytes]]) -> bytes:
    """Join `parts` row by row: a bytes part is the same in every line, a list holds one item per line.

    The constant parts become one `%`-template and each line is one C-level formatting of it with
    that row's items: ~3x less work than joining a grid of every piece.
    """
    template: list[bytes] = []
    columns: list[list[bytes]] = []
    for part in parts:
        if isinstance(part, bytes):
            template.append(part.replace(b"%", b"%%"))
            continue
        if len(part) != n:
            raise ValueError(f"a column has {len(part)} items for {n} rows")
        template.append(b"%b")
        columns.append(part)
    line = b"".join(template)
    if not columns:
        return line * n
    return b"".join([line % items for items in zip(*columns, strict=True)])
