"""The compacted format: one Parquet file (zstd) per day and kind, naming the shards it replaces.

A compacted file is `date=YYYY-MM-DD/<prefix>-YYYY-MM-DD.parquet`. Its schema metadata lists the
relative paths of the JSON Lines shards whose rows it holds, so a reader that finds a source still
on disk (a crash between the rename and the deletes) skips it instead of counting its rows twice.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from monitoring.log.records import KINDS, TS_TYPE, file_schema, is_parquet, shard_kind

SOURCES_KEY = b"monitoring.sources"
KIND_KEY = b"monitoring.kind"


def compacted_name(kind: str, day: date) -> str:
    """The one relative path of the compacted file of `kind` on `day`."""
    return f"date={day.isoformat()}/{KINDS[kind]}-{day.isoformat()}.parquet"


def storage_table(table: pa.Table, kind: str) -> pa.Table:
    """The typed table to store: int kinds as int64 when every value is whole, else kept as read."""
    try:
        return table.cast(file_schema(kind))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return table  # a fractional value in an int field stays float, as the reader shows it


def write_compacted(path: Path, table: pa.Table, *, kind: str, sources: Iterable[str]) -> None:
    """Write `table` with its covered sources in the metadata, fsynced (the caller renames it into place)."""
    meta = {SOURCES_KEY: orjson.dumps(sorted(set(sources))), KIND_KEY: kind.encode()}
    stored = storage_table(table, kind)
    stored = stored.replace_schema_metadata({**(stored.schema.metadata or {}), **meta})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(stored, path, compression="zstd", compression_level=9, use_dictionary=True)
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def covered_sources(path: Path) -> frozenset[str]:
    """The shards (relative paths) whose rows this compacted file holds."""
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(SOURCES_KEY)
    return frozenset(orjson.loads(raw)) if raw else frozenset()


def read_compacted(path: Path, schema: pa.Schema) -> pa.Table:
    """The file's rows under `schema` (the reader's tolerant one), metadata dropped."""
    table = pq.read_table(path, columns=schema.names)  # a narrower schema reads only its columns
    return table.replace_schema_metadata(None).cast(schema).select(schema.names)


def row_count(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def scan_compacted(
    paths: Sequence[Path], schema: pa.Schema, *, start: datetime | None = None, end: datetime | None = None
) -> pa.Table:
    """Only `schema`'s columns of the rows with start <= ts < end, from many compacted files at once.

    A pyarrow dataset reads just those column chunks and skips the row groups whose `ts` statistics
    fall outside the window; each file is cast to `schema` (the reader's tolerant types), in order.
    """
    if not paths:
        return schema.empty_table()
    dataset = ds.dataset([str(p) for p in paths], format="parquet", schema=schema)
    condition = None
    if start is not None:
        condition = ds.field("ts") >= pa.scalar(start, TS_TYPE)
    if end is not None:
        below = ds.field("ts") < pa.scalar(end, TS_TYPE)
        condition = below if condition is None else condition & below
    return dataset.to_table(columns=schema.names, filter=condition).replace_schema_metadata(None)


def uncovered(found: dict[str, Path], kind: str) -> tuple[dict[str, Path], dict[str, Path]]:
    """The data files of `kind` that hold rows no other file holds: (Parquet files, JSON Lines shards).

    A compacted file names the shards it replaces (table shards included); one still on disk (a crash
    between the compaction's rename and its deletes) is skipped, so no row is read twice.
    """
    files = {r: p for r, p in found.items() if shard_kind(p) == kind}
    parquet = {r: p for r, p in files.items() if is_parquet(p)}
    covered = frozenset().union(*(_covers(p) for p in parquet.values()))
    keep = {r: p for r, p in files.items() if r not in covered}
    return {r: p for r, p in keep.items() if r in parquet}, {r: p for r, p in keep.items() if r not in parquet}


def _covers(path: Path) -> frozenset[str]:
    info = path.stat()
    return _footer_sources(str(path), info.st_ino, info.st_size)


@functools.lru_cache(maxsize=4096)
def _footer_sources(path: str, inode: int, size: int) -> frozenset[str]:
    """`covered_sources`, read once per file version: Parquet files are replaced (new inode), never changed."""
    return covered_sources(Path(path))
