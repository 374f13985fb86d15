"""A big scored table logged as one Parquet file of its own (a table shard) instead of JSON lines.

Encoding 10,000 rows of 136 keys as JSON costs ~140 ms even column by column (monitoring.log.bulk),
more than the model call, and 35 MB; the same rows as Arrow columns cost ~12 ms and as a Parquet file
~20 ms more, in 2.1 MB. So the writer gives a table of at least `TABLE_SHARD_ROWS` rows a file of its
own, `date=D/predictions-<replica>-<start>-p<pid>-<seq>.table.parquet`, in the compacted files' schema
(`records.file_schema`): every reader of Parquet reads it as it reads a compacted day, compaction
merges it into that day like any shard, erasure rewrites it like a compacted file.

The file is written under a hidden temporary name and linked into place, so it appears whole or not
at all and is never written again: born sealed, it needs no lock for the Hub push.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monitoring.log.bulk import ScoredTable, client_ref_hashes
from monitoring.log.parquet import KIND_KEY
from monitoring.log.records import SCHEMA_VERSION, TS_TYPE, file_schema
from scoring.schema import FIELDS, RAW_COLUMNS

TABLE_SHARD_ROWS = 1_000  # below this a table's rows go to the open JSON Lines shard: no tiny files


def _constant(value: object, kind: pa.DataType, n: int) -> pa.Array:
    return pa.nulls(n, kind) if value is None else pa.repeat(pa.scalar(value, kind), n)


def _feature(name: str, values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """A raw column (NaN for missing, labels as their codes) as its stored type, missing as null."""
    missing = np.isnan(values)
    if FIELDS[name].kind == "category":
        codes = pa.array(np.where(missing, 0, values).astype(np.int32), mask=missing)
        return pa.DictionaryArray.from_arrays(codes, pa.array(FIELDS[name].categories)).cast(kind)
    if pa.types.is_integer(kind):
        return pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)
    return pa.array(values, mask=missing, type=kind)


def _warnings(n: int, table: ScoredTable) -> pa.Array:
    counts = np.zeros(n, dtype=np.int32)
    texts: list[str] = []
    for row in sorted(table.warnings):
        counts[row] = len(table.warnings[row])
        texts += [str(t) for t in table.warnings[row]]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(texts, pa.string()))


def prediction_table(table: ScoredTable, *, started: float, salt: str | None, now: datetime) -> pa.Table:
    """The table's prediction rows as Arrow columns: the values `prediction_lines` writes, typed as stored."""
    n = len(table)
    schema = file_schema("prediction")
    positions = pa.array(np.asarray(table.positions, dtype=np.int64))
    refs = client_ref_hashes(table.client_refs, salt)
    meta: dict[str, pa.Array] = {
        "ts": _constant(now.astimezone(UTC), TS_TYPE, n),  # the microseconds `format_ts` writes
        "schema_version": _constant(SCHEMA_VERSION, pa.int64(), n),
        "kind": _constant("prediction", pa.string(), n),
        "request_id": pc.binary_join_element_wise(f"{table.batch_id}-", positions.cast(pa.string()), ""),
        "channel": _constant(table.channel, pa.string(), n),
        "model_version": _constant(str(table.model_version), pa.string(), n),
        "client_ref": pa.nulls(n, pa.string()) if refs is None else pa.array(refs, pa.string()),
        "status": _constant("ok", pa.string(), n),
        "decision": pa.array(np.asarray(table.decisions).astype(str), pa.string()),
        "batch_id": _constant(str(table.batch_id), pa.string(), n),
        "probability": pa.array(np.asarray(table.probabilities, dtype=np.float64)),
        "threshold": _constant(float(table.threshold), pa.float64(), n),
        "inference_ms": _constant(round(float(table.inference_ms), 3), pa.float64(), n),
        "warnings": _warnings(n, table),
        "batch_index": positions,
    }
    columns = np.ascontiguousarray(np.asarray(table.raw, dtype=np.float64).T)
    for name, values in zip(RAW_COLUMNS, columns, strict=True):
        meta[name] = _feature(name, values, schema.field(name).type)
    meta["latency_ms"] = _constant(round((time.perf_counter() - started) * 1000.0, 3), pa.float64(), n)
    return pa.table([meta[f.name] for f in schema], schema=schema)


def write_table_shard(final: Path, arrow: pa.Table) -> None:
    """Write `arrow` to `final` so it appears whole or not at all; FileExistsError if `final` exists.

    This runs while a client waits, so it is written for speed (~20 ms for 10,000 rows, 2.1 MB against
    the 35 MB of JSON lines): snappy, dictionaries for the text columns only, statistics for `ts` only
    (what a windowed scan skips row groups by). Compaction rewrites the day in zstd-9 later.
    """
    stored = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), KIND_KEY: b"prediction"})
    texts = [f.name for f in stored.schema if pa.types.is_string(f.type)]
    tmp = final.with_name(f".{final.name}.partial")
    try:
        pq.write_table(stored, tmp, compression="snappy", use_dictionary=texts, write_statistics=["ts"])
        os.link(tmp, final)  # unlike a rename, never replaces a file that is already there
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
