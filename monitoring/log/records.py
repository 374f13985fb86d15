"""The logged rows: the prediction, rejection and outcome schema family, its vocabulary and its builders.

One row format (`SCHEMA_VERSION`), one list of channels and decisions, the shard layout on disk and
the Arrow schema a shard parses with. Error kinds come from `scoring.errors` (the one vocabulary).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
import pyarrow as pa

from scoring.schema import FIELDS, ID_COLUMN, RAW_COLUMNS

SCHEMA_VERSION = 1
Channel = Literal["rest", "rest_batch", "gradio_form", "gradio_api", "gradio_batch", "mcp"]
CHANNELS: tuple[str, ...] = get_args(Channel)
Decision = Literal["approve", "refuse"]
# row kind -> file prefix. Outcomes (what happened to a scored loan, `monitoring.outcomes`) are shards
# of their own beside the predictions: same folders, same writer, same Hub sync, compaction, retention
# and erasure. Shadow rows are the challenger's score of a logged prediction (service/shadow.py),
# keyed by its request_id and stamped with its ts: `read_log` joins them onto the predictions.
KINDS = {"prediction": "predictions", "rejection": "rejections", "outcome": "outcomes", "shadow": "shadow"}
OutcomeStatus = Literal["recorded", "conflict"]  # "conflict": kept as the audit trail, never analysed
SHARD_GLOB = "date=*/*.jsonl"  # the shards the writer appends to (and the sync pushes)
TABLE_SUFFIX = ".table.parquet"  # a big scored table's rows in a file of their own (monitoring.log.table_shard)
TABLE_GLOB = f"date=*/*{TABLE_SUFFIX}"  # written whole, once: pushed like a sealed shard
# Parquet: the table shards and one compacted file per day and kind (monitoring.log.compaction)
COMPACT_GLOB = "date=*/*.parquet"
DATA_GLOBS = (SHARD_GLOB, COMPACT_GLOB)
PUSH_GLOBS = (SHARD_GLOB, TABLE_GLOB)  # what a push uploads; compacted files go up with the maintenance

# ---------------------------------------------------------------------------------------------- rows


def format_ts(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and a `Z`, the only timestamp form the log contains."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hash_client_id(value: object, *, salt: str | None) -> str | None:
    """Pseudonymise a client id (GDPR): HMAC-SHA256 keyed by a secret salt, or None without one.

    Without a salt a plain hash of a small integer id could be reversed by enumeration, so we
    refuse to write anything rather than write something reversible.
    """
    if not salt or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


_FIELD_KINDS = tuple((name, FIELDS[name].kind) for name in RAW_COLUMNS)
_ALL_MISSING = dict.fromkeys(RAW_COLUMNS)


def typed_features(features: Mapping[str, Any]) -> dict[str, Any]:
    """The 120 inputs under their Home Credit names, cast to their schema kind, None when absent.

    Runs on every request, hence one flat loop and cheap missing checks (pd.isna would cost a
    microsecond per field).
    """
    out: dict[str, Any] = {}
    get = features.get
    for name, kind in _FIELD_KINDS:
        value = get(name)
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            out[name] = None
        elif kind == "category":
            out[name] = str(value)
        else:
            number = float(value)
            if number != number:
                out[name] = None
            elif kind == "float" or not number.is_integer():
                out[name] = number  # a fractional int stays visible rather than truncated
            else:
                out[name] = int(number)
    return out


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def build_prediction_row(
    features: Mapping[str, Any],
    *,
    request_id: str,
    channel: Channel,
    model_version: str,
    probability: float,
    decision: Decision,
    threshold: float,
    inference_ms: float,
    started: float,
    warnings: Iterable[str] = (),
    client_id: object = None,
    salt: str | None = None,
    batch_id: str | None = None,
    batch_index: int | None = None,
    now: datetime | None = None,
    validated: bool = False,
) -> dict[str, Any]:
    """One prediction row. Build it right before `append`: `latency_ms` is measured here.

    `started` is the `time.perf_counter()` taken when the request came in. The raw client id never
    reaches the row, even when it sits among the features: only its keyed hash does.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if client_id is None:
        client_id = features.get(ID_COLUMN)
    row: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "prediction",
        "request_id": str(request_id),
        "ts": format_ts(now or datetime.now(UTC)),
        "channel": channel,
        "model_version": str(model_version),
        "client_ref": hash_client_id(client_id, salt=salt),
        "status": "ok",
        "probability": float(probability),
        "decision": decision,
        "threshold": float(threshold),
        "warnings": [str(w) for w in warnings],
        "inference_ms": round(float(inference_ms), 3),
        "batch_id": batch_id,
        "batch_index": None if batch_index is None else int(batch_index),
    }
    if validated:  # already typed by scoring.validation: only the absent fields need their None
        row.update(_ALL_MISSING)
        row.update(features)
    else:
        row.update(typed_features(features))
    row["latency_ms"] = _elapsed_ms(started)
    return row


def build_rejection_row(
    *,
    request_id: str,
    channel: Channel,
    error_kind: str,
    started: float,
    field_name: str | None = None,
    http_status: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One rejection event. It names what was wrong, never what was sent."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "rejection",
        "request_id": str(request_id),
        "ts": format_ts(now or datetime.now(UTC)),
        "channel": channel,
        "status": "rejected",
        "error_kind": str(error_kind),
        "field": None if field_name is None else str(field_name),
        "http_status": None if http_status is None else int(http_status),
        "latency_ms": _elapsed_ms(started),
    }


def build_outcome_row(
    *,
    request_id: str,
    client_ref: str | None,
    defaulted: bool,
    observed_at: str | None,
    status: OutcomeStatus,
    channel: Channel,
    prediction_ts: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One outcome event: did the loan of `request_id` default. Carries the prediction's client hash
    (never the raw id) so an erasure of the client finds its outcomes too."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "outcome",
        "request_id": str(request_id),
        "ts": format_ts(now or datetime.now(UTC)),
        "channel": channel,
        "client_ref": client_ref,
        "status": status,
        "defaulted": bool(defaulted),
        "observed_at": observed_at,
        "prediction_ts": prediction_ts,
    }


def build_shadow_row(
    *,
    request_id: str,
    ts: str,
    channel: Channel,
    challenger_version: str,
    challenger_probability: float,
    challenger_decision: Decision,
    challenger_ms: float,
) -> dict[str, Any]:
    """The challenger's score of the prediction `request_id`, under that prediction's `ts` (so it falls
    in the same day partition and analysis window). No inputs: they are in the prediction row."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "shadow",
        "request_id": str(request_id),
        "ts": ts,
        "channel": channel,
        "challenger_version": str(challenger_version),
        "challenger_probability": float(challenger_probability),
        "challenger_decision": challenger_decision,
        "challenger_ms": round(float(challenger_ms), 3),
    }


# ------------------------------------------------------------------------------------------- layout


def relpath(path: Path, root: Path) -> str:
    """A shard's name relative to its log root: the same in the live folder, the history and the Hub."""
    return path.relative_to(root).as_posix()


def partition_day(path: Path) -> date | None:
    """The UTC day of a shard's partition folder (`date=YYYY-MM-DD`), or None for a stray file."""
    try:
        return date.fromisoformat(path.parent.name.removeprefix("date="))
    except ValueError:
        return None


def shard_kind(path: Path) -> str | None:
    """The row kind a data file holds, from its name (`predictions-...` -> "prediction")."""
    return next((kind for kind, prefix in KINDS.items() if path.name.startswith(prefix + "-")), None)


def is_parquet(path: Path) -> bool:
    """A Parquet data file: a compacted day, or a table shard (read alike, by column)."""
    return path.suffix == ".parquet"


def shard_paths(roots: Sequence[Path], *, globs: Sequence[str] = DATA_GLOBS) -> dict[str, Path]:
    """Every data file under the roots by relative path; one found twice is taken from its longest copy.

    Both formats by default: the JSON Lines shards and the compacted Parquet files.
    """
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in (p for pattern in globs for p in root.glob(pattern)):
            rel = relpath(path, root)
            if rel not in found or path.stat().st_size > found[rel].stat().st_size:
                found[rel] = path
    return dict(sorted(found.items()))


# ------------------------------------------------------------------------------------- arrow schema

TS_TYPE = pa.timestamp("us", tz="UTC")
_META_STRINGS = ("kind", "request_id", "channel", "model_version", "client_ref", "status", "decision", "batch_id")


def file_schema(kind: str, *, tolerant: bool = False) -> pa.Schema:
    """The typed schema of a shard of `kind` ("prediction", "rejection", "outcome" or "shadow"), as Arrow.

    The dataset card declares it (so `datasets` never infers a column that happens to be all null
    in the first file as type null), and the reader parses with it. `tolerant` reads int kinds as
    float64, so a line that wrote 1.0 for 1 still parses; the reader casts them back afterwards.
    """
    if kind == "rejection":
        strings = ("kind", "request_id", "channel", "status", "error_kind", "field")
        return pa.schema(
            [
                pa.field("ts", TS_TYPE),
                pa.field("schema_version", pa.int64()),
                *[pa.field(n, pa.string()) for n in strings],
                pa.field("http_status", pa.int64()),
                pa.field("latency_ms", pa.float64()),
            ]
        )
    if kind == "outcome":
        strings = ("kind", "request_id", "channel", "client_ref", "status", "observed_at")
        return pa.schema(
            [
                pa.field("ts", TS_TYPE),
                pa.field("schema_version", pa.int64()),
                *[pa.field(n, pa.string()) for n in strings],
                pa.field("defaulted", pa.bool_()),
                pa.field("prediction_ts", TS_TYPE),
            ]
        )
    if kind == "shadow":
        strings = ("kind", "request_id", "channel", "challenger_version", "challenger_decision")
        return pa.schema(
            [
                pa.field("ts", TS_TYPE),
                pa.field("schema_version", pa.int64()),
                *[pa.field(n, pa.string()) for n in strings],
                pa.field("challenger_probability", pa.float64()),
                pa.field("challenger_ms", pa.float64()),
            ]
        )
    integer = pa.float64() if tolerant else pa.int64()
    fields = [pa.field("ts", TS_TYPE), pa.field("schema_version", pa.int64())]
    fields += [pa.field(name, pa.string()) for name in _META_STRINGS]
    fields += [pa.field(name, pa.float64()) for name in ("probability", "threshold", "inference_ms", "latency_ms")]
    fields += [pa.field("warnings", pa.list_(pa.string())), pa.field("batch_index", pa.int64())]
    kinds = {"category": pa.string(), "float": pa.float64(), "int": integer, "flag": integer}
    fields += [pa.field(n, kinds[FIELDS[n].kind]) for n in RAW_COLUMNS]
    return pa.schema(fields)
